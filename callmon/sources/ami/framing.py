"""AMI byte stream -> frames -> events.

An AMI stream is a banner line (``Asterisk Call Manager/12.0.0``) followed by frames: ``Key: Value``
lines ended by ``\\r\\n`` and separated by an empty line. Real streams also carry responses to our
own actions, and recorded transcripts from elsewhere use bare ``\\n``. :class:`FrameReader` takes
bytes in any chunking and yields complete frames; nothing it meets makes it raise.

>>> r = FrameReader()
>>> [e.name for e in r.feed(b"Asterisk Call Manager/12.0.0\\r\\nEvent: Hangup\\r\\nUniqueid: 1.1\\r\\n\\r\\n")]
['Hangup']
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

log = logging.getLogger(__name__)

BANNER_PREFIX = "Asterisk Call Manager/"


class AmiEvent:
    """One AMI event as Asterisk sent it: its name and its headers, in order.

    A header that occurs more than once (``ChanVariable``) keeps its first value under its own
    name; the later ones are kept as ``Name#2``, ``Name#3``… so nothing is lost.

    An event read off the wire keeps its frame's text (:attr:`text`) and parses its headers only
    when asked: most of a PBX's events (``VarSet``, ``Newexten``…) are journaled and never looked
    into, and the few values the journal's columns need (:meth:`get`) are found in the text.

    >>> e = AmiEvent.from_text("Event: Hangup\\nUniqueid: 1.1\\nLinkedid: 1.0")
    >>> e.name, e.get("Linkedid"), e.headers["Uniqueid"]
    ('Hangup', '1.0', '1.1')
    """

    # the values the listener reads of every event (journal columns, tracker) are found in the
    # text once each and kept: False means not looked up yet
    __slots__ = ("name", "_headers", "_text", "_timestamp", "_ts_text", "_uniqueid", "_call_linkedid")

    def __init__(self, name: str, headers: dict[str, str] | None = None, *, text: str | None = None):
        if headers is None and text is None:
            raise ValueError("an AmiEvent needs its headers or its text")
        self.name = name
        self._headers = headers
        self._text = text
        self._timestamp: float | None | bool = False  # False: not computed yet
        self._ts_text: str | None = None  # the Timestamp header as written, once _timestamp is known
        self._uniqueid: str | None | bool = False
        self._call_linkedid: str | None | bool = False

    @classmethod
    def from_text(cls, text: str) -> AmiEvent:
        """The event of one frame's text (``\\n`` or ``\\r\\n`` line ends); its name from its
        ``Event`` header ("" when it has none)."""
        text = text.replace("\r\n", "\n").strip("\n")
        if _CANONICAL.fullmatch(text):
            return cls(_field(text, "Event") or "", text=text)
        headers, _ = parse_frame(text)
        return cls(headers.get("Event", ""), headers)

    @property
    def headers(self) -> dict[str, str]:
        h = self._headers
        if h is None:  # the text is canonical (see _CANONICAL): a simpler pattern reads it
            h = self._headers = _headers(_CANONICAL_HEADER.findall(self._text))
        return h

    @property
    def text(self) -> str:
        """The frame in the one form the journal keeps and the dedupe key hashes: ``Key: value``
        lines joined by ``\\n``, in order. A frame that arrived in that form is kept as it came
        (nothing is parsed); any other is written out again from its parsed headers."""
        t = self._text
        if t is None:
            t = self._text = render_headers(self._headers)
        return t

    def get(self, key: str, default: str | None = None) -> str | None:
        h = self._headers
        if h is not None:
            return h.get(key, default)
        if "#" not in key:
            value = _field(self._text, key)
            return default if value is None else value
        return self.headers.get(key, default)

    def headers_ending(self, suffixes: tuple[str, ...]) -> list[tuple[str, str]]:
        """The headers whose names end with one of ``suffixes``, as ``(name, value)`` in their
        order: what ``[(k, v) for k, v in e.headers.items() if k.endswith(suffixes)]`` gives,
        found in the text of an unparsed event without parsing its every header (the tracker
        asks each event for its ids).

        >>> AmiEvent.from_text("Event: DialBegin\\nUniqueid: 1.1\\nDestUniqueid: 1.2\\nUniqueid: 9").headers_ending(
        ...     ("Uniqueid",))
        [('Uniqueid', '1.1'), ('DestUniqueid', '1.2')]
        """
        h = self._headers
        if h is not None:
            return [(k, v) for k, v in h.items() if k.endswith(suffixes)]
        text = self._text
        tail = _common_tail(suffixes)  # ("Uniqueid", "Linkedid") -> "id": one scan, in order
        mark = tail + ": "
        n = len(tail)
        found: dict[str, str] = {}
        i = text.find(mark)
        while i >= 0:
            end = i + n  # where the name ends if this is its line's ": "
            start = text.rfind("\n", 0, i) + 1
            # a name holds no colon: this is the line's first; a repeated header keeps its
            # first value under its name (see the class)
            if text.find(":", start) == end:
                name = text[start:end]
                if name.endswith(suffixes) and name not in found:
                    j = text.find("\n", end)
                    found[name] = text[end + 2:] if j < 0 else text[end + 2:j]
            i = text.find(mark, end + 2)
        return list(found.items())

    @property
    def timestamp(self) -> float | None:
        """Unix time from the ``Timestamp`` header (``timestampevents = yes``), or None."""
        ts = self._timestamp
        if ts is False:
            raw = self._ts_text = self.get("Timestamp")
            ts = self._timestamp = _seconds(raw)
        return ts

    @property
    def uniqueid(self) -> str | None:
        uid = self._uniqueid
        if uid is False:
            uid = self._uniqueid = self.get("Uniqueid") or None
        return uid

    @property
    def linkedid(self) -> str | None:
        return self.get("Linkedid") or None

    @property
    def call_linkedid(self) -> str | None:
        """The Linkedid this event belongs to, also for events that only name prefixed ids
        (``TransfererLinkedid`` of a BlindTransfer)."""
        lid = self._call_linkedid
        if lid is False:
            lid = self.get("Linkedid") or None
            if lid is None and (self._headers is not None or "Linkedid:" in self._text):
                lid = next((v for k, v in self.headers.items() if v and k.endswith("Linkedid")), None)
            self._call_linkedid = lid
        return lid

    @property
    def key(self) -> str:
        """A natural dedupe key: the same event seen twice (re-ingest, replay) has the same key."""
        if self._timestamp is False:
            self.timestamp  # noqa: B018 - reads the Timestamp header once for both
        return event_key(self.text, self._ts_text)

    def journal_fields(self) -> tuple[str, float | None, str | None, str | None, str]:
        """``(key, timestamp, call_linkedid, uniqueid, text)``: what the journal keeps of every
        event (:attr:`key`, :attr:`timestamp`...), read off an unparsed event's text at once.

        >>> AmiEvent.from_text("Event: Hangup\\nTimestamp: 5.25\\nUniqueid: 1.1\\nLinkedid: 1.0").journal_fields()[1:4]
        (5.25, '1.0', '1.1')
        """
        text = self._text
        if self._headers is not None or text is None:
            return self.key, self.timestamp, self.call_linkedid, self.uniqueid, self.text
        ts = self._timestamp
        if ts is False:
            raw = self._ts_text = _field(text, "Timestamp")
            ts = self._timestamp = _seconds(raw)
        uid = self._uniqueid
        if uid is False:
            uid = self._uniqueid = _field(text, "Uniqueid") or None
        lid = self._call_linkedid
        if lid is False:
            lid = self.call_linkedid
        return event_key(text, self._ts_text), ts, lid, uid, text

    def to_text(self) -> str:
        """The event as an AMI frame (``\\r\\n`` line ends, blank line after)."""
        return self.text.replace("\n", "\r\n") + "\r\n\r\n"

    def __repr__(self) -> str:
        return f"AmiEvent({self.name!r}, {self.headers!r})"


def render_headers(headers: dict[str, str]) -> str:
    """Headers as frame text, ``\\n`` line ends (a repeated header's ``#n`` suffix dropped).

    >>> render_headers({"Event": "VarSet", "ChanVariable": "a=1", "ChanVariable#2": "b=2"})
    'Event: VarSet\\nChanVariable: a=1\\nChanVariable: b=2'
    """
    return "\n".join([f"{k.split('#', 1)[0]}: {v}" for k, v in headers.items()])


def event_key(text: str, timestamp: str | None = None) -> str:
    """The journal's dedupe key of an event: SHA-1 of its journal text (:attr:`AmiEvent.text`),
    so identical events share a key and any difference splits them, after the event's
    ``Timestamp`` when it has a plain one. Keys then grow with time as a stream arrives and the
    journal's unique index takes each new key near the last one (a hash alone would land all
    over an index far bigger than the cache).

    >>> event_key("Event: Hangup\\nTimestamp: 1700000000.000001", "1700000000.000001")[:22]
    '1700000000.000001-d5ff'
    """
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
    if timestamp and len(timestamp) <= 20 and timestamp.isascii() and timestamp.replace(".", "", 1).isdigit():
        return f"{timestamp}-{digest}"
    return digest


@functools.cache
def _common_tail(suffixes: tuple[str, ...]) -> str:
    """The longest end the suffixes share ("" when none)."""
    return os.path.commonprefix([s[::-1] for s in suffixes])[::-1]


def _seconds(raw: str | None) -> float | None:
    """A ``Timestamp`` header's value as a number (None: none, or not a number)."""
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _field(text: str, key: str) -> str | None:
    """The first value of header ``key`` in a canonical frame text, as :func:`parse_frame` reads
    it (every line of such a text is ``Key: value``, the one space included: see _CANONICAL)."""
    if text.startswith(key) and text.startswith(": ", len(key)):
        i = len(key) + 2
    else:
        i = text.find(f"\n{key}: ")
        if i < 0:
            return None
        i += len(key) + 3
    j = text.find("\n", i)
    return text[i:] if j < 0 else text[i:j]


