"""cdr_csv ``Master.csv``: one :class:`CdrRow` per record, rejects for the rest.

Asterisk 12+ writes one record per dial attempt (party A = ``channel``, party B = ``dstchannel``);
the records of one call share ``linkedid`` when ``newcdrcolumns = yes``. cdr_csv writes no header
and its columns depend on cdr.conf: 16 base columns, then ``uniqueid`` (``loguniqueid``) and
``userfield`` (``loguserfield``), then ``peeraccount, linkedid, sequence`` (``newcdrcolumns``). The
layout is recognised from the column count (and, for 17 or 20 columns, from whether the extra
column looks like a uniqueid). A file with a header row (an export of the ``cdr`` table) is read
by its column names; ``calldate`` stands for ``start``, and a missing ``answer``/``end`` is
worked out from ``duration`` and ``billsec``.

Times are local wall-clock seconds in ``config.timezone`` (or the ``zone`` argument) and come out
as epoch seconds. Because a uniqueid starts with the epoch second its channel was created, the
zone the file was really written in can be checked: :func:`observed_utc_offset` does it, and the
reader logs a warning when the configured zone disagrees (the shared sample captures, for one,
were written in UTC although the PBX process had ``TZ=Asia/Seoul``).

>>> from callmon.core.config import Config
>>> rows = [r for r in read_cdr("sample_cdr/a_direct_fast_caller_hangs_up/Master.csv", Config(timezone="UTC"))]
>>> rows[0].dstchannel, rows[0].start, rows[0].answer, rows[0].key
('PJSIP/2001-00000001', 1795376562.0, 1795376564.0, 'cdr:1795376562.0:0')
"""

from __future__ import annotations

import csv
import logging
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo
from typing import Iterator, Mapping, NamedTuple

from callmon.core.config import Config
from callmon.core.errors import InputError
from callmon.sources.files.convert import epoch_column, int_column
from callmon.sources.files.rows import batches, column_batches, digest, flatten, make_columns, make_rows, rebuild
from callmon.sources.files.source import Batch, CsvBlocks, RawBlock, Reject, TextSource

BASE = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
        "start", "answer", "end", "duration", "billsec", "disposition", "amaflags")
NEW = ("peeraccount", "linkedid", "sequence")
DISPOSITIONS = ("ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION", "CANCEL")
HEADER_ALIASES = {"calldate": "start", "source": "src", "destination": "dst", "callerid": "clid",
                  "caller_id": "clid", "destination_channel": "dstchannel", "unique_id": "uniqueid"}
_UNIQUEID = re.compile(r"(^|-)\d{9,}\.\d+$")
START_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")  # how a cdr_csv time begins

log = logging.getLogger(__name__)


def natural_key(uniqueid: str | None, sequence: int | None) -> str | None:
    """A CDR's natural dedupe key, ``cdr:<uniqueid>:<sequence>`` (Asterisk numbers every CDR it
    writes); None without both (:attr:`CdrRow.key` then hashes the record)."""
    return f"cdr:{uniqueid}:{sequence}" if uniqueid and sequence is not None else None


class CdrRow(NamedTuple):
    """One cdr_csv record: a dial attempt (or the caller alone) of a call.

    Times are epoch seconds (whole seconds, as cdr_csv writes them); ``answer`` is None when the
    attempt was not answered. Columns the file does not have are ``''`` (``sequence``: None).
    """

    accountcode: str
    src: str
    dst: str
    dcontext: str
    clid: str
    channel: str
    dstchannel: str
    lastapp: str
    lastdata: str
    start: float
    answer: float | None
    end: float
    duration: int
    billsec: int
    disposition: str
    amaflags: str
    uniqueid: str
    userfield: str
    peeraccount: str
    linkedid: str
    sequence: int | None
    file: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        """Natural dedupe key: ``cdr:<uniqueid>:<sequence>`` (Asterisk numbers every CDR it
        writes), else a hash of the record's fields (file and line left out)."""
        return natural_key(self.uniqueid, self.sequence) or "cdr:h:" + digest(self[:-2])

    def columns(self) -> dict:
        """The row as a dict of plain values, for the journal."""
        return self._asdict()

    @classmethod
    def from_columns(cls, columns: Mapping[str, object]) -> "CdrRow":
        """The row again from :meth:`columns` as stored (numbers may come back as text)."""
        return rebuild(cls, columns, _NUMBERS)


