"""AMI events -> call records.

The tracker groups events by Asterisk's ``Linkedid`` (merging groups that share a ``Uniqueid``, as
transfers and pickups do), keeps each group's events, and when every channel of the group has
hung up it assembles one :class:`~callmon.core.model.Call` from them with :func:`assemble`. It never
reads a clock or a socket: events in, calls out, so a capture file, a live listener and a test
all drive it the same way.

>>> from callmon.sources.ami.framing import read_capture
>>> from callmon.core.config import Config
>>> events, _ = read_capture("sample_cdr/a_direct_fast_caller_hangs_up/ami.raw")
>>> [(c.outcome, c.answered_by, c.hangup_by) for c in track_events(events, Config())]
[('answered', '2001', 'customer')]
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Iterable

from callmon.sources.ami.framing import AmiEvent
from callmon.calls.grouper import Group, Grouper
from callmon.calls.interpret import assemble
from callmon.calls.parties import Parties
from callmon.core.config import Config
from callmon.core.model import Call

log = logging.getLogger(__name__)

# events that carry no call state: never grouped, never kept by the tracker (the journal has them)
IGNORED = frozenset(
    {"VarSet", "Newexten", "DeviceStateChange", "QueueMemberStatus", "NewAccountCode", "DTMFBegin",
     "DTMFEnd", "RTCPSent", "RTCPReceived", "FullyBooted", "SuccessfulAuth", "ChallengeSent",
     "PeerStatus", "ContactStatus", "Registry", "VarSetGlobal"}
)
DONE_MEMORY = 20_000  # ids of finished calls remembered, so a late event makes no ghost call
# journaled by the listener, one per call in flight, when its connection dropped: the call ends
# there, incomplete, so a rebuild from the journal closes it exactly as the listener did
GAP_EVENT = "CallmonGap"
KEEP_NEWEXTEN_APPS = frozenset({"VoiceMail", "Queue", "Dial"})


LID = "lid:"  # a Linkedid's key in the grouper: kept apart from Uniqueids, as Asterisk keeps them


class _Channels:
    """A call's channels: those still up and those hung up (a group's ``state``)."""

    __slots__ = ("open", "closed", "hung_up")

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.closed: set[str] = set()
        self.hung_up = False


def _merge_channels(kept: Group, gone: Group) -> None:
    k, g = kept.state, gone.state
    k.open |= g.open
    k.hung_up |= g.hung_up
    # a channel the other group saw hang up stays down: an event about it is no reason to wait
    k.closed |= g.closed


def _ids_of(group: Group) -> tuple[list[str], list[str]]:
    """A group's Uniqueids and Linkedids."""
    uids, lids = [], []
    for k in group.keys:
        if k.startswith(LID):
            lids.append(k[len(LID):])
        else:
            uids.append(k)
    return uids, lids


def _event_time(event: AmiEvent) -> float:
    return event.timestamp or 0.0


def _id_kind(key: str) -> str:
    if key.endswith("Uniqueid") and not key.startswith("Bridge"):
        return "u"
    return "l" if key.endswith("Linkedid") else ""


_ID_KINDS: dict[str, str] = {}  # header name -> "u" | "l" | "": decided once per name


_ID_SUFFIXES = ("Uniqueid", "Linkedid")


def _ids(event: AmiEvent) -> tuple[list[str], list[str]]:
    """Every Uniqueid-like and Linkedid-like header of an event (Dest*, Transferer*, ...)."""
    uids, lids = [], []
    kinds = _ID_KINDS
    for k, v in event.headers_ending(_ID_SUFFIXES):
        kind = kinds.get(k)
        if kind is None:
            kind = kinds[k] = _id_kind(k)
        if kind and v:
            (uids if kind == "u" else lids).append(v)
    return uids, lids


