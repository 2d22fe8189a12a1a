"""Column conversions shared by the importers: local times to epoch seconds, whole numbers.

Asterisk writes Master.csv and database CEL/queue_log times as local wall-clock time without a
zone (cdr.conf ``usegmtime = no``); the PBX's zone comes from the configuration. Columns are
converted whole with pyarrow; only the values pyarrow cannot read go through Python, so a bad
value costs a little and a good file costs nothing extra.

An ambiguous local time (the repeated hour when summer time ends) is read as the earlier of the
two instants, as Python's ``fold=0`` does; a time that does not exist (the skipped hour) as if the
clock had not been moved yet.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

ASTERISK_TIME = "%Y-%m-%d %H:%M:%S"
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def parse_time(text: str, zone: str) -> float | None:
    """One time as epoch seconds: ``1795376562.150295``, ``2026-11-22 19:42:42[.150295]`` in
    ``zone``, or ISO-8601 with an offset; None if it is none of these.

    >>> parse_time("2026-11-22 19:42:42", "Asia/Seoul"), parse_time("2026-11-22 10:42:42+00:00", "UTC")
    (1795344162.0, 1795344162.0)
    """
    text = text.strip()
    if _NUMBER.match(text):
        return float(text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_zone(zone))
    return dt.timestamp()


def epoch_column(col: pa.Array, zone: str) -> tuple[list[float | None], list[int]]:
    """Times of a string column as epoch seconds: ``''`` gives None; unreadable values are
    None too and their positions come back in the second list."""
    if len(col) == 0:
        return [], []
    if _NUMBER.match(col[0].as_py()):  # epoch seconds (CEL, queue_log); a failed cast is costly
        try:
            return pc.cast(col, pa.float64()).to_pylist(), []
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    ts = pc.strptime(col, format=ASTERISK_TIME, unit="s", error_is_null=True)
    ts = pc.assume_timezone(ts, timezone=zone, ambiguous="earliest", nonexistent="earliest")
    values = pc.cast(pc.cast(ts, pa.int64()), pa.float64()).to_pylist()
    missed = pc.and_(pc.is_null(ts), pc.not_equal(col, ""))
    bad = []
    for i in pc.indices_nonzero(missed).to_pylist():
        v = parse_time(col[i].as_py(), zone)
        if v is None:
            bad.append(i)
        else:
            values[i] = v
    return values, bad


def int_column(col: pa.Array, *, optional: bool = False) -> tuple[list[int | None], list[int]]:
    """Whole numbers of a string column; ``''`` is None when ``optional``; bad positions listed."""
    try:
        return pc.cast(col, pa.int64()).to_pylist(), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    ok = pc.match_substring_regex(col, r"^\s*-?\d+\s*$")
    values = pc.cast(pc.utf8_trim_whitespace(pc.if_else(ok, col, "0")), pa.int64()).to_pylist()
    bad = []
    for i in pc.indices_nonzero(pc.invert(ok)).to_pylist():
        values[i] = None
        if not (optional and col[i].as_py().strip() == ""):
            bad.append(i)
    return values, bad