# a frame in the form Asterisk writes: every line "Key: value", one space, no "#" in a key (it
# marks a repeated header once parsed), no stray CR; such a text is its own journal form
_CANONICAL = re.compile(r'[!"$-9;-~]+: [^\r\n]*(?:\n[!"$-9;-~]+: [^\r\n]*)*')
_CANONICAL_HEADER = re.compile(r"^([^:\n]+): (.*)$", re.M)
# a line (after a line end) that is neither such a header line nor empty: where a stretch of
# frames stops being canonical (with a stray CR, which the reader checks for apart)
_OTHER_LINE = re.compile(r'\n(?![!"$-9;-~]++: |\n)')


@dataclass
class FrameStats:
    """What a reader met: counted, so an ingest can report what it could not use."""

    events: int = 0
    responses: int = 0
    actions: int = 0
    malformed: int = 0
    junk_lines: int = 0
    truncated: int = 0
    problems: list[str] = field(default_factory=list)

    MAX_PROBLEMS = 50

    def problem(self, message: str) -> None:
        if len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append(message)


def parse_frame(text: str) -> tuple[dict[str, str], int]:
    """Parse one frame's text into headers; return them and the number of lines that were junk.

    >>> parse_frame("Event: Newstate\\nChannel: PJSIP/2001-00000001\\nChannelState: 5")
    ({'Event': 'Newstate', 'Channel': 'PJSIP/2001-00000001', 'ChannelState': '5'}, 0)
    """
    pairs = _HEADER.findall(text)
    junk = 0
    if len(pairs) != text.count("\n") + 1:  # some line is not a header (or is empty)
        junk = sum(1 for line in text.split("\n") if line.strip("\r")) - len(pairs)
    return _headers(pairs), junk


