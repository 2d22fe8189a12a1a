"""The read side: queries for calls, callbacks, aggregates and reports. Opening it migrates and writes nothing."""