FIELDS = CdrRow._fields
_NUMBERS = {"start": (float, False), "answer": (float, True), "end": (float, False), "duration": (int, False),
            "billsec": (int, False), "sequence": (int, True), "line": (int, False)}


def layout_for(count: int, sample: list[list[str]]) -> tuple[str, ...] | None:
    """Column names of a headerless cdr_csv file with ``count`` columns (None: not cdr_csv)."""
    extra_is_uniqueid = any(len(r) > 16 and _UNIQUEID.search(r[16]) for r in sample)
    one = ("uniqueid",) if extra_is_uniqueid else ("userfield",)
    return {16: BASE, 17: BASE + one, 18: BASE + ("uniqueid", "userfield"), 19: BASE + NEW,
            20: BASE + one + NEW, 21: BASE + ("uniqueid", "userfield") + NEW}.get(count)


def header_names(fields: list[str]) -> tuple[str, ...] | None:
    """Canonical column names if ``fields`` is a header row of a CDR export, else None."""
    names = tuple(HEADER_ALIASES.get(f.strip().lower(), f.strip().lower()) for f in fields)
    known = set(names) & set(FIELDS)
    if {"src", "dst", "channel", "disposition"} <= known and ("start" in known):
        return names
    return None


def _sample(src: TextSource) -> list[list[str]]:
    sample = []
    for line in src.first_lines(200):
        try:
            sample.append(next(csv.reader((line,))))
        except (csv.Error, StopIteration):
            continue
    return sample


def sniff(src: TextSource) -> tuple[tuple[str, ...], int]:
    """``(column names, header lines to skip)`` of a CDR file, from its first lines."""
    sample = _sample(src)
    if not sample:
        return FIELDS[:-2], 0
    names = header_names(sample[0])
    if names is not None:
        return names, 1
    counts = [len(r) for r in sample if layout_for(len(r), sample) and START_TIME.match(r[9])]
    if not counts:
        raise InputError("not a cdr_csv file: no line has 16 to 21 columns with a start time in the 10th",
                         file=src.name)
    count = max(set(counts), key=counts.count)
    return layout_for(count, [r for r in sample if len(r) == count]), 0


def observed_utc_offset(path: str | Path) -> float | None:
    """The UTC offset (hours, to the quarter) the file's times were written in, judged from the
    first rows' ``start`` against the epoch in their uniqueid; None if the file has no uniqueids.

    >>> observed_utc_offset("sample_cdr/a_direct_fast_caller_hangs_up/Master.csv")
    0.0
    """
    found = _observed(TextSource.open(path))
    return found[0] if found else None


def _observed(src: TextSource) -> tuple[float, float] | None:
    """``(offset hours, an epoch of the sample)`` or None."""
    names, skip = sniff(src)
    if "uniqueid" not in names:
        return None
    i_start, i_uid = names.index("start"), names.index("uniqueid")
    gaps = []
    for r in _sample(src)[skip:]:
        if len(r) != len(names) or not _UNIQUEID.search(r[i_uid]):
            continue
        try:
            wall = datetime.fromisoformat(r[i_start]).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            continue
        uid_epoch = float(r[i_uid].rsplit("-", 1)[-1])
        gaps.append((wall - uid_epoch, uid_epoch))
    if not gaps:
        return None
    # a record starts when (or after) its party A channel was created: the smallest gap is the offset
    gap, when = min(gaps)
    return round(gap / 900) / 4, when


def zone_warning(src: TextSource, zone: str) -> str | None:
    """Why reading the file's times in ``zone`` looks wrong (its uniqueids say another UTC
    offset), or None when they agree or cannot tell."""
    found = _observed(src)
    if found is None:
        return None
    seen, when = found
    offset = datetime.fromtimestamp(when, ZoneInfo(zone)).utcoffset()
    configured = offset.total_seconds() / 3600 if offset is not None else 0.0
    if abs(configured - seen) <= 0.01:
        return None
    return (f"{src.name}: times look written at UTC{seen:+g}, but are read in {zone} (UTC{configured:+g}); set [pbx] "
            "cdr_timezone to the zone the PBX wrote them in (cdr.conf usegmtime = yes means UTC)")


