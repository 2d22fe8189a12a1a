"""The definitions of a call, once: who started it, which legs count, whether it was answered and by
whom, who hung up first, and its outcome.

The AMI handlers (:mod:`callmon.calls.interpret`) and the file readers (:mod:`callmon.calls.facts`,
:mod:`callmon.calls.build`) each reduce what they saw to the same per-channel facts (a
:class:`~callmon.core.model.Leg` per channel, the staff/outside class from
:mod:`callmon.calls.parties`, the ordered hang-up evidence) and call these functions; the
columnar fast path (:mod:`callmon.calls.columnar`) evaluates the same functions over columns and
is checked against the builder.

- A Local channel is plumbing, never a party. When the call began on one (an AMI ``Originate``
  of ``Local/2001@click-to-call``), the call's caller is the first real channel the Local pair
  reached (the staff phone the originate rang first): :func:`origin_of`.
- The legs that count are the staff legs, or on an outbound call the outside legs. A call is
  answered when one of them answered; an inbound call that no staff phone answered but that was
  forwarded to an outside number (follow-me, forward on no answer) which answered was served:
  answered, by that number (:func:`first_answer`).
- The dialled number is the number the caller dialled (``s``, Asterisk's extension for a call
  without a DID, is none: ``""``) or, on an outbound call, the number the outside leg was dialled
  with (:func:`called_of`).
- Who hung up first: the first hang-up caused by a party, i.e. the caller's channel or an
  answered leg that did not hand the call on by a transfer (:func:`first_party_hangup`).
"""

from __future__ import annotations

from typing import Iterable, Sequence

from callmon.core.model import SIDES, Leg

REFUSALS = frozenset({"BUSY", "CHANUNAVAIL", "CONGESTION"})
NO_DID = "s"  # the extension Asterisk runs for a call that came without a number


def endpoint_of(channel: str) -> str:
    """``PJSIP/2001-00000007`` -> ``2001``; ``Local/259@default-0000;1`` -> ``Local/259@default``.

    >>> endpoint_of("PJSIP/pstn-out-0000000d"), endpoint_of("SIP/ddddd")
    ('pstn-out', 'ddddd')
    """
    tech, _, rest = channel.partition("/")
    if not rest:
        return channel
    if tech == "Local":
        return "Local/" + rest.split("-", 1)[0].split(";", 1)[0]
    base, dash, seq = rest.rpartition("-")
    return base if dash and seq and all(c in "0123456789abcdef" for c in seq.lower()) else rest


def is_local(channel: str) -> bool:
    """A Local channel (``Local/2001@click-to-call-0000;1``): plumbing between two dialplan
    locations, never a party."""
    return channel.startswith("Local/")


def local_pair(channel: str) -> str:
    """The other half of a Local channel (``...;1`` <-> ``...;2``); '' for any other channel."""
    if not is_local(channel) or len(channel) < 2 or channel[-2] != ";":
        return ""
    return channel[:-1] + ("2" if channel[-1] == "1" else "1")


def dial_targets(data: str) -> list[tuple[str, str]]:
    """``(endpoint, number)`` of each target of a ``Dial()`` argument (number '' when the target
    is the endpoint itself).

    >>> dial_targets("PJSIP/01055551234@pstn-out,60,T")
    [('pstn-out', '01055551234')]
    >>> dial_targets("SIP/agent1&PJSIP/2002,40"), dial_targets("SIP/carrier/0101234")
    ([('agent1', ''), ('2002', '')], [('carrier', '0101234')])
    """
    out = []
    for target in data.split(",", 1)[0].split("&"):
        tech, _, res = target.strip().partition("/")
        if not res or tech == "Local":
            continue
        if "/" in res:
            endpoint, number = res.split("/", 1)
        elif "@" in res:
            number, endpoint = res.split("@", 1)
        else:
            endpoint, number = res, ""
        out.append((endpoint, number))
    return out


def origin_of(primary: str, channels: Sequence[str], dialled_by: dict[str, str]) -> str:
    """The channel that stands for the caller: the primary channel, unless it is a Local channel
    (an originate); then the first real channel its pair's other half dialled, else the first real
    channel of the call ('' when there is none). ``channels`` are in order of creation."""
    if not is_local(primary):
        return primary
    other = local_pair(primary)
    real = [c for c in channels if not is_local(c)]
    return next((c for c in real if dialled_by.get(c) == other), real[0] if real else "")


def called_of(exten: str, direction: str, outside_numbers: Sequence[str]) -> str:
    """The number the caller dialled: the caller's extension, none for ``s``; on an outbound call
    the number the (first answered, else first) outside leg was dialled with, when known."""
    if direction == "outbound" and outside_numbers and outside_numbers[0]:
        return outside_numbers[0]
    return "" if exten == NO_DID else exten


