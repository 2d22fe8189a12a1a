"""One :class:`~callmon.core.model.Call` from the merged facts of its sources.

The definitions are the tracker's, so a call imported from files and the same call followed over
AMI come out alike:

- the primary channel started the call (its uniqueid is the linkedid); every other channel that is
  not a Local channel is a leg, ``staff`` if its endpoint is one of our phones, else ``outside``;
- direction: the primary is outside -> inbound; the primary is staff and some leg is outside ->
  outbound; else internal. The candidate legs (those whose ring and answer count) are the staff
  legs, or on an outbound call the outside legs;
- the call is answered when a candidate leg answered (a queue's own Answer() does not count);
- ``hangup_by``: the first hang-up by a party, i.e. the primary or an answered leg that did not
  hand the call on by a transfer; inbound: customer / agent, outbound: agent / customer,
  internal: caller / callee; ``system`` when Asterisk ended it (a timeout, a refusal). CEL says it
  (``hangupsource``), else queue_log (COMPLETEAGENT / COMPLETECALLER / ABANDON...), else, for an
  unanswered call, CDR: a record of the caller alone after its last dial attempt means the
  dialplan went on after the Dial (or Queue) gave up, so Asterisk ended the call; without one the
  caller hung up while it rang. An answered call read from CDR alone has no ``hangup_by``.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from callmon.calls.interpret import endpoint_of as endpoint
from callmon.core.config import Config
from callmon.calls.facts import REFUSED, CallFacts, Chan, QueueSummary, queue_summary
from callmon.core.model import SIDES, Call, Leg, direction_of

log = logging.getLogger(__name__)

SOURCE_ORDER = ("cdr", "cel", "queue_log")
_SAME_MOMENT = 1.0  # s: CDR times are whole seconds


def is_local(channel: str) -> bool:
    return channel.startswith("Local/")


def primary_of(facts: CallFacts) -> Chan:
    """The channel that started the call: uniqueid == linkedid, the earliest if merged calls
    have several; else (CDR without linkedid) the earliest party A; else the earliest channel."""
    chans = [c for c in facts.chans.values() if c.created_at is not None] or list(facts.chans.values())
    starters = [c for c in chans if c.uniqueid and c.uniqueid == c.linkedid] or [c for c in chans if c.party_a]
    return min(starters or chans, key=_created)


def build_call(facts: CallFacts, config: Config, pbx: str, call_id: str | None = None) -> Call:
    """Assemble the call record from the facts of all its sources."""
    q = queue_summary(facts.queue_events) if facts.queue_events else None
    if not facts.chans:
        return _queue_only(q, facts, config, pbx, call_id)
    primary = primary_of(facts)
    call_id = primary.linkedid or primary.uniqueid or call_id or primary.channel
    staff = config.is_staff_endpoint
    legs = [c for c in facts.chans.values() if c is not primary and not is_local(c.channel)]
    if len(legs) > 1:
        legs.sort(key=_created)
    ends = {c.channel: endpoint(c.channel) for c in legs}
    party = {ch: "staff" if staff(ep) else "outside" for ch, ep in ends.items()}
    direction = direction_of(staff(endpoint(primary.channel)), "outside" in party.values())
    wanted = "outside" if direction == "outbound" else "staff"
    candidates = [c for c in legs if party[c.channel] == wanted]

    answered = [c for c in candidates if c.answered]
    first = min(answered, key=lambda c: (c.answered_at is None, c.answered_at or 0.0)) if answered else None
    answered_at = first.answered_at if first else None
    answered_by = None
    if first is not None:
        answered_by = primary.exten if direction == "outbound" else ends[first.channel]
        if answered_at is None and q is not None:
            answered_at = q.answered_at
    elif q is not None and q.answered_at is not None:
        answered_at, answered_by = q.answered_at, _member_extension(q.agent, config)

    ring_starts = [c.ring_started_at for c in candidates if c.ring_started_at is not None]
    if any(c.ring_unknown for c in candidates):
        ring_starts = []  # the earliest ring is not known: better none than a later one
    if q is not None and q.ring_starts and "cel" not in facts.sources:
        ring_starts = q.ring_starts
    first_ring_at = min(ring_starts) if ring_starts else None

    hangup_by, hangup_channel = _hangup_side(facts, primary, legs, direction, answered_by is not None, q)
    status = {c.channel: _dial_status(c, primary, answered, hangup_by == SIDES[direction][0]) for c in legs}
    transferred = facts.transferred or bool(q and q.transferred) or (
        "cel" not in facts.sources and len({c.channel for c in answered}) > 1)
    outcome = _outcome(facts, direction, answered_by is not None, hangup_by, q)
    chans = list(facts.chans.values())
    if len(chans) > 1:
        chans.sort(key=_created)
    uniqueids = [c.uniqueid for c in chans if c.uniqueid]
    if q is not None and q.member_uniqueid and q.member_uniqueid not in uniqueids:
        uniqueids.append(q.member_uniqueid)
    return Call(
        pbx=pbx,
        call_id=call_id,
        direction=direction,
        caller=primary.caller,
        called=primary.exten,
        arrived_at=primary.created_at,
        outcome=outcome,
        queue=facts.queue or (q.queue if q else None),
        first_ring_at=first_ring_at,
        answered_at=answered_at,
        ended_at=primary.ended_at,
        answered_by=answered_by,
        answered_leg=(first.uniqueid or None) if first else None,
        hangup_by=hangup_by,
        hangup_channel=hangup_channel,
        transferred=transferred,
        incomplete=primary.ended_at is None,
        legs=tuple(_leg(c, ends[c.channel], party[c.channel], status[c.channel]) for c in legs),
        uniqueids=tuple(dict.fromkeys(uniqueids)),
        sources=_sources(facts.sources),
    )


@lru_cache(maxsize=16)
def _ordered(sources: frozenset[str]) -> tuple[str, ...]:
    return tuple(s for s in SOURCE_ORDER if s in sources)


def _sources(sources: set[str]) -> tuple[str, ...]:
    return _ordered(frozenset(sources))


def _created(c: Chan) -> tuple[float, str, str]:
    return (c.created_at if c.created_at is not None else float("inf"), c.uniqueid, c.channel)


def _dial_status(c: Chan, primary: Chan, answered: list[Chan], caller_hung_up: bool) -> str | None:
    """The leg's DialStatus as DialEnd reports it. CDR says NO ANSWER, and CEL nothing, for a
    leg Asterisk cancelled: because another phone answered (cause 26, answered elsewhere) or
    because the caller hung up while it rang; both are CANCEL in DialEnd."""
    if c.answered:
        return "ANSWER"
    if c.dial_status not in (None, "NOANSWER") or c.never_rang:
        return c.dial_status
    end = c.ended_at
    if c.hangup_cause == 26 or (end is not None and any(
            o.answered_at is not None and abs(o.answered_at - end) < _SAME_MOMENT for o in answered)):
        return "CANCEL"
    if caller_hung_up and end is not None and primary.ended_at is not None and abs(primary.ended_at - end) < _SAME_MOMENT:
        return "CANCEL"
    return c.dial_status or ("NOANSWER" if end is not None else None)


def _leg(c: Chan, end: str, party: str, dial_status: str | None) -> Leg:
    return Leg(
        uniqueid=c.uniqueid,
        channel=c.channel,
        endpoint=end,
        party=party,
        created_at=c.created_at,
        ring_started_at=c.ring_started_at,
        ring_ended_at=c.ring_ended_at,
        answered_at=c.answered_at,
        ended_at=c.ended_at,
        dial_status=dial_status,
        hangup_cause=c.hangup_cause,
    )


def _member_extension(agent: str | None, config: Config) -> str | None:
    """A queue member as queue_log names it (``Kim Agent`` or ``PJSIP/2001``) as an extension."""
    if not agent:
        return None
    if "/" in agent:
        return endpoint(agent)
    for ext, employee in config.directory.items():
        if employee.name == agent:
            return ext
    return agent


def _hangup_side(facts: CallFacts, primary: Chan, legs: list[Chan], direction: str, answered: bool,
                 q: QueueSummary | None) -> tuple[str | None, str | None]:
    caller_side, answer_side = SIDES[direction]
    parties = {primary.channel: caller_side}
    for c in legs:
        if c.answered and c.channel not in facts.transferers:
            parties[c.channel] = answer_side
    evidence = False
    for h in sorted(facts.hangups, key=_at) if len(facts.hangups) > 1 else facts.hangups:
        if h.source in parties:
            return parties[h.source], h.source
        evidence = evidence or bool(h.source)
    if evidence:  # a hang-up was caused, but by no party (a refusing leg, the dialplan)
        return "system", None
    if q is not None and q.hangup_by is not None:
        side = {"customer": caller_side if direction != "outbound" else answer_side,
                "agent": answer_side if direction != "outbound" else caller_side}.get(q.hangup_by, q.hangup_by)
        return side, None
    if not answered and facts.cdr_rows:
        return ("system", None) if _dialplan_went_on(facts, primary) else (caller_side, primary.channel)
    return None, None


def _at(h) -> float:
    return h.at


def _dialplan_went_on(facts: CallFacts, primary: Chan) -> bool:
    """CDR: a record of the caller alone, in an application other than Dial or Queue, after its
    last dial attempt (the Dial or Queue returned, so the caller did not hang up during it)."""
    own = [r for r in facts.cdr_rows if r.channel == primary.channel]
    attempts = [r.start for r in own if r.dstchannel or r.lastapp in ("Dial", "Queue")]
    last = max(attempts) if attempts else float("-inf")
    return any(not r.dstchannel and r.lastapp not in ("Dial", "Queue") and r.start >= last for r in own)


def _outcome(facts: CallFacts, direction: str, answered: bool, hangup_by: str | None, q: QueueSummary | None) -> str:
    if answered:
        return "answered"
    if facts.voicemail:
        return "voicemail"
    status = _refusal(facts)
    if status == "BUSY":
        return "busy"
    if status in ("CHANUNAVAIL", "CONGESTION"):
        return "failed"
    if direction != "inbound":
        return "no_answer"
    if q is not None and q.outcome is not None and "cel" not in facts.sources:
        return q.outcome
    return "abandoned" if hangup_by == "customer" else "no_answer"


def _refusal(facts: CallFacts) -> str | None:
    """BUSY / CHANUNAVAIL / CONGESTION when the destination refused the call, else None."""
    if facts.primary_status is not None:
        return facts.primary_status if facts.primary_status in REFUSED else None
    attempts = [c.dial_status for c in facts.chans.values() if c.dial_status and c.dial_status != "ANSWER"]
    if attempts and all(s in REFUSED for s in attempts):
        return "BUSY" if "BUSY" in attempts else attempts[-1]
    return None


def _queue_only(q: QueueSummary | None, facts: CallFacts, config: Config, pbx: str, call_id: str | None) -> Call:
    """A call known from queue_log alone: inbound, no legs, times to the second."""
    if q is None or call_id is None:
        raise ValueError("no channel and no queue_log event: nothing to build a call from")
    answered_by = _member_extension(q.agent, config) if q.answered_at is not None else None
    outcome = "answered" if answered_by else (q.outcome or ("abandoned" if q.hangup_by == "customer" else "no_answer"))
    return Call(
        pbx=pbx, call_id=call_id, direction="inbound", caller=q.caller, called="", arrived_at=q.entered_at,
        outcome=outcome, queue=q.queue, first_ring_at=min(q.ring_starts) if q.ring_starts else None,
        answered_at=q.answered_at, answered_by=answered_by, hangup_by=q.hangup_by, transferred=q.transferred,
        incomplete=q.hangup_by is None and not q.transferred,
        uniqueids=(call_id,) + ((q.member_uniqueid,) if q.member_uniqueid else ()), sources=("queue_log",),
    )
