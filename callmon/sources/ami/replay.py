"""A recorded AMI capture as a live-looking timeline: pass after pass, rendered once as bytes.

Pure: no sockets and no clock reads; whoever drives the replay passes the time in. The AMI server
(:mod:`callmon.sources.ami.server`) is the transport on top of it.

Replaying a capture is not copying it. Pass ``n`` of a replay rewrites what makes an event belong
to one moment of one PBX, so that every pass looks like new calls on a live system:

- ``Timestamp`` (and ``EventTV``/``SessionTV``, queue members' ``LoginTime``/``LastCall``…) move
  by a whole number of seconds, the pass's shift. The microsecond part is kept as recorded, so
  the ``%.6f`` format survives and durations stay exact.
- every ``<epoch>.<seq>`` id in a header ending in ``Uniqueid`` or ``Linkedid`` (``DestUniqueid``,
  ``TransfererLinkedid``…) gets the same shift on its epoch, as Asterisk's epoch part is the
  channel's creation second, and ``n * id_stride`` added to its sequence number, where
  ``id_stride`` is one more than the largest sequence number in the capture. Asterisk's sequence is
  one counter for the whole process, so one capture never uses a number twice; with the stride,
  two passes can never share an id either, whatever the clock does.
- channel names' sequence suffix (``PJSIP/2001-00000007``) gets ``n * chan_stride`` the same way,
  wherever a channel name appears (``Channel``, ``DestChannel``, ``BRIDGEPEER`` values…).
- ``BridgeUniqueid`` (a UUID) becomes a UUID derived from the original and the pass.

>>> from callmon.sources.ami.framing import AmiEvent
>>> e = AmiEvent("Hangup", {"Event": "Hangup", "Timestamp": "100.5", "Channel": "PJSIP/2001-00000007",
...                         "Uniqueid": "100.7", "Linkedid": "100.6"})
>>> cap = Capture([e])
>>> print(bytes(cap.render(cap.shift(1, base=1000)).view(0, 1)).decode().replace(chr(13), "").strip())
Event: Hangup
Timestamp: 1102.5
Channel: PJSIP/2001-0000000f
Uniqueid: 1102.15
Linkedid: 1102.14
"""

from __future__ import annotations

import bisect
import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence, Union

from callmon.sources.ami.framing import AmiEvent

_ID = re.compile(r"(\d+)\.(\d+)")
_FRAME_END = re.compile(rb"\r\n\r\n")
_TIMESTAMP = re.compile(r"(\d+)(?:\.(\d+))?")
_TV = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(.*)")
# a channel name's 8-hex-digit sequence suffix: PJSIP/2001-00000007, Local/1000@ctx-0000000a;1
_CHANNEL = re.compile(r"(?<![\w/])([A-Za-z][\w]*/[^\s,&|]*?-)([0-9a-f]{8})(?![0-9A-Za-z])")
_BRIDGE_KEYS = ("BridgeUniqueid", "BridgeId")
_ID_KEYS = ("Uniqueid", "Linkedid")
_TV_KEYS = ("EventTV", "SessionTV")
_EPOCH_KEYS = ("LoginTime", "LastCall", "LastPause")  # queue members' whole-second times; 0 = never
_BRIDGE_NS = uuid.UUID("9b1f2c56-3a0e-4d7c-8f61-5d2b9a6c0e11")

# a slot is a piece of a header value that a pass rewrites
Slot = tuple
Part = Union[str, Slot]


