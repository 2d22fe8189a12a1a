"""Scores calls with a rule set and the directory: what the rules add to a call before it is stored.

The :class:`Scorer` is built once (per pipeline) from a :class:`~callmon.metrics.rules.RuleSet` and
a directory ``extension -> employee``; each call then gives a :class:`ScoredCall`: the customer's
view (:func:`callmon.metrics.rules.score`: rings, the ring and hang-up rules, agent and team), the
agents' view (one :class:`AgentResult` per staff phone that rang, and the hang-up verdict for the
extension it counts to) and the outside party's number for the callback obligations.

>>> from callmon.core.model import Call
>>> scorer = Scorer(RuleSet())
>>> call = Call("default", "1.1", "inbound", "010-1234-5678", "2001", 100.0, "answered",
...             first_ring_at=100.0, answered_at=102.5, answered_by="2001", hangup_by="customer")
>>> scored = scorer(call)
>>> scored.score.ring_rule.result, scored.customer_number, [r.result.rule for r in scored.agent_results]
('pass', '+821012345678', ['agent_hangs_up_last'])
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from callmon.core.config import Config
from callmon.metrics.numbers import is_outside, kr_mobiles, normalize
from callmon.metrics.rules import RuleSet, agent_extension, hangup_extension, score
from callmon.core.model import Call, RuleResult, Score

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AgentResult:
    """One rule's verdict for one staff extension on one call (the agent's view).

    Ring rows name the leg (``uniqueid``), how long that phone rang (``ring_seconds``: to its
    answer or the end of its ringing) and whether it answered.
    """

    extension: str
    result: RuleResult
    agent: str | None = None
    team: str | None = None
    uniqueid: str | None = None
    ring_seconds: float | None = None
    answered: bool = False


@dataclass(frozen=True, slots=True)
class ScoredCall:
    """A call with everything the rules and the directory add to it."""

    call: Call
    score: Score
    customer_number: str | None = None
    agent_results: tuple[AgentResult, ...] = ()

    @property
    def period_at(self) -> float | None:
        """The call's moment for periods and warnings: arrival, else first ring, answer, end."""
        c = self.call
        return next((t for t in (c.arrived_at, c.first_ring_at, c.answered_at, c.ended_at) if t is not None), None)


def customer_number(call: Call, region: str = "KR") -> str | None:
    """The outside party in E.164: the caller of an inbound call, the called of an outbound one."""
    return customer_number_of(call.direction, call.caller, call.called, region)


def customer_number_of(direction: str, caller: str, called: str, region: str = "KR") -> str | None:
    """:func:`customer_number` from the plain fields."""
    number = caller if direction == "inbound" else called if direction == "outbound" else None
    if not number or not is_outside(number):
        return None
    return _e164(number, region) or None


def customer_numbers(directions: list[str], callers: list[str], calleds: list[str], region: str = "KR") -> list[str | None]:
    """:func:`customer_number_of` of whole columns: the Korean mobiles written as plain digits
    (most of a call centre's customers) at once, every other number one by one."""
    parties = [c if d == "inbound" else e if d == "outbound" else "" for d, c, e in zip(directions, callers, calleds)]
    fast = kr_mobiles(parties) if region == "KR" else [None] * len(parties)
    return [f if f is not None else customer_number_of(d, c, e, region)
            for f, d, c, e in zip(fast, directions, callers, calleds)]


@lru_cache(maxsize=1 << 16)
def _e164(number: str, region: str) -> str:
    # parsing a number costs ~0.1 ms and customers call again and again: remember the recent ones
    return normalize(number, region)


class Scorer:
    """Applies one rule set and one directory to calls (build it once, call it per call)."""

    def __init__(self, ruleset: RuleSet, directory: Mapping[str, Any] | None = None):
        self.ruleset = ruleset
        self.directory = dict(directory or {})

    @classmethod
    def from_config(cls, config: Config) -> Scorer:
        return cls(RuleSet.from_config(config), config.directory)

    def employee(self, extension: str | None) -> tuple[str | None, str | None]:
        """(name, team) of an extension; unknown extensions have none."""
        emp = self.directory.get(extension) if extension else None
        return getattr(emp, "name", None), getattr(emp, "team", None)

    def __call__(self, call: Call) -> ScoredCall:
        return ScoredCall(
            call=call,
            score=score(call, self.ruleset, self.directory),
            customer_number=customer_number(call, self.ruleset.region),
            agent_results=self.agent_results(call),
        )

    def agent_results(self, call: Call) -> tuple[AgentResult, ...]:
        """The agents' view: each staff phone's ring verdict, and the hang-up verdict (pass for the
        extension the call is credited to, fail for the one that hung up first; na is not kept)."""
        out = []
        ring = self.ruleset.agent_ring_results(call)
        legs = [leg for leg in call.legs if leg.party == "staff" and leg.ring_started_at is not None]
        if len(legs) != len(ring):  # a leg without a ring end was skipped: pair by extension only
            log.debug("call %s: %d ringing legs, %d ring results", call.call_id, len(legs), len(ring))
            legs = [None] * len(ring)
        for leg, (extension, result) in zip(legs, ring):
            out.append(AgentResult(
                extension, result, *self.employee(extension),
                uniqueid=leg.uniqueid if leg else None,
                ring_seconds=leg.ring_seconds if leg else None,
                answered=bool(leg and leg.answered_at is not None),
            ))
        hangup = self.ruleset.hangup(call)
        if hangup.result != "na":
            extension = hangup_extension(call) if hangup.result == "fail" else agent_extension(call)
            if extension:
                out.append(AgentResult(extension, hangup, *self.employee(extension)))
        return tuple(out)
