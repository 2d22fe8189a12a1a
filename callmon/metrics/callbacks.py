"""Callback obligations, derived from the calls, the memos and the cancellations (pure).

DESIGN.md, "Callback promise": an inbound call from an outside number that nobody answered, or a
memo an agent records, opens an obligation for that number; more misses from the same number
before the callback join it; it is due per the calendar after the FIRST miss and is met by an
ANSWERED outbound call to the number (an unanswered attempt is only recorded). Statuses:

- ``open``: not met, not yet due; ``overdue``: not met and ``now`` is past due;
- ``met``: called back in time; ``late``: called back after due;
- ``resolved_by_customer``: the customer called again and was answered before any callback;
- ``cancelled``: a person cancelled it, with a reason.

Nothing here reads a clock: the obligations are those in force at ``now`` (events after ``now``
are ignored), so ``callmon callbacks --at ISO`` replays the past.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from callmon.core.errors import ConfigError
from callmon.metrics.calendar import DEFAULT_HOURS, RULES, WorkingCalendar, describe_rule
from callmon.metrics.calendar import due_at as calendar_due_at
from callmon.metrics.numbers import is_outside, normalize
from callmon.core.model import Call

log = logging.getLogger(__name__)

MISSED_OUTCOMES = ("abandoned", "no_answer", "busy", "failed", "voicemail")
STATUSES = ("open", "overdue", "met", "late", "resolved_by_customer", "cancelled")
CLOSED = ("met", "late", "resolved_by_customer", "cancelled")


@dataclass(frozen=True)
class CallbackPolicy:
    """When a callback is due: the rule (``working_hours``/``clock_hours``), hours and calendar.

    >>> CallbackPolicy().describe()
    'within 8 working hours (09:00-12:00, 13:00-18:00, KR holidays)'
    """

    rule: str = "working_hours"
    hours: float | None = None
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ConfigError(f"callback rule must be one of {', '.join(RULES)}, got {self.rule!r}", key="callback.rule")
        if self.hours is None:
            object.__setattr__(self, "hours", DEFAULT_HOURS[self.rule])

    def due_at(self, missed_at: float) -> float:
        """Epoch seconds at which an obligation opened at ``missed_at`` (epoch) is due."""
        return calendar_due_at(missed_at, self.rule, self.hours, self.calendar).timestamp()

    def due_at_many(self, missed_at) -> np.ndarray:
        """:meth:`due_at` of many epoch moments at once (the same values)."""
        return self.calendar.add_working_time_many(missed_at, self.hours * 3600, whole_day=self.rule == "clock_hours")

    def describe(self) -> str:
        return describe_rule(self.rule, self.hours, self.calendar)


@dataclass(frozen=True)
class Memo:
    """A note an agent took for an absent colleague: who called, why, from which number."""

    number: str
    at: float
    name: str | None = None
    purpose: str | None = None
    agent: str | None = None


@dataclass(frozen=True)
class Cancellation:
    """A person's decision that an obligation is void. ``key`` is a :attr:`Callback.key` or a
    number (then the obligation open for that number at ``at``)."""

    key: str
    reason: str
    at: float


@dataclass(frozen=True)
class Callback:
    """One callback obligation. Times are epoch seconds.

    ``key`` is the natural key (number and the first missed call id, or ``memo@`` and the memo
    time) that stays the same when the obligations are derived again; ``callback_id`` is the
    number storage gives it (None until stored).
    """

    key: str
    number: str
    first_missed_at: float
    due_at: float
    status: str
    missed_call_ids: tuple[str, ...] = ()
    attempt_call_ids: tuple[str, ...] = ()
    fulfilled_at: float | None = None
    fulfilled_by_call_id: str | None = None
    fulfilled_by_agent: str | None = None
    name: str | None = None
    purpose: str | None = None
    agent: str | None = None
    cancel_reason: str | None = None
    cancelled_at: float | None = None
    callback_id: int | None = None


def _epoch(moment: float | datetime) -> float:
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)


def is_miss(call: Call) -> bool:
    """Is ``call`` a miss (inbound from an outside number, unanswered), which opens or joins an
    obligation? (:func:`miss_of` of its fields.)"""
    return miss_of(call.direction, call.outcome, call.caller)


def miss_of(direction: str, outcome: str, caller: str) -> bool:
    """The one definition of a miss, on a call's fields (the columnar import applies it per
    record; storage's SQL narrows candidates by direction and ``MISSED_OUTCOMES`` before it).

    >>> miss_of("inbound", "abandoned", "01012345678"), miss_of("inbound", "answered", "01012345678")
    (True, False)
    """
    return direction == "inbound" and outcome in MISSED_OUTCOMES and is_outside(caller)


def _got_through(call: Call) -> bool:
    return call.answered_at is not None or call.outcome == "answered"


def _events(calls: Iterable[Call], memos: Iterable[Memo], cancellations: Iterable[Cancellation]):
    """(time, order, kind, number as dialled, item), sorted; at one instant a miss opens first."""
    events = []
    for call in calls:
        if is_miss(call):
            at = call.arrived_at if call.arrived_at is not None else call.ended_at
            if at is None:
                log.warning("call %s: missed call without a time, no callback obligation", call.call_id)
                continue
            events.append((at, 0, "miss", call.caller, call))
        elif call.direction == "outbound" and is_outside(call.called):
            at = call.answered_at if call.answered_at is not None else (call.ended_at or call.arrived_at)
            if at is not None:
                events.append((at, 2, "callback", call.called, call))
        elif call.direction == "inbound" and _got_through(call) and is_outside(call.caller):
            # a queue call known from Master.csv alone was answered at a moment the file does not
            # give (its answer time is the PBX's Answer()): the customer got through on arrival
            at = call.answered_at if call.answered_at is not None else (call.arrived_at or call.ended_at)
            if at is not None:
                events.append((at, 2, "answered_in", call.caller, call))
    events += [(m.at, 1, "memo", m.number, m) for m in memos]
    events += [(c.at, 3, "cancel", c.key, c) for c in cancellations]
    # calls at one instant (Master.csv has whole seconds) in call_id order: the same derivation
    # whatever order the database hands the calls back in
    events.sort(key=lambda e: (e[0], e[1], getattr(e[4], "call_id", "")))
    return events


def derive_callbacks(
    calls: Iterable[Call],
    now: float | datetime,
    policy: CallbackPolicy | None = None,
    *,
    memos: Iterable[Memo] = (),
    cancellations: Iterable[Cancellation] = (),
    region: str = "KR",
    agent_of: Callable[[str], str | None] | Mapping[str, object] | None = None,
) -> list[Callback]:
    """The callback obligations in force at ``now``, in the order they were opened.

    ``calls`` are domain calls (any order), ``memos`` and ``cancellations`` the people's inputs.
    ``agent_of`` names the agent of a staff extension for ``fulfilled_by_agent`` (a function, or
    a directory ``extension -> employee`` whose ``.name`` is used); without it the extension is.
    """
    policy = policy or CallbackPolicy()
    now = _epoch(now)
    name_of = _agent_namer(agent_of)
    done: list[Callback] = []
    open_by_number: dict[str, Callback] = {}

    for at, _, kind, dialled, item in _events(calls, memos, cancellations):
        if at > now:
            break
        if kind == "cancel":
            _cancel(item, open_by_number, region, done)
            continue
        number = normalize(dialled, region)
        if not number:
            continue
        current = open_by_number.get(number)
        if kind == "miss":
            if current is None:
                open_by_number[number] = Callback(
                    key=f"{number}/{item.call_id}", number=number, first_missed_at=at,
                    due_at=policy.due_at(at), status="open", missed_call_ids=(item.call_id,),
                )
            elif item.call_id not in current.missed_call_ids:
                open_by_number[number] = replace(current, missed_call_ids=current.missed_call_ids + (item.call_id,))
        elif kind == "memo":
            if current is None:
                current = Callback(key=f"{number}/memo@{at:.3f}", number=number, first_missed_at=at,
                                   due_at=policy.due_at(at), status="open")
            open_by_number[number] = replace(
                current, name=current.name or item.name, purpose=current.purpose or item.purpose,
                agent=current.agent or item.agent,
            )
        elif current is None:
            continue
        elif kind == "callback" and not _got_through(item):
            open_by_number[number] = replace(current, attempt_call_ids=current.attempt_call_ids + (item.call_id,))
        else:
            outbound = kind == "callback"
            extension = item.caller if outbound else item.answered_by
            status = ("met" if at <= current.due_at else "late") if outbound else "resolved_by_customer"
            done.append(replace(current, status=status, fulfilled_at=at, fulfilled_by_call_id=item.call_id,
                                fulfilled_by_agent=name_of(extension)))
            del open_by_number[number]

    for cb in open_by_number.values():
        done.append(replace(cb, status="overdue" if now > cb.due_at else "open"))
    return sorted(done, key=lambda cb: (cb.first_missed_at, cb.key))


def _agent_namer(agent_of) -> Callable[[str | None], str | None]:
    if agent_of is None:
        return lambda ext: ext
    if callable(agent_of):
        return lambda ext: agent_of(ext) if ext else None

    def from_directory(ext: str | None) -> str | None:
        employee = agent_of.get(ext) if ext else None
        return getattr(employee, "name", None) or ext

    return from_directory


def _cancel(c: Cancellation, open_by_number: dict[str, Callback], region: str, done: list[Callback]) -> None:
    target = next((cb for cb in open_by_number.values() if cb.key == c.key), None)
    if target is None:
        target = open_by_number.get(normalize(c.key, region))
    if target is None:
        log.info("cancellation of %s at %s: no open obligation, ignored", c.key, c.at)
        return
    done.append(replace(target, status="cancelled", cancel_reason=c.reason, cancelled_at=c.at))
    del open_by_number[target.number]