def value_parts(key: str, value: str) -> list[Part]:
    """Split a header value into literal text and the slots a pass rewrites.

    >>> value_parts("Uniqueid", "1795376562.6")
    [('sec', 1795376562), '.', ('seq', 6)]
    >>> value_parts("Value", "PJSIP/2001-0000000a")
    ['PJSIP/2001-', ('ch', 10)]
    """
    key = key.split("#", 1)[0]
    if key == "Timestamp":
        m = _TIMESTAMP.fullmatch(value)
        if not m:
            return [value]
        return [("sec", int(m[1]))] + (["." + m[2]] if m[2] is not None else [])
    if key.endswith(_BRIDGE_KEYS):
        return [("br", value)] if value else [value]
    if key.endswith(_ID_KEYS):
        m = _ID.fullmatch(value)
        return [("sec", int(m[1])), ".", ("seq", int(m[2]))] if m else [value]
    if key in _EPOCH_KEYS:
        return [("sec", int(value))] if value.isdigit() and value != "0" else [value]
    if key in _TV_KEYS:
        return [("tv", value)] if _TV.fullmatch(value) else [value]
    if "/" not in value:
        return [value]
    parts: list[Part] = []
    pos = 0
    for m in _CHANNEL.finditer(value):
        parts.append(value[pos : m.end(1)])
        parts.append(("ch", int(m[2], 16)))
        pos = m.end()
    parts.append(value[pos:])
    return [p for p in parts if p != ""]


@dataclass(frozen=True)
class Shift:
    """How pass ``n`` rewrites slots: times and id epochs move by ``seconds``, sequences by strides."""

    n: int
    seconds: int
    id_stride: int
    chan_stride: int

    def render(self, slot: Slot) -> str:
        kind = slot[0]
        if kind == "sec":  # whole seconds of a time, or the epoch part of an id
            return str(slot[1] + self.seconds)
        if kind == "seq":  # the sequence part of an id
            return str(slot[1] + self.n * self.id_stride)
        if kind == "ch":
            return f"{slot[1] + self.n * self.chan_stride:08x}"
        if kind == "br":
            if self.n == 0 and self.seconds == 0:
                return slot[1]
            return str(uuid.uuid5(_BRIDGE_NS, f"{slot[1]}/{self.n}/{self.seconds}"))
        if kind == "tv":
            m = _TV.fullmatch(slot[1])
            moved = datetime.strptime(m[1], "%Y-%m-%dT%H:%M:%S") + timedelta(seconds=self.seconds)
            return moved.strftime("%Y-%m-%dT%H:%M:%S") + m[2]
        raise ValueError(f"unknown slot kind {kind!r}")

    def value(self, key: str, value: str) -> str:
        """One header value as this pass shows it."""
        return "".join(p if isinstance(p, str) else self.render(p) for p in value_parts(key, value))


class RenderedPass:
    """One pass's frames as one bytes object; ``view(i, j)`` is events ``i..j-1`` without a copy."""

    def __init__(self, blob: bytes):
        self.blob = blob
        # every frame ends with the only blank line in it
        self.ends = [0] + [m.end() for m in _FRAME_END.finditer(blob)]
        self._view = memoryview(blob)

    def view(self, i: int, j: int) -> memoryview:
        return self._view[self.ends[i] : self.ends[j]]


class Capture:
    """A capture prepared for replay: templates, times relative to the first event, strides.

    ``offsets[i]`` is event ``i``'s time in seconds after the first timestamped event (an event
    without ``Timestamp`` takes its predecessor's). ``period`` is the whole number of seconds
    between the starts of two passes: past the last event, with at least one second of quiet.
    """

    def __init__(self, events: Sequence[AmiEvent]):
        self.events = list(events)
        stamps = [e.timestamp for e in self.events]
        known = [t for t in stamps if t is not None]
        self.first_time: float | None = known[0] if known else None
        self.offsets: list[float] = []
        last = 0.0
        for t in stamps:
            if t is not None and self.first_time is not None:
                last = max(last, t - self.first_time)
            self.offsets.append(last)
        self.period = int(math.floor(last)) + 2
        self.classes = [_classes(e) for e in self.events]
        # the whole pass as literal bytes with slots between: a pass is one join of both
        literals, slots = _template(self.events)
        self._parts: list[bytes | None] = [None] * (2 * len(slots) + 1)
        self._parts[0::2] = [text.encode() for text in literals]
        self._slots = tuple(slots)
        self._distinct = set(self._slots)
        self.id_stride = 1 + max((s[1] for s in self._distinct if s[0] == "seq"), default=0)
        self.chan_stride = 1 + max((s[1] for s in self._distinct if s[0] == "ch"), default=0)

    def __len__(self) -> int:
        return len(self.events)

    def shift(self, n: int, base: int = 0) -> Shift:
        """Pass ``n`` of a replay whose first pass is moved by ``base`` seconds."""
        return Shift(n, base + n * self.period, self.id_stride, self.chan_stride)

    def render(self, shift: Shift) -> RenderedPass:
        values = {s: shift.render(s).encode() for s in self._distinct}
        parts = self._parts.copy()
        parts[1::2] = map(values.__getitem__, self._slots)
        return RenderedPass(b"".join(parts))

    def offset_index(self, seconds: float) -> int:
        """How many events of a pass are at or before ``seconds`` into it."""
        return bisect.bisect_right(self.offsets, seconds)


