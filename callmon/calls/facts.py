"""What each source says about the channels of one call, before the sources are merged.

CEL knows each channel's birth, answer and hang-up to the microsecond, and who caused the
hang-up (``hangupsource``); it has no ring event, so a leg rings from its CHAN_START unless it was
refused at once (busy, unavailable). CDR knows legs and answers to the second, one record per dial
attempt. queue_log knows queue calls: ring time per member attempt, who answered, who completed.

CDR times are whole seconds, cut (not rounded) by cdr_csv, and ``duration``/``billsec`` are cut
differences of the precise times; comparing them with the cut times tells, for each record,
whether the start's (and the answer's) fraction of a second lies below or above the end's. The
times are then placed at the expected fraction given that order (three uniform fractions), which
halves the typical error of a ring time read from CDR alone; it stays below one second.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Iterable

from callmon.calls.decide import dial_targets, endpoint_of, is_voicemail_app
from callmon.sources.files.cdr import CdrRow
from callmon.sources.files.cel import CelRow
from callmon.sources.files.queue_log import QueueLogRow

log = logging.getLogger(__name__)

DISPOSITION_STATUS = {"ANSWERED": "ANSWER", "NO ANSWER": "NOANSWER", "BUSY": "BUSY", "FAILED": "CHANUNAVAIL",
                      "CONGESTION": "CONGESTION", "CANCEL": "CANCEL"}
REFUSED = frozenset({"BUSY", "CHANUNAVAIL", "CONGESTION"})
# Q.850 causes of a leg that never rang: busy, and the ways a destination cannot be reached
CAUSE_STATUS = {17: "BUSY", 1: "CHANUNAVAIL", 3: "CHANUNAVAIL", 20: "CHANUNAVAIL", 27: "CHANUNAVAIL",
                34: "CONGESTION", 38: "CHANUNAVAIL", 41: "CONGESTION", 42: "CONGESTION", 58: "CHANUNAVAIL"}
# expected fractions of (start, answer, end) given whether start/answer lie at or below the end's
_FRACTIONS = {(True, True): (0.375, 0.375, 0.75), (False, False): (0.625, 0.625, 0.25),
              (True, False): (0.25, 0.75, 0.5), (False, True): (0.75, 0.25, 0.5)}


@dataclass(slots=True)
class Chan:
    """One channel as the sources describe it (a builder, used only while assembling)."""

    channel: str
    uniqueid: str = ""
    linkedid: str = ""
    created_at: float | None = None
    answered: bool = False
    answered_at: float | None = None
    ended_at: float | None = None
    hangup_cause: int | None = None
    dial_status: str | None = None
    caller: str = ""
    exten: str = ""
    transferred_at: float | None = None
    never_rang: bool = False
    answer_is_party_a: bool = False  # CDR: the answer time is the caller's (answered before the dial)
    ring_unknown: bool = False  # CDR: the record began before this leg was dialled (a queue's first member)
    from_cel: bool = False
    party_a: bool = False  # CDR: the channel of some record (a caller, or a transferred leg)
    own_number: str = ""  # its caller ID when it was created (CEL CHAN_START; CDR: the caller's src)
    dialled_by: str = ""  # the channel that dialled it
    dialled_as: str = ""  # the number it was dialled with (a Dial() target, or the extension dialled)
    queue_member: bool = False  # a queue dialled it

    @property
    def ring_started_at(self) -> float | None:
        return None if self.never_rang or self.ring_unknown else self.created_at

    @property
    def ring_ended_at(self) -> float | None:
        if self.never_rang:
            return None
        return self.answered_at if self.answered_at is not None else self.ended_at


@dataclass(slots=True)
class Hangup:
    """A CEL HANGUP: when, which channel, and the channel ``hangupsource`` names ('' none)."""

    at: float
    channel: str
    source: str


class CallFacts:
    """Everything the sources say about one call (a plain class: one is made per call, and a
    dataclass with ten default factories costs five times more to make)."""

    __slots__ = ("chans", "hangups", "transferred", "transferers", "queue", "voicemail", "primary_status",
                 "cdr_rows", "queue_events", "sources", "dial_numbers")

    def __init__(self) -> None:
        self.chans: dict[str, Chan] = {}  # by channel name
        self.hangups: list[Hangup] = []
        self.transferred = False
        self.transferers: set[str] = set()  # channel names that handed the call on
        self.queue: str | None = None
        self.voicemail = False
        self.primary_status: str | None = None  # the caller's DIALSTATUS at its hang-up (CEL)
        self.cdr_rows: list[CdrRow] = []
        self.queue_events: list[QueueLogRow] = []
        self.sources: set[str] = set()
        self.dial_numbers: dict[str, str] = {}  # endpoint -> the number a Dial() gave it (CEL appdata)


def extra_of(row: CelRow) -> dict:
    if not row.extra:
        return {}
    try:
        data = json.loads(row.extra)
    except ValueError:
        log.debug("call %s: CEL %s extra is not JSON: %r", row.linkedid, row.eventtype, row.extra[:80])
        return {}
    return data if isinstance(data, dict) else {}


def add_cel(facts: CallFacts, rows: Iterable[CelRow]) -> None:
    """Channels, hang-ups, transfers and applications from the CEL events of a call."""
    names: dict[str, Chan] = {}
    for row in sorted(rows, key=lambda r: (r.eventtime, r.line)):
        facts.sources.add("cel")
        chan = names.get(row.uniqueid)
        if chan is None:
            chan = facts.chans.get(row.channame) or Chan(row.channame)
            chan.uniqueid, chan.linkedid, chan.from_cel = row.uniqueid, row.linkedid, True
            names[row.uniqueid] = facts.chans[row.channame] = chan
        kind, t = row.eventtype, row.eventtime
        if kind == "CHAN_START":
            chan.created_at, chan.caller, chan.exten = t, row.cid_num, row.exten
            chan.own_number = row.cid_num
        elif kind == "ANSWER":
            if not chan.answered:
                chan.answered, chan.answered_at = True, t
        elif kind == "HANGUP":
            extra = extra_of(row)
            chan.ended_at = t
            cause = extra.get("hangupcause")
            chan.hangup_cause = int(cause) if isinstance(cause, (int, str)) and str(cause).isdigit() else None
            if not chan.answered and chan.hangup_cause in CAUSE_STATUS:
                chan.never_rang, chan.dial_status = True, CAUSE_STATUS[chan.hangup_cause]
            if row.uniqueid == row.linkedid:
                facts.primary_status = extra.get("dialstatus") or None
            facts.hangups.append(Hangup(t, row.channame, str(extra.get("hangupsource") or "")))
        elif kind == "CHAN_END" and chan.ended_at is None:
            chan.ended_at = t
        elif kind in ("BLINDTRANSFER", "ATTENDEDTRANSFER"):
            facts.transferred = True
            chan.transferred_at = t
            facts.transferers.add(row.channame)
            second = extra_of(row).get("channel2_name")
            if kind == "ATTENDEDTRANSFER" and second:
                facts.transferers.add(str(second))
        if row.appname == "Queue" and row.appdata:
            facts.queue = row.appdata.split(",")[0]
        elif is_voicemail_app(row.appname):
            facts.voicemail = True
        elif row.appname == "Dial" and row.appdata:
            for endpoint, number in dial_targets(row.appdata):
                if number:
                    facts.dial_numbers.setdefault(endpoint, number)


def cdr_times(row: CdrRow) -> tuple[float, float | None, float]:
    """Best estimates of a record's start, answer and end (see the module docstring)."""
    below_s = row.duration == row.end - row.start
    consistent = below_s or row.duration == row.end - row.start - 1
    if row.answer is None:
        if not consistent:
            return row.start + 0.5, None, row.end + 0.5
        fs, fe = (1 / 3, 2 / 3) if below_s else (2 / 3, 1 / 3)
        return row.start + fs, None, row.end + fe
    below_a = row.billsec == row.end - row.answer
    if not consistent or not (below_a or row.billsec == row.end - row.answer - 1):
        return row.start + 0.5, row.answer + 0.5, row.end + 0.5
    fs, fa, fe = _FRACTIONS[(below_s, below_a)]
    return row.start + fs, row.answer + fa, row.end + fe


