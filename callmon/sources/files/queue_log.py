"""Asterisk's ``queue_log``: one :class:`QueueLogRow` per line, rejects for the rest.

The file format is ``time|callid|queuename|agent|event|data1|...|data5`` (``time`` in epoch
seconds, ``callid`` the uniqueid of the caller's channel, ``NONE`` for events about no call). A CSV
with a header row (an export of the realtime ``queue_log`` table: ``time, callid, queuename,
agent, event, data1..data5`` or a single ``data`` column) is read too; its ``time`` may be a local
time, read in the configured zone.

What the data fields mean per event (checked against apps/app_queue.c): RINGNOANSWER and
RINGCANCELED ``ring ms``; CONNECT ``holdtime s | member uniqueid | ringtime s``; COMPLETEAGENT /
COMPLETECALLER ``holdtime | calltime | origpos``; ABANDON and EXITWITHTIMEOUT ``pos | origpos |
waittime``; BLINDTRANSFER ``exten | context | holdtime | calltime | origpos``.

>>> from callmon.core.config import Config
>>> rows = list(read_queue_log("sample_cdr/d_queue_rna_then_answer/queue_log", Config()))
>>> [(r.event, r.agent, r.data1) for r in rows][1:3]
[('RINGNOANSWER', 'Kim Agent', '8000'), ('CONNECT', 'Lee Agent', '13')]
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple

import pyarrow as pa

from callmon.core.config import Config
from callmon.sources.files.convert import epoch_column
from callmon.sources.files.rows import batches, digest, flatten, make_rows, rebuild
from callmon.sources.files.source import Batch, CsvBlocks, RawBlock, Reject, TextSource, text_blocks

HEADS = ("time", "callid", "queuename", "agent", "event")
DATA = ("data1", "data2", "data3", "data4", "data5")
HEADER_ALIASES = {"queue": "queuename", "queue_name": "queuename", "verb": "event"}
_EVENT_NAME = re.compile(r"^[A-Z][A-Z_0-9]*$")


class QueueLogRow(NamedTuple):
    """One queue_log event; ``time`` in epoch seconds (whole seconds in the file format)."""

    time: float
    callid: str
    queuename: str
    agent: str
    event: str
    data1: str = ""
    data2: str = ""
    data3: str = ""
    data4: str = ""
    data5: str = ""
    file: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        """Natural dedupe key: a hash of every field but file and line (the same line twice is
        one event)."""
        return "ql:" + digest(self[:-2])

    def columns(self) -> dict:
        """The row as a dict of plain values, for the journal."""
        return self._asdict()

    @classmethod
    def from_columns(cls, columns: Mapping[str, object]) -> "QueueLogRow":
        """The row again from :meth:`columns` as stored."""
        return rebuild(cls, columns, _NUMBERS)


FIELDS = QueueLogRow._fields
_NUMBERS = {"time": (float, False), "line": (int, False)}


def header_names(line: str) -> tuple[str, ...] | None:
    """Canonical names if ``line`` is a CSV header of a queue_log export, else None."""
    try:
        fields = next(csv.reader((line,)), [])
    except csv.Error:
        return None
    names = tuple(HEADER_ALIASES.get(f.strip().lower(), f.strip().lower()) for f in fields)
    return names if {"time", "callid", "event"} <= set(names) else None


def _split(text: str) -> list[str]:
    parts = text.split("|")
    if len(parts) > 10:
        parts = parts[:9] + ["|".join(parts[9:])]
    return parts


def _convert_lines(block, zone: str, file: str) -> tuple[list[QueueLogRow], list[Reject]]:
    """Pipe-separated lines -> rows: split in Python, times converted a column at once."""
    keep_lines, parts = [], []
    rejects = list(block.rejects)
    for n, text in block.lines:
        p = _split(text)
        if len(p) < 5:
            rejects.append(Reject(file, n, f"expected at least 5 fields (time|callid|queuename|agent|event), found {len(p)}", text[:200]))
            continue
        keep_lines.append(n)
        parts.append(p + [""] * (10 - len(p)))
    cols = {name: pa.array([p[j] for p in parts], pa.string()) for j, name in enumerate(HEADS + DATA)}
    raw = RawBlock(cols, keep_lines, sorted(rejects, key=lambda r: r.line), block.encoding, block.nbytes)
    return _convert(raw, zone, file)


def _convert(block: RawBlock, zone: str, file: str) -> tuple[list[QueueLogRow], list[Reject]]:
    cols = block.columns
    if "data" in cols and "data1" not in cols:
        split = [(d.split("|") + [""] * 5)[:5] for d in cols["data"].to_pylist()]
        cols = {**cols, **{name: pa.array([s[j] for s in split], pa.string()) for j, name in enumerate(DATA)}}
    values: dict[str, list | None] = {f: cols[f].to_pylist() for f in FIELDS[1:-2] if f in cols}
    values["time"], bad = epoch_column(cols["time"], zone)
    reasons = {i: f"bad time: {cols['time'][i].as_py()!r}" for i in bad}
    for i, t in enumerate(values["time"]):
        if t is None:
            reasons.setdefault(i, "missing time")
    for i, event in enumerate(values.get("event") or []):
        # NONE is what Asterisk writes into an empty field, never an event: the fields are shifted
        if not _EVENT_NAME.match(event) or event == "NONE":
            reasons.setdefault(i, f"not a queue_log event: {event!r}")
    return make_rows(QueueLogRow._make, FIELDS, values, block, file, reasons)


def read_queue_log_batches(
    path: str | Path, config: Config, *, zone: str | None = None, block_bytes: int | None = None
) -> Iterator[Batch[QueueLogRow]]:
    """Read a queue_log in batches of rows and rejects (the file is opened at once)."""
    src = TextSource.open(path) if block_bytes is None else TextSource.open(path, block_bytes=block_bytes)
    zone = zone or config.timezone
    first = src.first_lines(1)
    names = header_names(first[0]) if first else None
    if names is not None:
        return batches(src, CsvBlocks(src, names, skip=1), lambda b: _convert(b, zone, src.name))
    return batches(src, text_blocks(src), lambda b: _convert_lines(b, zone, src.name))


def read_queue_log(path: str | Path, config: Config, *, zone: str | None = None) -> Iterator[QueueLogRow | Reject]:
    """Every :class:`QueueLogRow` and :class:`~callmon.sources.files.source.Reject`, in line order."""
    return flatten(read_queue_log_batches(path, config, zone=zone))