def _template(events: Sequence[AmiEvent]) -> tuple[list[str], list[Slot]]:
    """The frames as literal texts and the slots between them: ``len(literals) == len(slots) + 1``."""
    literals: list[str] = []
    slots: list[Slot] = []
    text: list[str] = []
    for event in events:
        for key, value in event.headers.items():
            text.append(key.split("#", 1)[0] + ": ")
            for part in value_parts(key, value):
                if isinstance(part, str):
                    text.append(part)
                else:
                    literals.append("".join(text))
                    slots.append(part)
                    text = []
            text.append("\r\n")
        text.append("\r\n")
    literals.append("".join(text))
    return literals, slots


def _classes(event: AmiEvent) -> frozenset[str]:
    """The event's classes from ``Privilege: call,all`` (``all`` is not a class of its own)."""
    priv = event.get("Privilege")
    if priv is None:
        return frozenset()
    return frozenset(p.strip().lower() for p in priv.split(",") if p.strip() and p.strip().lower() != "all")


# --- channels alive at a point of a pass, for CoreShowChannels --------------------------------

SNAPSHOT = (
    "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName", "ConnectedLineNum",
    "ConnectedLineName", "Language", "AccountCode", "Context", "Exten", "Priority", "Uniqueid", "Linkedid",
)  # fmt: skip
_SNAPSHOT_PREFIXES = ("", "Dest", "Transferer", "Transferee", "Source", "Target")


@dataclass
class _Channel:
    headers: dict[str, str]
    created: float
    bridge: str = ""
    application: str = ""
    data: str = ""


def live_channels(capture: Capture, upto: int, now: float, shift: Shift) -> list[dict[str, str]]:
    """``CoreShowChannel`` headers for the channels up after events ``0..upto-1`` of a pass.

    ``now`` is the pass's time in seconds (as ``Capture.offsets``), for ``Duration``. Channels are
    built from each event's channel snapshot (``Channel``, ``ChannelState``…, also under
    ``Dest``/``Transferer``… prefixes), ``Newexten`` (application) and ``BridgeEnter``/``Leave``.
    """
    chans: dict[str, _Channel] = {}
    for event, offset in zip(capture.events[:upto], capture.offsets[:upto]):
        h = event.headers
        uid = h.get("Uniqueid")
        if event.name == "Newchannel" and uid:
            chans[uid] = _Channel({}, offset)
        elif event.name == "Hangup":
            chans.pop(uid, None)
            continue
        for prefix in _SNAPSHOT_PREFIXES:
            chan = chans.get(h.get(prefix + "Uniqueid", ""))
            if chan is not None:
                chan.headers.update((k, h[prefix + k]) for k in SNAPSHOT if prefix + k in h)
        chan = chans.get(uid or "")
        if chan is None:
            continue
        if event.name == "Newexten":
            chan.application, chan.data = h.get("Application", ""), h.get("AppData", "")
        elif event.name == "BridgeEnter":
            chan.bridge = h.get("BridgeUniqueid", "")
        elif event.name == "BridgeLeave":
            chan.bridge = ""
    out = []
    for chan in chans.values():
        row = {k: shift.value(k, chan.headers.get(k, "")) for k in SNAPSHOT}
        secs = max(0, int(now - chan.created))
        row["BridgeId"] = shift.value("BridgeId", chan.bridge)
        row["Application"] = chan.application
        row["ApplicationData"] = shift.value("ApplicationData", chan.data)
        row["Duration"] = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        out.append(row)
    return out


# --- the timeline a server plays ---------------------------------------------------------------


