"""The charter's measures: ring cadence, rules, the working-day calendar, aggregates.

Everything here is pure: no database, no sockets, no clock reads (``now`` is passed in).
"""