def add_cdr(facts: CallFacts, rows: Iterable[CdrRow]) -> None:
    """Channels from CDR records, filling only what CEL did not say."""
    rows = list(rows)
    if len(rows) > 1:
        rows.sort(key=_record_order)
    facts.cdr_rows.extend(rows)
    if rows:
        facts.sources.add("cdr")
    party_a_answered: set[str] = {r.channel for r in rows if r.answer is not None and r.disposition != "ANSWERED"}
    dialled_by: set[str] = set()  # party A channels whose first dial attempt was seen
    for row in rows:
        start, answer, end = cdr_times(row)
        a = _cdr_chan(facts, row.channel)
        a.party_a = True
        if a.created_at is None or (not a.from_cel and start < a.created_at):
            a.created_at = start
        if not a.from_cel:
            a.uniqueid = a.uniqueid or row.uniqueid
            a.linkedid = a.linkedid or row.linkedid
            a.caller, a.exten = a.caller or row.src, a.exten or row.dst
            a.ended_at = max(a.ended_at or end, end)
            if row.uniqueid and row.uniqueid == (row.linkedid or row.uniqueid):
                a.own_number = a.own_number or row.src  # the caller's number: its own caller ID
        if row.lastapp == "Queue" and row.lastdata:
            facts.queue = facts.queue or row.lastdata.split(",")[0]
        elif is_voicemail_app(row.lastapp):
            facts.voicemail = True
        if not row.dstchannel:
            continue
        b = _cdr_chan(facts, row.dstchannel)
        b.dialled_by = b.dialled_by or row.channel
        if row.lastapp == "Queue":
            b.queue_member = True
        elif row.lastapp == "Dial" and not b.dialled_as:
            targets = dial_targets(row.lastdata)
            mine = endpoint_of(row.dstchannel)
            b.dialled_as = next((n for e, n in targets if e == mine and n), "")
            if not b.dialled_as and len(targets) == 1:
                b.dialled_as = row.dst  # Dial(SIP/agent1) at extension 2001: dialled as 2001
        status = DISPOSITION_STATUS.get(row.disposition)
        b.dial_status = b.dial_status or status
        pre_answered = row.lastapp == "Queue" or row.channel in party_a_answered
        # a party A's first record began with the channel; later attempts are forked at the dial
        first_attempt = row.channel not in dialled_by
        dialled_by.add(row.channel)
        if b.from_cel:
            continue
        b.linkedid = b.linkedid or row.linkedid
        b.created_at = start if b.created_at is None else min(b.created_at, start)
        if first_attempt and pre_answered:
            b.ring_unknown = True
        b.ended_at = max(b.ended_at or end, end)
        if status in REFUSED and not b.answered:
            b.never_rang = True
        if row.disposition == "ANSWERED" and not b.answered:
            b.answered = True
            if pre_answered:
                b.answer_is_party_a = True
            else:
                b.answered_at = answer


