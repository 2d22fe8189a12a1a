"""``--kind auto``: tell an AMI capture, a Master.csv, a CEL file and a queue_log apart.

Only the first lines are read. The signs, in order: an AMI banner or ``Event:``/``Response:``
headers; queue_log's ``epoch|callid|queue|agent|EVENT``; a CSV whose first field is a CEL event
name; a CSV with cdr_csv's column count and a date where ``start`` belongs; or a header row naming
the columns of one of them.

>>> detect_kind("sample_cdr/d_queue_rna_then_answer/Master.csv")
'cdr'
>>> detect_kind("sample_cdr/d_queue_rna_then_answer/cel.csv")
'cel'
>>> detect_kind("sample_cdr/d_queue_rna_then_answer/queue_log")
'queue_log'
>>> detect_kind("sample_cdr/d_queue_rna_then_answer/ami.raw")
'ami'
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from callmon.core.errors import InputError
from callmon.sources.files import cdr, cel, queue_log
from callmon.sources.files.source import TextSource

KINDS = ("ami", "cdr", "cel", "queue_log")
_AMI_HEADER = re.compile(r"^(Event|Response|Action|ActionID|Privilege): ")
_QUEUE_LOG = re.compile(r"^\d{9,11}(\.\d+)?\|[^|]*\|[^|]*\|[^|]*\|[A-Z][A-Z_0-9]*(\||$)")


def _fields(line: str) -> list[str]:
    try:
        return next(csv.reader((line,)), [])
    except csv.Error:
        return []


def _kind_of(line: str) -> str | None:
    if line.startswith("Asterisk Call Manager/") or _AMI_HEADER.match(line):
        return "ami"
    if _QUEUE_LOG.match(line):
        return "queue_log"
    fields = _fields(line)
    if not fields:
        return None
    if fields[0] in cel.KNOWN_EVENTS and len(fields) >= len(cel.CEL_CUSTOM):
        return "cel"
    names = cdr.layout_for(len(fields), [fields])
    if names is not None and cdr.START_TIME.match(fields[names.index("start")]):
        return "cdr"
    return None


def _header_kind(line: str) -> str | None:
    fields = _fields(line)
    if cel.header_names(fields):
        return "cel"
    if cdr.header_names(fields):
        return "cdr"
    if queue_log.header_names(line):
        return "queue_log"
    return None


def detect_kind(path: str | Path) -> str:
    """``'ami'``, ``'cdr'``, ``'cel'`` or ``'queue_log'``; InputError if the file cannot be read
    or looks like none of them."""
    src = TextSource.open(path)
    if src.head.startswith(b"Asterisk Call Manager/"):
        return "ami"
    lines = [line for line in src.first_lines(50) if line.strip()]
    if not lines:
        raise InputError("empty file: cannot tell what kind it is", file=src.name)
    header = _header_kind(lines[0])
    if header:
        return header
    votes = [k for k in map(_kind_of, lines[:20]) if k]
    if not votes:
        raise InputError("cannot tell what kind of file this is (not an AMI capture, Master.csv, CEL or "
                         "queue_log by its first lines); name it with --kind", file=src.name)
    return max(set(votes), key=votes.count)