class Timeline:
    """The one replay a server plays; every connection observes it, as clients observe one PBX.

    Events are numbered across passes: event ``g`` is event ``g % len(capture)`` of pass
    ``g // len(capture)`` (without ``loop`` there is one pass). Times are monotonic seconds, given.

    - At ``speed > 0`` the timeline runs on the clock from :meth:`start`: event ``i`` of pass ``n``
      happens at ``start + (n * period + offsets[i]) / speed`` whether or not anyone listens. A
      connection sees what happens while it is logged in; what happened while it was away is lost
      to it, as on a real Asterisk, which never replays missed events.
    - At ``speed == 0`` (as fast as possible) there is no clock to follow: the timeline is as far
      as the fastest connection has read (:meth:`advance`), and a connection that logs in (or back
      in, after a drop) starts there. With nobody reading it stands still, so a lone client that
      reconnects continues where it was cut; events are lost only if another client read on.

    The first pass is moved by whole seconds so that its first event is "now" (within half a
    second) unless ``shift_times`` is false, in which case pass 0 is the capture byte for byte.
    """

    def __init__(self, capture: Capture, *, speed: float = 1.0, loop: bool = False, shift_times: bool = True,
                 cache_passes: int = 4):  # fmt: skip
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.capture = capture
        self.speed = speed
        self.loop = loop and len(capture) > 0
        self.shift_times = shift_times
        self.started_at: float | None = None
        self.base = 0
        self.lead = 0
        self._cache: dict[int, RenderedPass] = {}
        self._cache_passes = cache_passes

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def total(self) -> int | None:
        """Number of events in the whole replay; None when it loops forever."""
        return None if self.loop else len(self.capture)

    def start(self, mono: float, wall: float) -> None:
        """Start the clock (monotonic ``mono``) and move the first pass to the wall time ``wall``."""
        if self.started_at is not None:
            return
        self.started_at = mono
        if self.shift_times and self.capture.first_time is not None:
            self.base = round(wall - self.capture.first_time)

    def position(self, mono: float) -> int:
        """The number of the first event that has not happened yet at ``mono``."""
        if self.started_at is None:
            return 0
        if self.speed == 0:
            return self.lead
        n_events = len(self.capture)
        elapsed = (mono - self.started_at) * self.speed
        n = int(elapsed // self.capture.period)
        if not self.loop and n >= 1:
            return n_events
        return n * n_events + self.capture.offset_index(elapsed - n * self.capture.period)

    def due(self, g: int) -> float:
        """When event ``g`` happens (monotonic seconds); speed 0: at once."""
        assert self.started_at is not None
        if self.speed == 0:
            return self.started_at
        n, i = divmod(g, len(self.capture))
        return self.started_at + (n * self.capture.period + self.capture.offsets[i]) / self.speed

    def advance(self, g: int) -> None:
        """A connection has read up to ``g``: at speed 0 the timeline is at least that far."""
        self.lead = max(self.lead, g)

    def shift(self, n: int) -> Shift:
        return self.capture.shift(n, base=self.base)

    def views(self, g: int, end: int) -> list[memoryview]:
        """The frames of events ``g..end-1`` as zero-copy slices (one per pass touched)."""
        n_events = len(self.capture)
        out = []
        while g < end:
            n, i = divmod(g, n_events)
            j = min(end - n * n_events, n_events)
            out.append(self._rendered(n).view(i, j))
            g = n * n_events + j
        return out

    def channels(self, g: int, mono: float) -> list[dict[str, str]]:
        """``CoreShowChannel`` rows for a client that has seen events up to ``g``."""
        if g == 0 or not len(self.capture):
            return []
        n, i = divmod(g - 1, len(self.capture))
        now = self.capture.offsets[i]
        if self.speed > 0 and self.started_at is not None:
            now = max(now, (mono - self.started_at) * self.speed - n * self.capture.period)
        return live_channels(self.capture, i + 1, now, self.shift(n))

    def _rendered(self, n: int) -> RenderedPass:
        rendered = self._cache.get(n)
        if rendered is None:
            rendered = self._cache[n] = self.capture.render(self.shift(n))
            while len(self._cache) > self._cache_passes:
                del self._cache[min(self._cache)]
        return rendered