class CallTracker:
    """Follows calls from a stream of AMI events.

    ``feed(event)`` returns the calls that event completed; ``flush()`` closes what is still open
    (end of a file, a lost connection) as ``incomplete``; ``active()`` shows calls in progress.
    ``parties`` decides staff or outside and, with ``learn``, keeps what each finished call showed.
    """

    def __init__(self, config: Config, pbx: str | None = None, *, parties: Parties | None = None, learn: bool = True):
        self.config = config
        self.pbx = pbx or config.pbx
        self.parties = parties if parties is not None else Parties(config)
        self.learn = learn
        # events by call: Uniqueids and (prefixed) Linkedids as keys; merged in time order
        self._calls: Grouper[AmiEvent] = Grouper(order=_event_time, on_merge=_merge_channels, new_state=_Channels)
        self.skipped = 0  # events without any channel id
        self.late = 0  # events about a call already finished
        self._done: OrderedDict[str, None] = OrderedDict()  # recently finished ids, bounded

    def feed(self, event: AmiEvent) -> list[Call]:
        name = event.name
        if name == GAP_EVENT:
            group = self._calls.get(LID + (event.linkedid or ""))
            return [c for c in [self._finish(group, incomplete=True)] if c is not None] if group else []
        if name in IGNORED and not (name == "Newexten" and event.get("Application") in KEEP_NEWEXTEN_APPS):
            return []
        uids, lids = _ids(event)
        if not uids and not lids:
            if "Transfer" in name:
                log.info("transfer event without channel ids skipped: %s", name)
            self.skipped += 1
            return []
        calls = self._calls
        done = self._done
        if any(i in done for i in uids) or any(i in done for i in lids):
            if not any(calls.get(i) is not None for i in uids):
                self.late += 1
                log.debug("event %s for a finished call %s dropped", name, event.linkedid)
                return []
        if lids:
            uids.extend([LID + i for i in lids])
        group = calls.place(uids)
        group.members.append(event)
        ch = group.state
        uid = event.uniqueid
        if name == "Hangup" and uid:
            ch.open.discard(uid)
            ch.closed.add(uid)
            ch.hung_up = True
        elif uid and uid not in ch.closed:
            # a channel we hear about is up until its Hangup
            ch.open.add(uid)
        if ch.hung_up and not ch.open:
            call = self._finish(group, incomplete=False)
            return [call] if call is not None else []  # None: it could not be assembled (logged)
        return []

    def flush(self) -> list[Call]:
        """Close every open call as incomplete (the stream ended before they did)."""
        return [c for g in self._calls.groups() if (c := self._finish(g, incomplete=True)) is not None]

    def open_linkedids(self) -> list[str]:
        """One Linkedid of each call in progress."""
        return [min(lids) for g in self._calls.groups() if (lids := _ids_of(g)[1])]

    def active_for(self, linkedids: set[str]) -> list[Call]:
        """Snapshots of the calls in progress among these linkedids."""
        groups = {id(g): g for lid in linkedids if (g := self._calls.get(LID + lid)) is not None}
        return [c for g in groups.values() if (c := self._assemble(g, incomplete=True)) is not None]

    def active(self) -> list[Call]:
        """Snapshots of the calls in progress (``incomplete`` set, nothing removed)."""
        return [c for g in self._calls.groups() if (c := self._assemble(g, incomplete=True)) is not None]

    # -- internals -------------------------------------------------------------------------
    def _finish(self, group: Group, *, incomplete: bool) -> Call | None:
        self._calls.remove(group)
        uids, lids = _ids_of(group)
        for i in uids + lids:
            self._done[i] = None
        while len(self._done) > DONE_MEMORY:
            self._done.popitem(last=False)
        return self._assemble(group, incomplete=incomplete, learn=self.learn and not incomplete)

    def _assemble(self, group: Group, *, incomplete: bool, learn: bool = False) -> Call | None:
        try:
            return assemble(group.members, self.config, self.pbx, incomplete=incomplete, parties=self.parties, learn=learn)
        except Exception:  # one broken call must not stop the stream
            log.exception("call %s: could not be assembled; skipped", sorted(_ids_of(group)[1])[:1])
            return None


def track_events(events: Iterable[AmiEvent], config: Config, pbx: str | None = None, *, flush: bool = True,
                 parties: Parties | None = None, learn: bool = True) -> list[Call]:
    """Every call in a finite stream of events (calls still open at the end come out incomplete)."""
    tracker = CallTracker(config, pbx, parties=parties, learn=learn)
    calls: list[Call] = []
    for event in events:
        calls.extend(tracker.feed(event))
    if flush:
        calls.extend(tracker.flush())
    return calls
