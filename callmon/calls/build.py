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

from callmon.calls.decide import (answered_by_of, called_of, first_answer, first_party_hangup, is_local,
                                  is_voicemail_app, origin_of, outcome_of, refusal_of, ring_legs, side_of)
from callmon.calls.decide import endpoint_of as endpoint
from callmon.calls.facts import REFUSED, CallFacts, Chan, QueueSummary, queue_summary
from callmon.calls.parties import Parties, Sighting, number_of
from callmon.core.config import Config
from callmon.core.model import SIDES, Call, Leg, direction_of

log = logging.getLogger(__name__)

SOURCE_ORDER = ("cdr", "cel", "queue_log")
_SAME_MOMENT = 1.0  # s: CDR times are whole seconds


def primary_of(facts: CallFacts) -> Chan:
    """The channel that started the call: uniqueid == linkedid, the earliest if merged calls
    have several; else (CDR without linkedid) the earliest party A; else the earliest channel."""
    chans = [c for c in facts.chans.values() if c.created_at is not None] or list(facts.chans.values())
    starters = [c for c in chans if c.uniqueid and c.uniqueid == c.linkedid] or [c for c in chans if c.party_a]
    return min(starters or chans, key=_created)


def build_call(facts: CallFacts, config: Config, pbx: str, call_id: str | None = None, *,
               parties: Parties | None = None, learn: bool = False) -> Call:
    """Assemble the call record from the facts of all its sources (``parties`` and ``learn`` as
    for :func:`~callmon.calls.interpret.assemble`)."""
    q = queue_summary(facts.queue_events) if facts.queue_events else None
    if not facts.chans:
        return _queue_only(q, facts, config, pbx, call_id)
    primary = primary_of(facts)
    call_id = primary.linkedid or primary.uniqueid or call_id or primary.channel
    chans = list(facts.chans.values())
    if len(chans) > 1:
        chans.sort(key=_created)
    origin = facts.chans.get(origin_of(primary.channel, [c.channel for c in chans],
                                       {c.channel: c.dialled_by for c in chans}), primary)
    real = [c for c in chans if not is_local(c.channel)]
    ends = {c.channel: endpoint(c.channel) for c in real}
    sightings = [_sighting(c, ends[c.channel], c is origin, facts) for c in real]
    parties = parties or Parties(config)
    classes = parties.of_call(sightings)
    if learn and primary.ended_at is not None:
        parties.learn(sightings, primary.created_at, call_id=call_id)
    legs = [c for c in real if c is not origin]
    party = {c.channel: classes[ends[c.channel]].kind for c in legs}
    origin_staff = not is_local(origin.channel) and classes[ends[origin.channel]].kind == "staff"
    direction = direction_of(origin_staff, "outside" in party.values())

    answered = [c for c in legs if c.answered]
    answered.sort(key=lambda c: (c.answered_at is None, c.answered_at or 0.0))
    draft = {c.channel: _leg(c, ends[c.channel], party[c.channel], None) for c in legs}
    first_leg = first_answer(list(draft.values()), direction, [draft[c.channel] for c in answered])
    first = facts.chans[first_leg.channel] if first_leg is not None else None
    if origin is not primary and "cel" not in facts.sources:
        for c in legs:  # an originate's CDR answer is its first destination's, not the later legs'
            if is_local(c.dialled_by) and c is not origin:
                c.answered_at = None
    outside = [c for c in ([first] if first is not None and party[first.channel] == "outside" else [])
               + [c for c in legs if party[c.channel] == "outside"]]
    called = called_of(primary.exten if origin is primary else "", direction, [_number(c, facts) for c in outside])
    answered_at = first.answered_at if first else None
    answered_by = None
    if first is not None:
        answered_by = answered_by_of(first_leg, direction, called, _number(first, facts),
                                     classes[ends[first.channel]].extension)
        if answered_at is None and q is not None:
            answered_at = q.answered_at
    elif q is not None and q.answered_at is not None:
        answered_at, answered_by = q.answered_at, _member_extension(q.agent, config)

    counted = {leg.channel for leg in ring_legs(list(draft.values()), direction, first_leg)}
    candidates = [c for c in legs if c.channel in counted]
    ring_starts = [c.ring_started_at for c in candidates if c.ring_started_at is not None]
    if any(c.ring_unknown for c in candidates) or (origin is not primary and "cel" not in facts.sources):
        ring_starts = []  # the earliest ring is not known: better none than a later one
    if q is not None and q.ring_starts and "cel" not in facts.sources:
        ring_starts = q.ring_starts
    first_ring_at = min(ring_starts) if ring_starts else None

    hangup_by, hangup_channel = _hangup_side(facts, origin, legs, direction, answered_by is not None, q)
    status = {c.channel: _dial_status(c, origin, answered, hangup_by == SIDES[direction][0]) for c in legs}
    transferred = facts.transferred or bool(q and q.transferred) or (
        "cel" not in facts.sources and len({c.channel for c in answered}) > 1)
    outcome = outcome_of(answered_by is not None, facts.voicemail, _refusal(facts), direction, hangup_by,
                         queue_outcome=q.outcome if q is not None and "cel" not in facts.sources else None)
    uniqueids = [c.uniqueid for c in chans if c.uniqueid]
    if q is not None and q.member_uniqueid and q.member_uniqueid not in uniqueids:
        uniqueids.append(q.member_uniqueid)
    ended_at = primary.ended_at if not is_local(primary.channel) else max(
        (c.ended_at for c in real if c.ended_at is not None), default=primary.ended_at)
    return Call(
        pbx=pbx,
        call_id=call_id,
        direction=direction,
        caller=primary.caller if origin is primary else (classes[ends[origin.channel]].extension
                                                         or number_of(origin.own_number) or ends[origin.channel]),
        called=called,
        arrived_at=primary.created_at,
        outcome=outcome,
        queue=facts.queue or (q.queue if q else None),
        first_ring_at=first_ring_at,
        answered_at=answered_at,
        ended_at=ended_at,
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


def _sighting(c: Chan, end: str, started: bool, facts: CallFacts) -> Sighting:
    # raw texts: Parties reads the numbers in them (number_of)
    return Sighting(end, own_number=c.own_number, started=started,
                    dialled_as=c.dialled_as or facts.dial_numbers.get(end, ""), queue_member=c.queue_member)


def _number(c: Chan, facts: CallFacts) -> str:
    """The number a leg was dialled with, when a source said it."""
    return number_of(c.dialled_as) or number_of(facts.dial_numbers.get(endpoint(c.channel), ""))


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


def _hangup_side(facts: CallFacts, origin: Chan, legs: list[Chan], direction: str, answered: bool,
                 q: QueueSummary | None) -> tuple[str | None, str | None]:
    caller_side, answer_side = SIDES[direction]
    parties = {origin.channel: "caller"} | {c.channel: "answer" for c in legs if c.answered}
    hangups = sorted(facts.hangups, key=_at) if len(facts.hangups) > 1 else facts.hangups
    channel, seen = first_party_hangup(((h.at, h.source) for h in hangups), parties,
                                       dict.fromkeys(facts.transferers))
    if channel is not None:
        return side_of(channel, origin.channel, direction), channel
    if seen:  # a hang-up was caused, but by no party (a refusing leg, the dialplan)
        return "system", None
    if q is not None and q.hangup_by is not None:
        side = {"customer": caller_side if direction != "outbound" else answer_side,
                "agent": answer_side if direction != "outbound" else caller_side}.get(q.hangup_by, q.hangup_by)
        return side, None
    if not answered and facts.cdr_rows:
        return _unanswered_end(facts, origin, caller_side)
    return None, None


def _at(h) -> float:
    return h.at


def _unanswered_end(facts: CallFacts, origin: Chan, caller_side: str) -> tuple[str | None, str | None]:
    """CDR, an unanswered call: the caller hung up while it rang, unless the dialplan went on;
    then Asterisk ended it, except in voicemail, which a caller leaves by hanging up."""
    if not _dialplan_went_on(facts, origin):
        return caller_side, origin.channel
    own = [r for r in facts.cdr_rows if r.channel == origin.channel]
    last = max(own, key=_record_start) if own else None
    if last is not None and is_voicemail_app(last.lastapp):
        return caller_side, origin.channel
    return "system", None


def _record_start(r) -> tuple[float, int]:
    return r.start, r.sequence if r.sequence is not None else 0


def _dialplan_went_on(facts: CallFacts, primary: Chan) -> bool:
    """CDR: a record of the caller alone, in an application other than Dial or Queue, after its
    last dial attempt (the Dial or Queue returned, so the caller did not hang up during it)."""
    own = [r for r in facts.cdr_rows if r.channel == primary.channel]
    attempts = [r.start for r in own if r.dstchannel or r.lastapp in ("Dial", "Queue")]
    last = max(attempts) if attempts else float("-inf")
    return any(not r.dstchannel and r.lastapp not in ("Dial", "Queue") and r.start >= last for r in own)


def _refusal(facts: CallFacts) -> str | None:
    """BUSY / CHANUNAVAIL / CONGESTION when the destination refused the call, else None: the
    caller's DIALSTATUS (CEL) when known, else :func:`~callmon.calls.decide.refusal_of` the legs."""
    if facts.primary_status is not None:
        return facts.primary_status if facts.primary_status in REFUSED else None
    return refusal_of(c.dial_status for c in facts.chans.values())


def _queue_only(q: QueueSummary | None, facts: CallFacts, config: Config, pbx: str, call_id: str | None) -> Call:
    """A call known from queue_log alone: inbound, no legs, times to the second."""
    if q is None or call_id is None:
        raise ValueError("no channel and no queue_log event: nothing to build a call from")
    answered_by = _member_extension(q.agent, config) if q.answered_at is not None else None
    outcome = outcome_of(bool(answered_by), False, None, "inbound", q.hangup_by, queue_outcome=q.outcome)
    return Call(
        pbx=pbx, call_id=call_id, direction="inbound", caller=q.caller, called="", arrived_at=q.entered_at,
        outcome=outcome, queue=q.queue, first_ring_at=min(q.ring_starts) if q.ring_starts else None,
        answered_at=q.answered_at, answered_by=answered_by, hangup_by=q.hangup_by, transferred=q.transferred,
        incomplete=q.hangup_by is None and not q.transferred,
        uniqueids=(call_id,) + ((q.member_uniqueid,) if q.member_uniqueid else ()), sources=("queue_log",),
    )
