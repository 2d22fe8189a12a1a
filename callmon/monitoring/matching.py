"""Matching a test call to its call record: the evaluator's number and a time window.

A test call is matched when exactly one stored call from the evaluator's number arrived within
``window`` seconds of the time the evaluator wrote down; two or more are ``ambiguous`` and none is
``missing``. Nothing is guessed: an ambiguous or missing test call gets no automatic items and no
score until the evaluator names the call (``call_id``). A call claimed by two different test calls
is ambiguous for both.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

MATCHED, AMBIGUOUS, MISSING = "matched", "ambiguous", "missing"
DEFAULT_WINDOW_S = 300.0


@dataclass(frozen=True, slots=True)
class CallbackFacts:
    """The callback obligation a test call opened, as the callback record has it."""

    callback_id: int
    status: str  # open | overdue | met | late | resolved_by_customer | cancelled
    due_at: float
    fulfilled_at: float | None = None


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the monitoring needs of one stored call record."""

    call_id: str
    number: str | None  # the outside party, E.164
    arrived_at: float | None
    answered: bool
    extension: str | None = None  # who answered (else the phone that rang)
    agent: str | None = None
    team: str | None = None
    rings: int | None = None
    ring_seconds: float | None = None
    ring_rule: str = "na"
    hangup_by: str | None = None
    hangup_rule: str = "na"
    transferred: bool = False
    callback: CallbackFacts | None = None


@dataclass(frozen=True, slots=True)
class TestCall:
    """A test call as the evaluator recorded it: from which number, when, and optionally which
    stored call it was (to settle an ambiguous or missing match by hand)."""

    __test__ = False  # not a pytest class

    key: str
    number: str  # E.164
    called_at: float
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """The outcome of matching one test call; ``candidates`` are the call ids considered."""

    status: str
    call_id: str | None = None
    candidates: tuple[str, ...] = ()


def candidates_of(test: TestCall, calls: Iterable[CallFacts], window: float) -> list[CallFacts]:
    """The stored calls from the test call's number that arrived within the window, nearest first."""
    near = [c for c in calls if c.number == test.number and c.arrived_at is not None
            and abs(c.arrived_at - test.called_at) <= window]
    return sorted(near, key=lambda c: (abs(c.arrived_at - test.called_at), c.call_id))


def match_one(test: TestCall, calls: Sequence[CallFacts], window: float = DEFAULT_WINDOW_S) -> Match:
    """Match one test call.

    >>> c = CallFacts("a1", "+821010000001", 1000.0, True)
    >>> match_one(TestCall("1", "+821010000001", 1100.0), [c]).status
    'matched'
    >>> match_one(TestCall("1", "+821010000001", 9000.0), [c]).status
    'missing'
    """
    if test.call_id:
        named = [c for c in calls if c.call_id == test.call_id and c.number == test.number]
        return Match(MATCHED, test.call_id, (test.call_id,)) if named else Match(MISSING, None, (test.call_id,))
    near = candidates_of(test, calls, window)
    ids = tuple(c.call_id for c in near)
    if len(near) == 1:
        return Match(MATCHED, near[0].call_id, ids)
    return Match(AMBIGUOUS if near else MISSING, None, ids)


def match_all(tests: Sequence[TestCall], calls: Sequence[CallFacts],
              window: float = DEFAULT_WINDOW_S) -> dict[str, Match]:
    """Match every test call (by key); a call matched by two different test calls is ambiguous
    for both (one record cannot be two test calls)."""
    out = {t.key: match_one(t, calls, window) for t in tests}
    claims = Counter(m.call_id for m in out.values() if m.status == MATCHED)
    for key, m in out.items():
        if m.status == MATCHED and claims[m.call_id] > 1:
            out[key] = Match(AMBIGUOUS, None, m.candidates)
    return out
