"""Warnings and the CS-training list (pure).

Every failed rule for an employee is a warning; the ``threshold``-th warning (3 by default) within
one period (a half-year by default: H1 = January-June, H2 = July-December, Asia/Seoul) puts the
employee on the CS-training list. Warnings are ``(employee, rule, call_id, at)`` tuples; the same
rule failing twice in one call for one employee is one warning.

>>> ws = [("Kim", "agent_hangs_up_last", f"c{i}", 1767225600.0 + i) for i in range(3)]
>>> [(e.employee, e.period, e.warnings) for e in training_list(ws)]
[('Kim', '2026-H1', 3)]
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from callmon.metrics.callbacks import Callback
from callmon.metrics.rules import RuleSet, hangup_extension
from callmon.core.model import Call

log = logging.getLogger(__name__)

PERIODS = ("half-year", "quarter", "month", "year")
SEOUL = ZoneInfo("Asia/Seoul")


class RuleWarning(NamedTuple):
    """One failed rule counted against one employee (name from the directory, else extension)."""

    employee: str
    rule: str
    call_id: str
    at: float
    reason: str = ""


@dataclass(frozen=True)
class TrainingEntry:
    """An employee who reached the threshold in a period: when, and with which calls."""

    employee: str
    period: str
    warnings: int
    reached_at: float
    call_ids: tuple[str, ...]


def period_of(at: float, period: str = "half-year", tz: ZoneInfo = SEOUL) -> str:
    """The label of the period holding ``at`` (epoch): ``2026-H1``, ``2026-Q3``, ``2026-05``, ``2026``."""
    local = datetime.fromtimestamp(at, tz)
    if period == "half-year":
        return f"{local.year}-H{1 if local.month <= 6 else 2}"
    if period == "quarter":
        return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    if period == "month":
        return f"{local.year}-{local.month:02d}"
    if period == "year":
        return str(local.year)
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")


_LABEL = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]|\d{2}))?$")


def period_bounds(label: str, tz: ZoneInfo = SEOUL) -> tuple[datetime, datetime]:
    """The [start, end) of a period label, e.g. ``2026-H1`` -> 2026-01-01 to 2026-07-01 (local)."""
    m = _LABEL.match(label.strip().upper())
    if not m:
        raise ValueError(f"not a period (2026, 2026-H1, 2026-Q3, 2026-05): {label!r}")
    year, part = int(m.group(1)), m.group(2)
    if part is None:
        first, months = 1, 12
    elif part[0] == "H":
        first, months = (1, 6) if part == "H1" else (7, 6)
    elif part[0] == "Q":
        first, months = 3 * int(part[1]) - 2, 3
    else:
        first, months = int(part), 1
        if not 1 <= first <= 12:
            raise ValueError(f"no month {first} in {label!r}")
    end_month = first + months
    start = datetime(year, first, 1, tzinfo=tz)
    end = datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=tz)
    return start, end


def _unique(warnings: Iterable[tuple]) -> list[RuleWarning]:
    seen, out = set(), []
    for w in sorted((RuleWarning(*w) for w in warnings), key=lambda w: (w.at, w.call_id)):
        if (w.employee, w.rule, w.call_id) not in seen:
            seen.add((w.employee, w.rule, w.call_id))
            out.append(w)
    return out


def warnings_by_period(
    warnings: Iterable[tuple], period: str = "half-year", tz: ZoneInfo = SEOUL
) -> dict[tuple[str, str], list[RuleWarning]]:
    """The warnings of each (employee, period), in time order, duplicates counted once."""
    grouped: dict[tuple[str, str], list[RuleWarning]] = {}
    for w in _unique(warnings):
        grouped.setdefault((w.employee, period_of(w.at, period, tz)), []).append(w)
    return grouped


def training_list(
    warnings: Iterable[tuple], threshold: int = 3, period: str = "half-year", tz: ZoneInfo = SEOUL
) -> list[TrainingEntry]:
    """Employees with at least ``threshold`` warnings in a period, in the order they got there."""
    entries = [
        TrainingEntry(employee, label, len(ws), ws[threshold - 1].at, tuple(w.call_id for w in ws))
        for (employee, label), ws in warnings_by_period(warnings, period, tz).items()
        if len(ws) >= threshold
    ]
    return sorted(entries, key=lambda e: (e.reached_at, e.employee))


def _employee(extension: str | None, directory: Mapping[str, Any] | None) -> str | None:
    employee = (directory or {}).get(extension) if extension else None
    return getattr(employee, "name", None) or extension


def warnings_for_call(call: Call, ruleset: RuleSet, directory: Mapping[str, Any] | None = None) -> list[RuleWarning]:
    """The warnings one call gives: the agents' view of the ring rule (each phone that rang past
    the limit or answered late) and an agent-first hang-up (to the extension that hung up)."""
    at = next((t for t in (call.arrived_at, call.first_ring_at, call.answered_at, call.ended_at) if t is not None), None)
    if at is None:
        log.warning("call %s: no time on the call, no warnings", call.call_id)
        return []
    found = [
        (ext, result) for ext, result in ruleset.agent_ring_results(call) if result.result == "fail"
    ]
    hangup = ruleset.hangup(call)
    if hangup.result == "fail":
        found.append((hangup_extension(call), hangup))
    return [
        RuleWarning(_employee(ext, directory), result.rule, call.call_id, at, result.reason)
        for ext, result in found
        if ext
    ]


def warnings_for_callback(
    callback: Callback, now: float, ruleset: RuleSet, directory: Mapping[str, Any] | None = None
) -> list[RuleWarning]:
    """A failed callback counts against the agent who took the memo; a plain missed call has no
    single owner, so it gives no warning (it counts in the team's and institution's rates)."""
    result = ruleset.callback(callback, now)
    if result.result != "fail" or not callback.agent:
        return []
    return [RuleWarning(_employee(callback.agent, directory), result.rule, callback.key, callback.due_at, result.reason)]