def first_answer(legs: Sequence[Leg], direction: str, answered: Iterable[Leg] | None = None) -> Leg | None:
    """The leg whose answer connected the caller: the first answered leg of the wanted party
    (staff; outbound: outside); an inbound or internal call answered by no phone but by an
    outside leg (forwarded) is answered there. ``answered``: the answered legs (default: those with
    an answer time), in order of answer."""
    done = [leg for leg in legs if leg.answered_at is not None] if answered is None else list(answered)
    wanted = "outside" if direction == "outbound" else "staff"
    for leg in done:
        if leg.party == wanted:
            return leg
    if direction != "outbound":
        return next((leg for leg in done if leg.party == "outside"), None)
    return None


def answered_by_of(answer: Leg, direction: str, called: str, number: str, extension: str | None) -> str:
    """Who answered, as DESIGN.md's ``answered_by`` says it: a staff phone's extension (a named
    phone's when the PBX told it, else its endpoint); on an outbound call the number called; a
    forward to outside, the number it was dialled with (else its endpoint)."""
    if answer.party == "staff":
        return extension or answer.endpoint
    if direction == "outbound":
        return called or number or answer.endpoint
    return number or answer.endpoint


def ring_legs(legs: Sequence[Leg], direction: str, answer: Leg | None) -> list[Leg]:
    """The legs whose ringing counts: staff legs (outbound: outside); a call answered on a
    forward to outside that no staff phone rang for counts the forward's ringing."""
    wanted = "outside" if direction == "outbound" else "staff"
    mine = [leg for leg in legs if leg.party == wanted]
    if answer is not None and answer.party != wanted and not any(leg.ring_started_at is not None for leg in mine):
        return [answer]
    return mine


def first_party_hangup(requests: Iterable[tuple[float | None, str]], parties: dict[str, str],
                       transfers: dict[str, float | None]) -> tuple[str | None, bool]:
    """``(channel, seen)``: the first hang-up request (``(time, channel)`` in order) made by a
    party, i.e. a channel of ``parties``, skipping a transferer's leaving at or after its transfer
    (``transfers``: channel -> transfer time, None: any time); ``seen`` says some hang-up was
    caused at all (by no party: the system ended the call)."""
    seen = False
    for ts, channel in requests:
        if not channel:
            continue
        seen = True
        if channel not in parties:
            continue
        if channel in transfers:
            t = transfers[channel]
            if t is None or ts is None or ts >= t:
                continue
        return channel, True
    return None, seen


def side_of(channel: str | None, origin: str, direction: str) -> str | None:
    """``hangup_by`` of a party channel: the caller's side or the answering side."""
    if channel is None:
        return None
    caller_side, answer_side = SIDES[direction]
    return caller_side if channel == origin else answer_side


def refusal_of(statuses: Iterable[str | None]) -> str | None:
    """BUSY / CHANUNAVAIL / CONGESTION when every dial attempt that did not answer was refused
    (busy wins), else None: the destination refused the call.

    >>> refusal_of(["BUSY", "CHANUNAVAIL"]), refusal_of(["BUSY", "NOANSWER"])
    ('BUSY', None)
    """
    tried = [s for s in statuses if s and s != "ANSWER"]
    if not tried or not all(s in REFUSALS for s in tried):
        return None
    return "BUSY" if "BUSY" in tried else tried[-1]


def outcome_of(answered: bool, voicemail: bool, refusal: str | None, direction: str, hangup_by: str | None,
               *, queue_outcome: str | None = None, queue_abandoned: bool = False, no_legs: bool = False) -> str:
    """The call's outcome, the one definition.

    answered > voicemail > refused (busy; unavailable/congestion: failed) > an inbound caller who
    gave up (abandoned) > no_answer. ``queue_outcome``: what queue_log says of the wait when no
    finer source does; ``no_legs``: nothing was dialled at all (failed).

    >>> outcome_of(False, False, None, "inbound", "customer"), outcome_of(False, False, "BUSY", "inbound", "system")
    ('abandoned', 'busy')
    """
    if answered:
        return "answered"
    if voicemail:
        return "voicemail"
    if refusal == "BUSY":
        return "busy"
    if refusal in ("CHANUNAVAIL", "CONGESTION"):
        return "failed"
    if direction != "inbound":
        return "failed" if no_legs else "no_answer"
    if queue_outcome is not None:
        return queue_outcome
    if hangup_by == "customer" or queue_abandoned:
        return "abandoned"
    return "failed" if no_legs else "no_answer"


def is_voicemail_app(app: str | None) -> bool:
    """Asterisk's application names are case-insensitive: ``VoiceMail``, ``voicemail``, ``Voicemail``."""
    return bool(app) and app.lower() == "voicemail"
