"""Asterisk's own files: Master.csv (cdr_csv), CEL and queue_log.

Readers stream a file in blocks and yield normalised rows (or :class:`Reject` for lines that
cannot be used, with file, line and reason); :func:`detect_kind` tells the kinds apart for
``--kind auto``. Turning rows into calls is :mod:`callmon.calls`' work.
"""

from callmon.sources.files.cdr import CdrRow, observed_utc_offset, read_cdr, read_cdr_batches
from callmon.sources.files.cel import CelRow, read_cel, read_cel_batches
from callmon.sources.files.detect import detect_kind
from callmon.sources.files.queue_log import QueueLogRow, read_queue_log, read_queue_log_batches
from callmon.sources.files.source import Batch, Reject

__all__ = [
    "Batch", "CdrRow", "CelRow", "QueueLogRow", "Reject", "detect_kind", "observed_utc_offset", "read_cdr",
    "read_cdr_batches", "read_cel", "read_cel_batches", "read_queue_log", "read_queue_log_batches",
]
