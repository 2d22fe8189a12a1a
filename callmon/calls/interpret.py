"""One call's AMI events -> one :class:`~callmon.core.model.Call`.

A pure function of the events (in arrival order) and the configuration. Handlers are a dispatch
table ``event name -> handler`` that fill a per-channel scratch state; :func:`assemble` then reads
the call off that state. Unknown events are ignored.

What the real captures taught (sample_cdr/README.md):
- a leg starts ringing at its ``Newstate`` ChannelState 5, not at ``DialBegin``;
- a queue call is answered by the PBX (the caller's channel goes Up) long before a staff phone
  answers: only a *leg* going Up is an answer;
- the side that hangs up first shows as ``HangupRequest`` on its channel; Asterisk's own
  tear-down is ``SoftHangupRequest``;
- a transfer keeps the Linkedid and adds channels; the transferer's leaving is not a hang-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from callmon.calls.decide import (answered_by_of, called_of, endpoint_of, first_answer, first_party_hangup,
                                  is_voicemail_app, origin_of, outcome_of, refusal_of, ring_legs, side_of)
from callmon.calls.parties import Parties, Sighting, number_of
from callmon.core.config import Config
from callmon.core.model import Call, Leg, direction_of
from callmon.sources.ami.framing import AmiEvent

__all__ = ["HANDLERS", "assemble", "endpoint_of"]

log = logging.getLogger(__name__)

RINGING, UP = "5", "6"


@dataclass
class _Chan:
    """Scratch state of one channel while reading a call's events (never leaves this module)."""

    uniqueid: str
    channel: str = ""
    caller: str = ""
    exten: str = ""
    created_at: float | None = None
    ring_at: float | None = None
    ring_end_at: float | None = None
    dialstate_ring_at: float | None = None
    answer_at: float | None = None
    dial_answer_at: float | None = None
    hangup_request_at: float | None = None
    hangup_at: float | None = None
    hangup_cause: int | None = None
    dial_status: str | None = None
    seen_new: bool = False  # its Newchannel was seen: we know how the channel began
    dialstring: str = ""  # DialBegin's DialString: what it was dialled with
    dialled_by: str = ""  # the channel that dialled it
    queue_member: bool = False  # a queue dialled it (AgentCalled)

    @property
    def endpoint(self) -> str:
        return endpoint_of(self.channel)

    @property
    def is_local(self) -> bool:
        return self.channel.startswith("Local/")


class _State:
    def __init__(self) -> None:
        self.chans: dict[str, _Chan] = {}
        self.order: list[str] = []
        self.queue: str | None = None
        self.queue_abandoned = False
        self.transfers: list[tuple[float | None, str]] = []  # (time, transferer channel)
        self.voicemail = False
        self.hangup_requests: list[tuple[float | None, str]] = []  # (time, uniqueid) in order

    def chan(self, uid: str | None) -> _Chan | None:
        if not uid:
            return None
        c = self.chans.get(uid)
        if c is None:
            c = self.chans[uid] = _Chan(uid)
            self.order.append(uid)
        return c


def _note_channel(st: _State, ev: AmiEvent, ts: float | None) -> _Chan | None:
    c = st.chan(ev.uniqueid)
    if c is None:
        return None
    if not c.channel and ev.get("Channel"):
        c.channel = ev.get("Channel") or ""
    if c.created_at is None:
        c.created_at = ts
    return c


def _newchannel(st: _State, ev: AmiEvent, ts: float | None) -> None:
    c = _note_channel(st, ev, ts)
    if c is not None:
        c.seen_new = True
        c.caller = c.caller or (ev.get("CallerIDNum") or "")
        c.exten = c.exten or (ev.get("Exten") or "")
        c.created_at = ts if ts is not None else c.created_at
        if ev.get("ChannelState") == RINGING and c.ring_at is None:
            c.ring_at = ts


def _newstate(st: _State, ev: AmiEvent, ts: float | None) -> None:
    c = _note_channel(st, ev, ts)
    if c is None:
        return
    state = ev.get("ChannelState")
    if state == RINGING and c.ring_at is None:
        c.ring_at = ts
    elif state == UP and c.answer_at is None:
        c.answer_at = ts
        if c.ring_end_at is None:  # ringing ends when the phone answers
            c.ring_end_at = ts


def _dialstate(st: _State, ev: AmiEvent, ts: float | None) -> None:
    _note_channel(st, ev, ts)
    dest = st.chan(ev.get("DestUniqueid"))
    if dest is not None and ev.get("DialStatus") == "RINGING" and dest.dialstate_ring_at is None:
        dest.dialstate_ring_at = ts
        dest.channel = dest.channel or (ev.get("DestChannel") or "")


def _dialbegin(st: _State, ev: AmiEvent, ts: float | None) -> None:
    _note_channel(st, ev, ts)
    dest = st.chan(ev.get("DestUniqueid"))
    if dest is not None:
        dest.channel = dest.channel or (ev.get("DestChannel") or "")
        dest.created_at = dest.created_at if dest.created_at is not None else ts
        dest.dialstring = dest.dialstring or (ev.get("DialString") or "")
        dest.dialled_by = dest.dialled_by or (ev.get("Channel") or "")