def _record_order(r: CdrRow) -> tuple[float, int, int]:
    return r.start, r.sequence if r.sequence is not None else 0, r.line


def _cdr_chan(facts: CallFacts, name: str) -> Chan:
    chan = facts.chans.get(name)
    if chan is None:
        chan = facts.chans[name] = Chan(name)
    return chan


# queue_log times are cut to the second: +0.5 s is the unbiased estimate of the instant
_HALF = 0.5
_QUEUE_END = {"COMPLETEAGENT": ("agent", None), "COMPLETECALLER": ("customer", None),
              "ABANDON": ("customer", "abandoned"), "EXITWITHTIMEOUT": ("system", "no_answer"),
              "EXITEMPTY": ("system", "no_answer")}


@dataclass
class QueueSummary:
    """What queue_log says about one queue call."""

    queue: str | None = None
    entered_at: float | None = None
    caller: str = ""
    ring_starts: list[float] = field(default_factory=list)
    answered_at: float | None = None
    agent: str | None = None
    member_uniqueid: str | None = None
    hangup_by: str | None = None  # agent | customer | system
    outcome: str | None = None  # abandoned | no_answer, when the queue ended the wait
    transferred: bool = False


def _seconds(text: str, scale: float = 1.0) -> float | None:
    try:
        return float(text) / scale
    except ValueError:
        return None


def queue_summary(events: Iterable[QueueLogRow]) -> QueueSummary | None:
    """Interpret the queue_log events of one call (None if there are none)."""
    q = None
    for ev in sorted(events, key=lambda e: (e.time, e.line)):
        q = q or QueueSummary()
        t = ev.time + _HALF
        if ev.queuename and ev.queuename != "NONE":
            q.queue = q.queue or ev.queuename
        if ev.event == "ENTERQUEUE":
            q.entered_at, q.caller = q.entered_at or t, q.caller or ev.data2
        elif ev.event in ("RINGNOANSWER", "RINGCANCELED"):
            ms = _seconds(ev.data1, 1000.0)
            if ms is not None:
                q.ring_starts.append(t - ms)
        elif ev.event == "CONNECT" and q.answered_at is None:
            ring = _seconds(ev.data3)
            q.answered_at, q.agent, q.member_uniqueid = t, ev.agent, ev.data2 or None
            if ring is not None:  # whole seconds, cut: the ring lasted ring + 0.5 s on average
                q.ring_starts.append(t - ring - _HALF)
        elif ev.event in _QUEUE_END and q.hangup_by is None:
            q.hangup_by, q.outcome = _QUEUE_END[ev.event]
        elif ev.event in ("BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFER"):
            q.transferred = True
    return q
