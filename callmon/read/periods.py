"""Report periods: a day, an ISO week, a month, a quarter, a half-year or a year, in the PBX's zone.

>>> from zoneinfo import ZoneInfo
>>> tz = ZoneInfo("Asia/Seoul")
>>> [period_kind(x) for x in ("2026-12-06", "2026-W49", "2026-12", "2026-Q4", "2026-H2", "2026")]
['day', 'week', 'month', 'quarter', 'half-year', 'year']
>>> p = Period.of("2026-W49", tz)
>>> p.label, p.previous().label, Period.containing("half-year", p.start, tz).label
('2026-W49', '2026-W48', '2026-H2')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from callmon.metrics.warnings import period_bounds, period_of

KINDS = ("day", "week", "month", "quarter", "half-year", "year")
_KINDS = ((re.compile(r"^\d{4}-\d{2}-\d{2}$"), "day"), (re.compile(r"^\d{4}-W\d{2}$"), "week"),
          (re.compile(r"^\d{4}-H[12]$"), "half-year"), (re.compile(r"^\d{4}-Q[1-4]$"), "quarter"),
          (re.compile(r"^\d{4}-\d{2}$"), "month"), (re.compile(r"^\d{4}$"), "year"))


def period_kind(label: str) -> str:
    """``2026-12-06`` day, ``2026-W49`` week, ``2026-05`` month, ``2026-Q3`` quarter,
    ``2026-H1`` half-year, ``2026`` year."""
    text = label.strip().upper()
    for pattern, kind in _KINDS:
        if pattern.match(text):
            return kind
    raise ValueError(f"not a period (2026, 2026-H1, 2026-Q3, 2026-05, 2026-W49, 2026-12-06): {label!r}")


def _bounds(label: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    kind = period_kind(label)
    text = label.strip().upper()
    if kind == "day":
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"no such day: {label!r}") from exc
        start = datetime(day.year, day.month, day.day, tzinfo=tz)
        nxt = day + timedelta(days=1)
        return start, datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    if kind == "week":
        year, week = int(text[:4]), int(text[6:])
        try:
            monday = date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise ValueError(f"no week {week} in {year}: {label!r}") from exc
        nxt = monday + timedelta(days=7)
        return (datetime(monday.year, monday.month, monday.day, tzinfo=tz),
                datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz))
    return period_bounds(text, tz)


def label_of(kind: str, at: float, tz: ZoneInfo) -> str:
    """The label of the ``kind`` period holding ``at`` (epoch)."""
    local = datetime.fromtimestamp(at, tz)
    if kind == "day":
        return local.date().isoformat()
    if kind == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if kind not in KINDS:
        raise ValueError(f"period kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return period_of(at, kind, tz)


@dataclass(frozen=True)
class Period:
    """A period label and its [start, end) in epoch seconds (the PBX's zone)."""

    label: str
    start: float
    end: float
    timezone: str = "Asia/Seoul"

    @classmethod
    def of(cls, label: str, tz: ZoneInfo) -> Period:
        start, end = _bounds(label, tz)
        return cls(label.strip().upper(), start.timestamp(), end.timestamp(), str(tz))

    @classmethod
    def containing(cls, kind: str, at: float, tz: ZoneInfo) -> Period:
        """The ``kind`` period holding the moment ``at``."""
        return cls.of(label_of(kind, at, tz), tz)

    @property
    def kind(self) -> str:
        return period_kind(self.label)

    def previous(self) -> Period:
        """The period of the same kind just before this one (for trends)."""
        return Period.containing(self.kind, self.start - 1.0, ZoneInfo(self.timezone))

    def back(self, n: int) -> list[Period]:
        """This period and the ``n - 1`` before it, oldest first."""
        out = [self]
        while len(out) < n:
            out.append(out[-1].previous())
        return out[::-1]