def _dialend(st: _State, ev: AmiEvent, ts: float | None) -> None:
    _note_channel(st, ev, ts)
    dest = st.chan(ev.get("DestUniqueid"))
    if dest is None:
        return
    status = ev.get("DialStatus") or ""
    dest.channel = dest.channel or (ev.get("DestChannel") or "")
    # queue retries report NOANSWER then CANCEL for one leg: the first status is the truth
    if dest.dial_status is None or dest.dial_status == "CANCEL" and status != "CANCEL":
        dest.dial_status = status
    if status == "ANSWER" and dest.dial_answer_at is None:
        dest.dial_answer_at = ts
    if dest.ring_end_at is None:
        dest.ring_end_at = ts


def _agent_connect(st: _State, ev: AmiEvent, ts: float | None) -> None:
    _note_channel(st, ev, ts)
    st.queue = st.queue or ev.get("Queue")
    dest = st.chan(ev.get("DestUniqueid"))
    if dest is not None and dest.dial_answer_at is None:
        dest.dial_answer_at = ts


def _agent_called(st: _State, ev: AmiEvent, ts: float | None) -> None:
    _note_channel(st, ev, ts)
    st.queue = st.queue or ev.get("Queue")
    dest = st.chan(ev.get("DestUniqueid"))
    if dest is not None:
        dest.channel = dest.channel or (ev.get("DestChannel") or "")
        dest.queue_member = True


def _queue_join(st: _State, ev: AmiEvent, ts: float | None) -> None:
    _note_channel(st, ev, ts)
    st.queue = st.queue or ev.get("Queue")


def _queue_abandon(st: _State, ev: AmiEvent, ts: float | None) -> None:
    _note_channel(st, ev, ts)
    st.queue_abandoned = True


def _hangup_request(st: _State, ev: AmiEvent, ts: float | None) -> None:
    c = _note_channel(st, ev, ts)
    if c is not None and c.hangup_request_at is None:
        c.hangup_request_at = ts
        st.hangup_requests.append((ts, c.uniqueid))


def _hangup(st: _State, ev: AmiEvent, ts: float | None) -> None:
    c = _note_channel(st, ev, ts)
    if c is None:
        return
    c.hangup_at = ts
    try:
        c.hangup_cause = int(ev.get("Cause") or "")
    except ValueError:
        c.hangup_cause = None
    if c.ring_end_at is None:
        c.ring_end_at = ts


def _transfer(st: _State, ev: AmiEvent, ts: float | None) -> None:
    if (ev.get("Result") or "Success") != "Success":
        return
    transferers = [ev.get(k) for k in ("TransfererChannel", "OrigTransfererChannel", "SecondTransfererChannel")]
    for ch in filter(None, transferers):
        st.transfers.append((ts, ch))


def _newexten(st: _State, ev: AmiEvent, ts: float | None) -> None:
    _note_channel(st, ev, ts)
    if is_voicemail_app(ev.get("Application")):
        st.voicemail = True


def _other(st: _State, ev: AmiEvent, ts: float | None) -> None:
    _note_channel(st, ev, ts)


HANDLERS: dict[str, Callable[[_State, AmiEvent, float | None], None]] = {
    "Newchannel": _newchannel,
    "Newstate": _newstate,
    "DialBegin": _dialbegin,
    "DialState": _dialstate,
    "DialEnd": _dialend,
    "AgentCalled": _agent_called,
    "AgentConnect": _agent_connect,
    "QueueCallerJoin": _queue_join,
    "QueueCallerAbandon": _queue_abandon,
    "HangupRequest": _hangup_request,
    "Hangup": _hangup,
    "BlindTransfer": _transfer,
    "AttendedTransfer": _transfer,
    "Newexten": _newexten,
}


