"""Offline import of Asterisk's own files: Master.csv (cdr_csv), CEL and queue_log.

Readers stream a file in blocks and yield normalised rows (or :class:`Reject` for lines that
cannot be used, with file, line and reason); :func:`assemble_calls` merges the rows of one period,
from any subset of the three sources, into one :class:`~callmon.model.Call` per call, by the same
definitions as the AMI tracker. :func:`detect_kind` tells the kinds apart for ``--kind auto``.

>>> from callmon.config import Config
>>> cfg = Config(timezone="UTC")  # the sample Master.csv was written in UTC
>>> calls = assemble_calls(read_cdr("sample_cdr/b_direct_late_agent_hangs_up/Master.csv", cfg),
...                        read_cel("sample_cdr/b_direct_late_agent_hangs_up/cel.csv", cfg), config=cfg)
>>> [(c.outcome, c.answered_by, c.hangup_by, round(c.ring_seconds, 1)) for c in calls]
[('answered', '2001', 'agent', 7.5)]
"""

from callmon.importers.assemble import CallAssembler, assemble_calls
from callmon.importers.cdr import CdrRow, observed_utc_offset, read_cdr, read_cdr_batches
from callmon.importers.cel import CelRow, read_cel, read_cel_batches
from callmon.importers.detect import detect_kind
from callmon.importers.queue_log import QueueLogRow, read_queue_log, read_queue_log_batches
from callmon.importers.source import Batch, Reject

__all__ = [
    "Batch", "CallAssembler", "CdrRow", "CelRow", "QueueLogRow", "Reject", "assemble_calls", "detect_kind",
    "observed_utc_offset", "read_cdr", "read_cdr_batches", "read_cel", "read_cel_batches", "read_queue_log",
    "read_queue_log_batches",
]