def _convert(block: RawBlock, zone: str, file: str) -> tuple[list[CdrRow], list[Reject]]:
    values, reasons = _values(block, zone)
    return make_rows(CdrRow._make, FIELDS, values, block, file, reasons)


def _convert_columns(block: RawBlock, zone: str, file: str) -> tuple[dict[str, list], list[Reject], list[str]]:
    values, reasons = _values(block, zone)
    return make_columns(FIELDS, values, block, file, reasons)


def _values(block: RawBlock, zone: str) -> tuple[dict[str, list | None], dict[int, str]]:
    """The converted columns of a block (per field of :class:`CdrRow`) and why rows are rejected."""
    cols = block.columns
    reasons: dict[int, str] = {}
    values: dict[str, list | None] = {}
    for name in ("start", "answer", "end"):
        if name in cols:
            values[name], bad = epoch_column(cols[name], zone)
            for i in bad:
                reasons.setdefault(i, f"bad date in {name}: {cols[name][i].as_py()!r}")
    for name, optional in (("duration", False), ("billsec", False), ("sequence", True)):
        if name in cols:
            values[name], bad = int_column(cols[name], optional=optional)
            for i in bad:
                reasons.setdefault(i, f"not a whole number in {name}: {cols[name][i].as_py()!r}")
    for name in FIELDS[:-2]:
        if name not in values and name in cols:
            values[name] = cols[name].to_pylist()
    _complete(values, len(block.lines), reasons)
    return values, reasons


def _complete(values: dict[str, list | None], n: int, reasons: dict[int, str]) -> None:
    """Fill what a database export may lack (end, answer, sequence) and reject rows without a start."""
    start = values.get("start") or [None] * n
    duration = values.get("duration") or [0] * n
    billsec = values.get("billsec") or [0] * n
    if values.get("end") is None:
        values["end"] = [None if s is None else s + (d or 0) for s, d in zip(start, duration)]
    if values.get("answer") is None:
        values["answer"] = [None if e is None or not b else e - b for e, b in zip(values["end"], billsec)]
    for name in ("duration", "billsec"):
        if values.get(name) is None:
            values[name] = [0] * n
    if values.get("sequence") is None:
        values["sequence"] = [None] * n
    for name in ("start", "end"):
        if None in values[name]:
            for i, v in enumerate(values[name]):
                if v is None:
                    reasons.setdefault(i, f"missing {name} time")


def read_cdr_batches(
    path: str | Path, config: Config, *, zone: str | None = None, block_bytes: int | None = None,
    check_zone: bool = True, as_columns: bool = False,
) -> Iterator[Batch[CdrRow]]:
    """Read a Master.csv (or a CSV export of the cdr table) in batches of rows and rejects.

    The file is opened and its layout recognised at once (InputError if it cannot be read or is
    not CDR); the rows are read lazily, a block of a few MB at a time. Times are read in ``zone``
    (default: ``config.timezone``); a warning is logged when the uniqueids say the file was
    written in another zone (``check_zone=False``: the caller checks with :func:`zone_warning`).
    ``as_columns``: each batch holds its rows as columns (:attr:`Batch.columns`), no row objects.
    """
    src = TextSource.open(path) if block_bytes is None else TextSource.open(path, block_bytes=block_bytes)
    names, skip = sniff(src)
    zone = zone or config.timezone
    warning = zone_warning(src, zone) if check_zone else None
    if warning:
        log.warning("%s", warning)
    if as_columns:
        return column_batches(src, CsvBlocks(src, names, skip=skip), lambda b: _convert_columns(b, zone, src.name))
    return batches(src, CsvBlocks(src, names, skip=skip), lambda b: _convert(b, zone, src.name))


def read_cdr(path: str | Path, config: Config, *, zone: str | None = None) -> Iterator[CdrRow | Reject]:
    """Every :class:`CdrRow` and :class:`~callmon.sources.files.source.Reject` of a file, in line order."""
    return flatten(read_cdr_batches(path, config, zone=zone))