def assemble(events: list[AmiEvent], config: Config, pbx: str, *, incomplete: bool = False,
             parties: Parties | None = None, learn: bool = False) -> Call | None:
    """Build the call record from one call's events; None when they hold no channel at all.

    ``parties`` decides which endpoints are staff (default: from this call's evidence and the
    configuration); with ``learn`` the call's evidence is kept in it."""
    st = _State()
    linkedid: str | None = None
    for ev in events:
        HANDLERS.get(ev.name, _other)(st, ev, ev.timestamp)
        if linkedid is None and ev.linkedid and ev.uniqueid == ev.linkedid:
            linkedid = ev.linkedid
    if not st.order:
        return None
    primary = st.chans.get(linkedid) if linkedid else None
    if primary is None:  # no event of the originating channel: take the first channel created
        primary = st.chans[st.order[0]]
        linkedid = next((e.linkedid for e in events if e.linkedid), None) or primary.uniqueid
    if not primary.channel:
        primary.channel = primary.uniqueid
    # a call whose beginning we did not see (a stream that starts, or resumes, mid-call) is
    # reported as incomplete: what is known is kept, nothing is guessed
    incomplete = incomplete or not primary.seen_new

    chans = [c for c in st.chans.values() if c.channel]
    by_name = {c.channel: c for c in chans}
    origin_name = origin_of(primary.channel, [c.channel for c in chans], {c.channel: c.dialled_by for c in chans})
    origin = by_name.get(origin_name, primary)
    real = [c for c in chans if not c.is_local]
    sightings = [_sighting(c, c is origin) for c in real]
    parties = parties or Parties(config)
    classes = parties.of_call(sightings)
    if learn and not incomplete:
        parties.learn(sightings, primary.created_at, call_id=linkedid)

    legs_ch = [c for c in real if c is not origin]
    origin_staff = not origin.is_local and classes[origin.endpoint].kind == "staff"
    direction = direction_of(origin_staff, any(classes[c.endpoint].kind == "outside" for c in legs_ch))
    legs = tuple(
        Leg(
            uniqueid=c.uniqueid,
            channel=c.channel,
            endpoint=c.endpoint,
            party=classes[c.endpoint].kind,
            created_at=c.created_at,
            ring_started_at=c.ring_at if c.ring_at is not None else c.dialstate_ring_at,
            ring_ended_at=c.ring_end_at,
            answered_at=c.answer_at if c.answer_at is not None else c.dial_answer_at,
            ended_at=c.hangup_at,
            dial_status=c.dial_status,
            hangup_cause=c.hangup_cause,
        )
        for c in legs_ch
    )
    answered = sorted((leg for leg in legs if leg.answered_at is not None), key=lambda leg: leg.answered_at)
    first = first_answer(legs, direction, answered)
    rings = [leg.ring_started_at for leg in ring_legs(legs, direction, first) if leg.ring_started_at is not None]
    outside = [by_name[leg.channel] for leg in ([first] if first and first.party == "outside" else [])
               + [leg for leg in legs if leg.party == "outside"]]
    exten = primary.exten if origin is primary else ""
    called = called_of(exten, direction, [number_of(c.dialstring) for c in outside])
    answered_by = None
    if first is not None:
        number = number_of(by_name[first.channel].dialstring)
        answered_by = answered_by_of(first, direction, called, number, classes[first.endpoint].extension)

    hangup_by, hangup_channel = _hangup_side(st, origin, legs, direction, incomplete)
    refusal = refusal_of(leg.dial_status for leg in legs)
    outcome = outcome_of(first is not None, st.voicemail, refusal, direction, hangup_by,
                         queue_abandoned=st.queue_abandoned, no_legs=not legs and not st.queue and not incomplete and origin is primary)
    ended = primary.hangup_at if not primary.is_local else None
    return Call(
        pbx=pbx,
        call_id=linkedid,
        direction=direction,
        caller=origin.caller if origin is primary else (classes[origin.endpoint].extension or number_of(origin.caller)
                                                        or origin.endpoint),
        called=called,
        queue=st.queue,
        arrived_at=primary.created_at,
        first_ring_at=min(rings) if rings else None,
        answered_at=first.answered_at if first else None,
        ended_at=ended if ended is not None else _last_hangup(st),
        outcome=outcome,
        answered_by=answered_by,
        answered_leg=first.uniqueid if first else None,
        hangup_by=hangup_by,
        hangup_channel=hangup_channel,
        transferred=bool(st.transfers),
        incomplete=incomplete,
        legs=legs,
        uniqueids=tuple(st.order),
        sources=("ami",),
    )


def _sighting(c: _Chan, started: bool) -> Sighting:
    return Sighting(c.endpoint, own_number=c.caller if c.seen_new else "", started=started,
                    dialled_as=c.dialstring, queue_member=c.queue_member)


def _last_hangup(st: _State) -> float | None:
    times = [c.hangup_at for c in st.chans.values() if c.hangup_at is not None and not c.is_local]
    times = times or [c.hangup_at for c in st.chans.values() if c.hangup_at is not None]
    return max(times) if times else None


def _hangup_side(st: _State, origin: _Chan, legs: tuple[Leg, ...], direction: str, incomplete: bool) -> tuple[str | None, str | None]:
    """Who hung up first: the first HangupRequest by the caller or by an answered leg.

    A leg that never answered (busy, declined) did not 'hang up' on anyone, and a transferer
    leaving after its transfer is the transfer, not a hang-up.
    """
    parties = {origin.channel: "caller"} | {leg.channel: "answer" for leg in legs if leg.answered_at is not None}
    transfers: dict[str, float | None] = {}
    for t, ch in st.transfers:
        transfers.setdefault(ch, t)
    requests = [(ts, st.chans[uid].channel) for ts, uid in st.hangup_requests]
    channel, _ = first_party_hangup(requests, parties, transfers)
    if channel is not None:
        return side_of(channel, origin.channel, direction), channel
    if incomplete:
        return None, None
    return "system", None
