"""The lowest layer: domain records, errors, configuration and facts about Asterisk. Imports nothing else of callmon."""
