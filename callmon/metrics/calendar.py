"""The working-day calendar and callback due times.

A callback is due one working day after the miss (DESIGN.md, "Callback promise"). Korean law on
civil-petition deadlines counts a short deadline in working hours from receipt, one day being
8 working hours, without Saturdays, Sundays and public holidays; office hours are 09:00-12:00 and
13:00-18:00. The holidays come from the ``holidays`` library (substitute, election and temporary
holidays included) plus a local override list; the zone is Asia/Seoul.

Two rules count time differently:

- ``working_hours`` (default, 8): only office hours of working days count.
- ``clock_hours`` (24): every hour of a working day counts (00:00-24:00); weekends and holidays
  still do not, since the charter promises "one working day (24 hours)".

Either way, a miss outside the counted time (lunch, before 09:00, a weekend, a holiday) starts
counting at the next counted moment.

>>> cal = WorkingCalendar()
>>> due_at(datetime(2026, 11, 19, 20, 0), calendar=cal).isoformat()
'2026-11-20T18:00:00+09:00'
>>> due_at(datetime(2026, 11, 19, 20, 0), rule="clock_hours", calendar=cal).isoformat()
'2026-11-20T20:00:00+09:00'
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import numpy as np

from callmon.core.errors import ConfigError

log = logging.getLogger(__name__)

SEOUL = "Asia/Seoul"
DEFAULT_OFFICE_HOURS: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13), time(18)))
RULES = ("working_hours", "clock_hours")
DEFAULT_HOURS = {"working_hours": 8.0, "clock_hours": 24.0}
_DAY = 86400
# a calendar with no working day in ten years is a configuration mistake, not a long wait
_MAX_DAYS = 3660


def _as_date(value: date | str, key: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"not a date (YYYY-MM-DD): {value!r}", key=key) from exc


def _seconds_of_day(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _fmt(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


class WorkingCalendar:
    """Working days and office hours of one institution, from plain values.

    ``office_hours`` are (start, end) times of day in order, e.g. 09:00-12:00 and 13:00-18:00;
    ``extra_holidays`` are local closing days, ``extra_working_days`` days worked although the
    library lists them as holidays (or a worked Saturday); both are dates or ISO strings.
    ``language`` is that of the holiday names (the library's ``ko`` or ``en_US``).

    >>> cal = WorkingCalendar(extra_holidays=["2026-12-31"])
    >>> cal.is_working_day(date(2026, 9, 25)), cal.is_working_day(date(2026, 12, 31))
    (False, False)
    """

    def __init__(
        self,
        office_hours: Iterable[tuple[time, time]] = DEFAULT_OFFICE_HOURS,
        extra_holidays: Iterable[date | str] = (),
        extra_working_days: Iterable[date | str] = (),
        tz: str | ZoneInfo = SEOUL,
        country: str = "KR",
        language: str = "ko",
    ) -> None:
        try:
            self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"unknown time zone {tz!r}") from exc
        self.office_hours = tuple((a, b) for a, b in office_hours)
        self._windows = tuple((_seconds_of_day(a), _seconds_of_day(b)) for a, b in self.office_hours)
        previous_end = 0
        for start, end in self._windows:
            if start >= end or start < previous_end:
                raise ConfigError(
                    "office hours must be increasing, non-overlapping (start, end) pairs", key="callback.office_hours"
                )
            previous_end = end
        if not self._windows:
            raise ConfigError("office hours are empty", key="callback.office_hours")
        self.extra_holidays = frozenset(_as_date(d, "callback.extra_holidays") for d in extra_holidays)
        self.extra_working_days = frozenset(_as_date(d, "callback.extra_working_days") for d in extra_working_days)
        self._day_windows: dict[tuple[date, bool], tuple[tuple[datetime, datetime], ...]] = {}
        self.country = country
        try:
            self._holidays = holidays.country_holidays(country, language=language)
        except NotImplementedError as exc:
            raise ConfigError(f"no holiday calendar for country {country!r}") from exc

    def __repr__(self) -> str:
        return f"WorkingCalendar({self.describe()!r}, tz={self.tz.key!r})"

    def describe(self, *, whole_day: bool = False) -> str:
        """What counts, for a report: ``09:00-12:00, 13:00-18:00, KR holidays``."""
        parts = [] if whole_day else [f"{_fmt(a)}-{_fmt(b)}" for a, b in self._windows]
        parts.append(f"{self.country} holidays")
        if self.extra_holidays:
            parts.append(f"{len(self.extra_holidays)} local holiday(s)")
        if self.extra_working_days:
            parts.append(f"{len(self.extra_working_days)} extra working day(s)")
        return ", ".join(parts)

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name if ``day`` is a holiday here (weekends are not named), else None."""
        if day in self.extra_working_days:
            return None
        if day in self.extra_holidays:
            return "local holiday"
        return self._holidays.get(day)

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday and no holiday, or listed as an extra working day."""
        if day in self.extra_working_days:
            return True
        return day.weekday() < 5 and self.holiday_name(day) is None

    def local(self, moment: datetime | float) -> datetime:
        """``moment`` in the calendar's zone; a naive datetime is taken as local, a float as epoch."""
        if isinstance(moment, datetime):
            return moment.replace(tzinfo=self.tz) if moment.tzinfo is None else moment.astimezone(self.tz)
        return datetime.fromtimestamp(float(moment), self.tz)

    def windows(self, day: date, *, whole_day: bool = False) -> tuple[tuple[datetime, datetime], ...]:
        """The counted intervals of ``day``: office hours (or the whole day), none on a day off
        (a tuple: the same one for every caller)."""
        key = (day, whole_day)
        found = self._day_windows.get(key)
        if found is None:  # the due time of every obligation walks the same few days: made once each
            if not self.is_working_day(day):
                found = ()
            else:
                spans = ((0, _DAY),) if whole_day else self._windows
                midnight = datetime.combine(day, time(0), tzinfo=self.tz)
                found = tuple((midnight + timedelta(seconds=a), midnight + timedelta(seconds=b)) for a, b in spans)
            if len(self._day_windows) > 50_000:
                self._day_windows.clear()
            self._day_windows[key] = found
        return found

    def add_working_time(self, start: datetime | float, seconds: float, *, whole_day: bool = False) -> datetime:
        """The moment at which ``seconds`` of counted time have elapsed since ``start``.

        Counting starts at the first counted moment at or after ``start``; a due time that falls
        exactly on the end of a window is that end (18:00), not the next morning.
        """
        t = self.local(start)
        remaining = max(0.0, float(seconds))
        day = t.date()
        for _ in range(_MAX_DAYS):
            for ws, we in self.windows(day, whole_day=whole_day):
                if we <= t:
                    continue
                s = max(ws, t)
                available = (we - s).total_seconds()
                if remaining <= available:
                    return s + timedelta(seconds=remaining)
                remaining -= available
            day += timedelta(days=1)
        raise ConfigError(f"no working time within {_MAX_DAYS} days of {t.isoformat()}; check the calendar")

    def add_working_time_many(self, starts, seconds: float, *, whole_day: bool = False) -> np.ndarray:
        """:meth:`add_working_time` of many epoch ``starts`` at once, as epoch seconds (exactly
        what ``add_working_time(start, seconds).timestamp()`` gives, times are counted in epoch
        microseconds as the scalar method's datetimes do).

        The counted windows from the first start's day until ``seconds`` past the last start are
        laid end to end; each start's place among them and its due place are then found by binary
        search. An import opens obligations by the hundred thousand; one at a time costs ~15 us.

        >>> cal = WorkingCalendar()
        >>> t = [datetime(2026, 11, 19, 20, tzinfo=cal.tz).timestamp(), datetime(2026, 11, 20, 12, 30, tzinfo=cal.tz).timestamp()]
        >>> [datetime.fromtimestamp(v, cal.tz).isoformat() for v in cal.add_working_time_many(t, 8 * 3600)]
        ['2026-11-20T18:00:00+09:00', '2026-11-23T12:00:00+09:00']
        """
        starts = np.asarray(starts, dtype=float)
        if not len(starts):
            return np.empty(0)
        whole, frac = np.divmod(starts, 1.0)  # fromtimestamp rounds the fraction to the microsecond
        t = whole.astype(np.int64) * 1_000_000 + np.rint(frac * 1e6).astype(np.int64)
        need = int(round(max(0.0, float(seconds)) * 1e6))
        day, last = self.local(float(starts.min())).date(), self.local(float(starts.max())).date()
        begins: list[int] = []
        ends: list[int] = []
        after_last = 0
        for _ in range((last - day).days + _MAX_DAYS + 1):
            for ws, we in self.windows(day, whole_day=whole_day):
                begins.append(round(ws.timestamp()) * 1_000_000)
                ends.append(round(we.timestamp()) * 1_000_000)
                if day > last:
                    after_last += ends[-1] - begins[-1]
            if day > last and after_last > need:
                break
            day += timedelta(days=1)
        else:
            raise ConfigError(f"no working time within {_MAX_DAYS} days of {last.isoformat()}; check the calendar")
        ws_, we_ = np.array(begins, np.int64), np.array(ends, np.int64)
        counted_end = np.cumsum(we_ - ws_)
        counted_start = counted_end - (we_ - ws_)
        i = np.searchsorted(we_, t, side="right")  # the first window that ends after the start
        target = counted_start[i] + np.clip(t - ws_[i], 0, None) + need
        k = np.maximum(np.searchsorted(counted_end, target, side="left"), i)
        return (ws_[k] + (target - counted_start[k])) / 1e6

    def next_working_moment(self, moment: datetime | float, *, whole_day: bool = False) -> datetime:
        """The first counted moment at or after ``moment`` (a miss at lunch counts from 13:00)."""
        return self.add_working_time(moment, 0.0, whole_day=whole_day)

    def working_seconds_between(self, a: datetime | float, b: datetime | float, *, whole_day: bool = False) -> float:
        """Counted seconds from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        a, b = self.local(a), self.local(b)
        if b < a:
            return -self.working_seconds_between(b, a, whole_day=whole_day)
        total, day = 0.0, a.date()
        while day <= b.date():
            for ws, we in self.windows(day, whole_day=whole_day):
                overlap = (min(we, b) - max(ws, a)).total_seconds()
                if overlap > 0:
                    total += overlap
            day += timedelta(days=1)
        return total


def due_at(
    missed_at: datetime | float,
    rule: str = "working_hours",
    hours: float | None = None,
    calendar: WorkingCalendar | None = None,
) -> datetime:
    """When a callback for a call missed at ``missed_at`` is due, in the calendar's zone.

    ``rule`` is ``working_hours`` (``hours`` default 8) or ``clock_hours`` (default 24); see the
    module docstring. ``calendar`` defaults to the Korean calendar with 09:00-18:00 office hours.

    >>> due_at(datetime(2026, 11, 18, 15, 0)).isoformat()
    '2026-11-19T15:00:00+09:00'
    """
    if rule not in RULES:
        raise ConfigError(f"callback rule must be one of {', '.join(RULES)}, got {rule!r}", key="callback.rule")
    calendar = calendar or WorkingCalendar()
    hours = DEFAULT_HOURS[rule] if hours is None else float(hours)
    return calendar.add_working_time(missed_at, hours * 3600, whole_day=rule == "clock_hours")


def describe_rule(rule: str, hours: float, calendar: WorkingCalendar) -> str:
    """How a report names the callback rule: ``within 8 working hours (09:00-12:00, ...)``."""
    kind = "clock hours of working days" if rule == "clock_hours" else "working hours"
    return f"within {hours:g} {kind} ({calendar.describe(whole_day=rule == 'clock_hours')})"
