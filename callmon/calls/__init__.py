"""Calls: what happened on the PBX, from AMI events or from file rows. Pure: no I/O.

The tracker (:mod:`callmon.calls.tracker`) follows AMI events live and groups them per call;
:func:`calls_from_files` merges the file rows of one period, from any subset of Master.csv, CEL and
queue_log, into one :class:`~callmon.core.model.Call` per call, by the same definitions.

>>> from callmon.core.config import Config
>>> from callmon.sources.files import read_cdr, read_cel
>>> cfg = Config(timezone="UTC")  # the sample Master.csv was written in UTC
>>> calls = calls_from_files(read_cdr("sample_cdr/b_direct_late_agent_hangs_up/Master.csv", cfg),
...                        read_cel("sample_cdr/b_direct_late_agent_hangs_up/cel.csv", cfg), config=cfg)
>>> [(c.outcome, c.answered_by, c.hangup_by, round(c.ring_seconds, 1)) for c in calls]
[('answered', '2001', 'agent', 7.5)]
"""

from callmon.calls.file_calls import FileCalls, calls_from_files

__all__ = ["FileCalls", "calls_from_files"]