def _headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    headers = dict(pairs)
    if len(headers) != len(pairs):  # a repeated header (ChanVariable): keep every value
        headers = {}
        for key, value in pairs:
            if key in headers:
                n = 2
                while f"{key}#{n}" in headers:
                    n += 1
                key = f"{key}#{n}"
            headers[key] = value
    return headers


# "Key: value" (one optional space after the colon); a key is printable ASCII without space or colon
_HEADER = re.compile(r"^([!-9;-~]+):[ ]?([^\r\n]*)\r*$", re.M)


class FrameReader:
    """Incremental reader: ``feed`` bytes in any chunking, get complete events back.

    Responses and echoed actions are counted and skipped; a frame that is neither an event, a
    response nor an action is counted as malformed and skipped (with a log line giving its byte
    offset). ``close()`` reports a cut-off last frame.
    """

    def __init__(self, source: str = "<stream>", *, keep_responses: bool = False):
        self.source = source
        self.stats = FrameStats()
        self.keep_responses = keep_responses
        self.responses: list[dict[str, str]] = []  # with keep_responses: for a client's waiters
        self._buf = ""
        self._pending_cr = False
        self._offset = 0  # characters consumed, for error messages
        self._seen_banner = False

    def feed(self, data: bytes) -> list[AmiEvent]:
        text = data.decode("utf-8", "replace")
        if self._pending_cr:
            text = "\r" + text
            self._pending_cr = False
        if text.endswith("\r"):
            self._pending_cr = True
            text = text[:-1]
        self._buf += text.replace("\r\n", "\n")
        events: list[AmiEvent] = []
        if not self._seen_banner:
            if "\n" not in self._buf:
                return events
            self._seen_banner = True
            first, _, rest = self._buf.partition("\n")
            if first.startswith(BANNER_PREFIX):
                self._offset += len(first) + 1
                self._buf = rest
        buf = self._buf
        end = buf.rfind("\n\n")
        # one look at the lines of every complete frame at once: when each is a header line or
        # empty and no stray CR is left, a frame is canonical as soon as its first line is a
        # header (see _frame); one C-level scan of the chunk instead of a regex run per frame
        lines_ok = end > 0 and buf.find("\r", 0, end) < 0 and _OTHER_LINE.search(buf, 0, end) is None
        *frames, self._buf = buf.split("\n\n")
        for frame in frames:
            event = self._frame(frame, lines_ok)
            self._offset += len(frame) + 2
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[AmiEvent]:
        """End of stream: a frame without its closing blank line is reported, not guessed."""
        rest = self._buf.strip("\n")
        self._buf = ""
        if rest:
            self.stats.truncated += 1
            msg = f"{self.source}: offset {self._offset}: cut-off last frame ({len(rest)} chars) skipped"
            self.stats.problem(msg)
            log.warning("%s", msg)
        return []

    def _frame(self, frame: str, lines_ok: bool) -> AmiEvent | None:
        """``lines_ok``: every line of the frame after its first is known to be a header line
        (``Key: value``, no CR), so it is canonical when its first line is one too."""
        frame = frame.strip("\n")
        if not frame:
            return None
        # as Asterisk writes it (the chunk's lines checked already, else the whole frame): parse nothing yet
        if (lines_ok and frame.startswith("Event: ")) or _CANONICAL.fullmatch(frame):
            name = _field(frame, "Event")
            if name:
                self.stats.events += 1
                return AmiEvent(name, text=frame)
        headers, junk = parse_frame(frame)
        if junk:
            self.stats.junk_lines += junk
        name = headers.get("Event")
        if name:
            if junk:
                self.stats.problem(f"{self.source}: offset {self._offset}: {junk} junk line(s) in a {name} event")
            self.stats.events += 1
            return AmiEvent(name, headers)
        if "Response" in headers:
            self.stats.responses += 1
            if self.keep_responses:
                self.responses.append(headers)
            return None
        if "Action" in headers:
            self.stats.actions += 1
            return None
        if junk and not headers and _is_command_output(frame):
            # the body of a 'Response: Follows' to a CLI command: not an event, not an error
            self.stats.responses += 1
            return None
        self.stats.malformed += 1
        msg = f"{self.source}: offset {self._offset}: malformed frame skipped ({frame[:60]!r})"
        self.stats.problem(msg)
        log.warning("%s", msg)
        return None


def _is_command_output(frame: str) -> bool:
    return frame.rstrip().endswith("--END COMMAND--")


def iter_events(chunks: Iterable[bytes], source: str = "<stream>") -> Iterator[AmiEvent]:
    """Events from an iterable of byte chunks; the reader's stats are on ``.reader`` afterwards."""
    reader = FrameReader(source)
    for chunk in chunks:
        yield from reader.feed(chunk)
    yield from reader.close()


def read_capture(path: str | Path, chunk_size: int = 1 << 20) -> tuple[list[AmiEvent], FrameStats]:
    """Read a recorded AMI stream (``ami.raw``) into events, with what was skipped.

    Raises :class:`~callmon.core.errors.InputError` only when the file cannot be opened.
    """
    from callmon.core.errors import InputError

    path = Path(path)
    reader = FrameReader(str(path))
    events: list[AmiEvent] = []
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(chunk_size):
                events.extend(reader.feed(chunk))
    except OSError as exc:
        raise InputError(f"cannot read AMI capture: {exc.strerror or exc}", file=str(path)) from exc
    events.extend(reader.close())
    return events, reader.stats
