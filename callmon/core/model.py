"""Domain data: small frozen records, no I/O.

A :class:`Call` is what happened on the PBX, assembled from AMI events or Asterisk's files; the
rules score it into a :class:`Score`; storage keeps both. Times are Unix epoch seconds (floats);
they are rendered as ISO-8601 with the configured zone only at the edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DIRECTIONS = ("inbound", "outbound", "internal")
OUTCOMES = ("answered", "abandoned", "no_answer", "busy", "failed", "voicemail")
HANGUP_SIDES = ("customer", "agent", "system", "caller", "callee")
RULE_RESULTS = ("pass", "fail", "na")
# hangup_by of (the caller's side, the answering side), by direction
SIDES = {"inbound": ("customer", "agent"), "outbound": ("agent", "customer"), "internal": ("caller", "callee")}


def direction_of(caller_is_staff: bool, any_outside_leg: bool) -> str:
    """inbound (an outside caller), outbound (staff calling out), or internal (staff to staff).

    >>> direction_of(False, False), direction_of(True, True), direction_of(True, False)
    ('inbound', 'outbound', 'internal')
    """
    if not caller_is_staff:
        return "inbound"
    return "outbound" if any_outside_leg else "internal"


@dataclass(frozen=True, slots=True)
class Leg:
    """One channel of a call other than the one that started it: a phone that was rung, a trunk
    that was dialled out, a transfer target.

    ``party`` is ``staff`` for an extension of ours, ``outside`` for a trunk to the public network.
    """

    uniqueid: str
    channel: str
    endpoint: str
    party: str
    created_at: float | None = None
    ring_started_at: float | None = None
    ring_ended_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    dial_status: str | None = None
    hangup_cause: int | None = None

    @property
    def ring_seconds(self) -> float | None:
        """How long this phone rang: to its answer, or to the end of its ringing."""
        if self.ring_started_at is None:
            return None
        end = self.answered_at if self.answered_at is not None else self.ring_ended_at
        return None if end is None else max(0.0, end - self.ring_started_at)


@dataclass(frozen=True, slots=True)
class Call:
    """One call, keyed by Asterisk's Linkedid (``call_id``) within a PBX.

    The fields follow DESIGN.md's ``callmon calls --format json`` contract; ``legs`` lists every
    phone or trunk the call rang, ``uniqueids`` every channel it used (for merging sources), and
    ``incomplete`` says the call was cut (lost connection, end of file) before it ended.
    """

    pbx: str
    call_id: str
    direction: str
    caller: str
    called: str
    arrived_at: float | None
    outcome: str
    queue: str | None = None
    first_ring_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    answered_by: str | None = None
    answered_leg: str | None = None
    hangup_by: str | None = None
    hangup_channel: str | None = None
    transferred: bool = False
    incomplete: bool = False
    legs: tuple[Leg, ...] = ()
    uniqueids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ("ami",)

    @property
    def ring_seconds(self) -> float | None:
        """From the first staff (outbound: customer) phone ringing to the answer; None if unanswered."""
        if self.answered_at is None or self.first_ring_at is None:
            return None
        return max(0.0, self.answered_at - self.first_ring_at)

    @property
    def wait_seconds(self) -> float | None:
        """From arrival to the answer (unanswered: to the end, the time the caller waited)."""
        end = self.answered_at if self.answered_at is not None else self.ended_at
        if end is None or self.arrived_at is None:
            return None
        return max(0.0, end - self.arrived_at)

    @property
    def talk_seconds(self) -> float | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.answered_at)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """A rule's verdict on one call: ``pass``, ``fail`` or ``na``, and why."""

    rule: str
    result: str
    reason: str = ""
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """What the rules and the directory add to a call."""

    rings: int | None
    ring_rule: RuleResult
    hangup_rule: RuleResult
    agent: str | None = None
    team: str | None = None
    callback_id: int | None = None
    extra: tuple[RuleResult, ...] = field(default=())
