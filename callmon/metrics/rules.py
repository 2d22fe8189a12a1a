"""The charter's rules: small pure callables built from plain values.

A call rule is ``rule(call) -> RuleResult`` (``pass``/``fail``/``na`` with a reason); it never sees
the configuration object, the transport or a clock. :class:`RuleSet` is the one place that reads
:class:`~callmon.core.config.Config`, and :func:`score` applies a rule set to a call.

>>> from callmon.core.model import Call
>>> call = Call("default", "1.1", "inbound", "01012345678", "2001", 100.0, "answered",
...             first_ring_at=100.0, answered_at=107.5, answered_by="2001", hangup_by="agent")
>>> AnswerBeforeRing(limit=3, cadence=KR)(call).result, AgentHangsUpLast()(call).result
('fail', 'fail')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from callmon.core.errors import ConfigError
from callmon.core.cadence import KR, Cadence, answered_before_ring
from callmon.metrics.callbacks import Callback, CallbackPolicy
from callmon.metrics.calendar import WorkingCalendar
from callmon.core.model import Call, Leg, RuleResult, Score

if TYPE_CHECKING:
    from callmon.core.config import Config

log = logging.getLogger(__name__)


def _na(rule: str, reason: str, value: float | None = None) -> RuleResult:
    return RuleResult(rule, "na", reason, value)


@dataclass(frozen=True)
class AnswerBeforeRing:
    """The customer's view: was the call answered before ring ``limit`` started?

    Inbound calls only. Answered: ``ring_seconds`` (first staff phone ringing to the answer) must
    be before ring ``limit`` starts. Unanswered: a fail if the staff phones rang past the start of
    ring ``limit`` before the caller gave up or the PBX stopped, else ``na``. ``value`` = rings.
    """

    limit: int = 3
    cadence: Cadence = KR
    name: ClassVar[str] = "answer_before_ring"

    def __post_init__(self) -> None:
        if not isinstance(self.limit, int) or self.limit < 1:
            raise ConfigError(f"ring limit must be a whole number >= 1, got {self.limit!r}", key="rules.ring_limit")

    @property
    def deadline(self) -> float:
        """Seconds after the first ring at which ring ``limit`` starts (kr, 3: 6.0)."""
        return self.cadence.start_of_ring(self.limit)

    def describe(self) -> str:
        pattern = "/".join(f"{p:.1f}" for p in self.cadence.pattern)
        return f"answer before ring {self.limit} ({self.cadence.name} {pattern} s)"

    def judge(self, seconds: float, answered: bool) -> RuleResult:
        """The verdict on one stretch of ringing: answered after ``seconds``, or rang ``seconds``."""
        rings = self.cadence.rings_at(seconds)
        in_time = answered_before_ring(seconds, limit=self.limit, cadence=self.cadence)
        limit = f"ring {self.limit} starts at {self.deadline:g} s"
        if answered:
            reason = f"answered during ring {rings} ({seconds:.1f} s; {limit})"
            return RuleResult(self.name, "pass" if in_time else "fail", reason, rings)
        if in_time:
            return _na(self.name, f"ringing stopped after {seconds:.1f} s, during ring {rings} ({limit})", rings)
        return RuleResult(self.name, "fail", f"rang {seconds:.1f} s unanswered, into ring {rings} ({limit})", rings)

    def __call__(self, call: Call) -> RuleResult:
        if call.direction != "inbound":
            return _na(self.name, f"{call.direction} call: the ring rule applies to inbound calls")
        if call.answered_at is not None:
            if call.ring_seconds is None:
                return _na(self.name, "answered, but no ring start was recorded")
            return self.judge(call.ring_seconds, answered=True)
        if call.outcome == "answered":  # e.g. a queue call known from Master.csv alone
            return _na(self.name, "answered, but when a staff phone answered is not recorded "
                                  "(Master.csv gives the PBX's answer; CEL or queue_log give the agent's)")
        windows = [w for w in (_ring_window(leg, call) for leg in _staff_legs(call)) if w]
        if not windows:
            return _na(self.name, f"{call.outcome}: no staff phone rang")
        first = min(start for start, _ in windows)
        if call.first_ring_at is not None:
            first = min(first, call.first_ring_at)
        return self.judge(max(end for _, end in windows) - first, answered=False)


def _staff_legs(call: Call) -> list[Leg]:
    return [leg for leg in call.legs if leg.party == "staff" and leg.ring_started_at is not None]


def _ring_window(leg: Leg, call: Call) -> tuple[float, float] | None:
    """When this phone started and stopped ringing (to its answer, its end, or the call's end)."""
    for end in (leg.answered_at, leg.ring_ended_at, leg.ended_at, call.ended_at):
        if end is not None:
            return leg.ring_started_at, max(leg.ring_started_at, end)
    return None


def agent_ring_results(call: Call, limit: int = 3, cadence: Cadence = KR) -> list[tuple[str, RuleResult]]:
    """The agents' view of the ring rule: one (extension, result) per staff phone that rang.

    A leg answered in time passes for its extension; a leg answered late, or that rang past the
    start of ring ``limit`` without an answer, fails for it; a leg that stopped ringing earlier
    (the caller hung up, another phone answered) is ``na``. Inbound calls only; otherwise ``[]``.
    """
    if call.direction != "inbound":
        return []
    rule = AnswerBeforeRing(limit=limit, cadence=cadence)
    results = []
    for leg in _staff_legs(call):
        window = _ring_window(leg, call)
        if window is None:
            log.debug("call %s: leg %s has no ring end, no agent ring result", call.call_id, leg.channel)
            continue
        results.append((leg.endpoint, rule.judge(window[1] - window[0], answered=leg.answered_at is not None)))
    return results


@dataclass(frozen=True)
class AgentHangsUpLast:
    """The customer puts the receiver down first; an agent-first hang-up fails (outbound too).

    ``na`` for unanswered and internal calls and when the PBX ended the call or the side is
    unknown. A transfer is not the transferer's hang-up: see :func:`hangup_extension`.
    """

    name: ClassVar[str] = "agent_hangs_up_last"

    def describe(self) -> str:
        return "agent hangs up last"

    def __call__(self, call: Call) -> RuleResult:
        if call.direction == "internal":
            return _na(self.name, "internal call")
        if call.answered_at is None and call.outcome != "answered":
            return _na(self.name, f"not answered ({call.outcome})")
        if call.hangup_by == "customer":
            return RuleResult(self.name, "pass", "the customer hung up first")
        if call.hangup_by == "agent":
            who = hangup_extension(call)
            return RuleResult(self.name, "fail", f"the agent{f' ({who})' if who else ''} hung up before the customer")
        if call.hangup_by == "system":
            return _na(self.name, "the PBX ended the call")
        return _na(self.name, "who hung up first is unknown")


def hangup_extension(call: Call) -> str | None:
    """The staff extension that hung up first, to whom an agent-first hang-up counts.

    The leg whose channel hung up; failing that, the staff side of an untransferred call (the
    answerer of an inbound call, the caller of an outbound one). Never the transferer.
    """
    if call.hangup_channel:
        for leg in call.legs:
            if leg.channel == call.hangup_channel and leg.party == "staff":
                return leg.endpoint
    if call.transferred:
        return None
    return call.caller if call.direction == "outbound" else call.answered_by


@dataclass(frozen=True)
class CallbackKept:
    """Was a callback obligation kept, as of ``now``? ``value`` = seconds past due (negative: early).

    ``met`` passes; ``late`` and ``overdue`` fail; ``open``, ``cancelled`` and a customer who got
    through before the due time are ``na``; a customer who got through only after it is a fail.
    """

    name: ClassVar[str] = "callback_kept"

    def __call__(self, callback: Callback, now: float) -> RuleResult:
        end = callback.fulfilled_at if callback.fulfilled_at is not None else now
        late_by = end - callback.due_at
        status = callback.status
        if status == "open" and now > callback.due_at:
            status = "overdue"
        if status == "met":
            return RuleResult(self.name, "pass", "called back in time", late_by)
        if status == "late":
            return RuleResult(self.name, "fail", f"called back {late_by / 3600:.1f} h after the due time", late_by)
        if status == "overdue":
            return RuleResult(self.name, "fail", f"not called back, {late_by / 3600:.1f} h past the due time", late_by)
        if status == "resolved_by_customer":
            if late_by > 0:
                return RuleResult(self.name, "fail", "overdue before the customer got through", late_by)
            return _na(self.name, "the customer called again and got through", late_by)
        if status == "cancelled":
            return _na(self.name, f"cancelled: {callback.cancel_reason or 'no reason given'}")
        return _na(self.name, "not due yet", late_by)


@dataclass(frozen=True)
class RuleSet:
    """The rules a report applies, built from plain values or from a :class:`Config`."""

    ring: AnswerBeforeRing = field(default_factory=AnswerBeforeRing)
    hangup: AgentHangsUpLast = field(default_factory=AgentHangsUpLast)
    callback: CallbackKept = field(default_factory=CallbackKept)
    policy: CallbackPolicy = field(default_factory=CallbackPolicy)
    region: str = "KR"

    @classmethod
    def from_config(cls, config: Config) -> RuleSet:
        """The rule set a configuration asks for (the only reader of Config among the rules)."""
        calendar = WorkingCalendar(
            office_hours=config.office_hours,
            extra_holidays=config.extra_holidays,
            extra_working_days=config.extra_working_days,
            tz=config.timezone,
        )
        return cls(
            ring=AnswerBeforeRing(limit=config.ring_limit, cadence=config.cadence),
            policy=CallbackPolicy(rule=config.callback_rule, hours=config.callback_hours, calendar=calendar),
            region=config.region,
        )

    @property
    def description(self) -> str:
        """The rule set as a report names it."""
        return f"{self.ring.describe()}; {self.hangup.describe()}; callback {self.policy.describe()}"

    def agent_ring_results(self, call: Call) -> list[tuple[str, RuleResult]]:
        """:func:`agent_ring_results` with this set's limit and cadence."""
        return agent_ring_results(call, self.ring.limit, self.ring.cadence)


def agent_extension(call: Call) -> str | None:
    """The staff extension a call is credited to: the answerer (inbound, internal) or the caller (outbound)."""
    return call.caller if call.direction == "outbound" else call.answered_by


def score(call: Call, ruleset: RuleSet, directory: Mapping[str, Any] | None = None) -> Score:
    """Rings, the call rules' results, and agent/team from ``directory`` (extension -> employee)."""
    employee = (directory or {}).get(agent_extension(call) or "")
    ring_seconds = call.ring_seconds
    return Score(
        rings=ruleset.ring.cadence.rings_at(ring_seconds) if ring_seconds is not None else None,
        ring_rule=ruleset.ring(call),
        hangup_rule=ruleset.hangup(call),
        agent=getattr(employee, "name", None),
        team=getattr(employee, "team", None),
    )
