"""A small Asterisk Manager Interface server that replays a recorded capture, for tests and demos.

It speaks AMI as Asterisk's ``manager.c`` does, enough for real clients (pyst2, panoramisk, telnet):
the banner ``Asterisk Call Manager/<version>`` (the capture's own version when it has a banner),
``Login`` (wrong credentials: ``Response: Error`` / ``Message: Authentication failed``, then the
connection is closed), ``Logoff`` (``Response: Goodbye``), ``Ping``, ``Events`` (``EventMask: on``,
``off`` or a list of classes such as ``call,agent``), ``CoreShowChannels`` (the channels up at the
point of the replay the client has reached) and, for anything else, ``Invalid/unknown command``.
Before a login only ``Login`` and ``Logoff`` are allowed (``Permission denied``). Every response
echoes the request's ``ActionID``.

After a login the client receives the replay (:class:`~callmon.sources.ami.replay.Timeline`): the capture's
events paced by their ``Timestamp`` deltas divided by ``speed`` (0: as fast as possible), moved so
that the replay looks live, and with ``loop`` pass after pass of new calls. There is one timeline
per server, which every connection observes like clients of one PBX; see ``Timeline`` for what a
client that disconnects misses. Frames are rendered once per pass and written in large
zero-copy chunks.

Fault switches, for the listener's tests:

- ``drop_after=N``: the first connection that logs in is closed after its N-th event. It only
  happens once per server, so a client that reconnects is served normally.
- ``stall_after=N, stall_seconds=S``: the first connection that logs in stops sending (responses
  included) for S seconds after its N-th event, then catches up with what happened meanwhile.
- ``inject_malformed_every=N``: every connection gets a malformed frame after every N events, in
  turn a line of junk, header lines without a colon, and binary junk.

Example (in-process, in a background thread)::

    with AmiServer.from_capture("sample_cdr/a_direct_fast_caller_hangs_up/ami.raw", speed=0) as srv:
        ...  # connect to 127.0.0.1:srv.port, log in as "callmon" / DEV_SECRET
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from callmon.sources.ami.framing import BANNER_PREFIX, AmiEvent, parse_frame, read_capture
from callmon.sources.ami.replay import Capture, Timeline
from callmon.core.errors import AmiError

log = logging.getLogger(__name__)

DEFAULT_USER = "callmon"
DEV_SECRET = "callmon-dev"
"""The secret when neither ``secret=`` nor ``CALLMON_AMI_SECRET`` gives one: for local tests only."""
DEFAULT_VERSION = "12.0.0"  # the AMI version of Asterisk 23, which recorded the shared captures
CHUNK_EVENTS = 4096  # events per write at most; big writes are what makes speed 0 fast
MAX_LINE = 1 << 16

MALFORMED_FRAMES = (
    b"this line is junk, not a header\r\n\r\n",
    b"Event Hangup\r\nUniqueid 0.0\r\n\r\n",
    b"\x00\xff\xfe\x01\x80binary junk\x9c\x8d\r\n\r\n",
)

_TRUE = {"on", "yes", "true", "y", "t"}
_FALSE = {"off", "no", "false", "n", "f"}


def banner_version(path: str | Path) -> str | None:
    """The AMI version in a capture's ``Asterisk Call Manager/…`` banner, or None."""
    try:
        with Path(path).open("rb") as fh:
            first = fh.readline(256).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if first.startswith(BANNER_PREFIX):
        return first[len(BANNER_PREFIX) :] or None
    return None


def parse_event_mask(value: str) -> frozenset[str] | None:
    """An ``EventMask``/``Events`` value as Asterisk reads it: None = all, empty = none.

    >>> parse_event_mask("off"), parse_event_mask("on"), sorted(parse_event_mask("call, Agent"))
    (frozenset(), None, ['agent', 'call'])
    """
    v = value.strip().lower()
    if not v:
        raise ValueError("empty event mask")
    if v.isdigit():  # a numeric mask: Asterisk's bit values, taken here as all or nothing
        return None if int(v) else frozenset()
    if v in _TRUE:
        return None
    if v in _FALSE:
        return frozenset()
    classes = frozenset(p.strip() for p in v.split(",") if p.strip())
    return None if "all" in classes else classes


def frame(*pairs: tuple[str, str | None]) -> bytes:
    """An AMI frame from ``(key, value)`` pairs; pairs whose value is None are left out."""
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs if v is not None) + "\r\n").encode()


@dataclass(frozen=True)
class Faults:
    """The fault switches (see the module docstring); None = off.

    Counts are of the replay's events since the client's login, including any its event mask hides.
    """

    drop_after: int | None = None
    inject_malformed_every: int | None = None
    stall_after: int | None = None
    stall_seconds: float = 0.0

    def __post_init__(self) -> None:
        for name in ("drop_after", "inject_malformed_every", "stall_after"):
            n = getattr(self, name)
            if n is not None and n < 1:
                raise ValueError(f"{name} must be at least 1")


class AmiServer:
    """An AMI server replaying ``events`` on ``host:port`` (``port=0``: a free port, see ``.port``).

    Use :meth:`start`/:meth:`stop` (or ``with``) to run it in a background thread, or await
    :meth:`serve` in your own event loop (the CLI does). ``shift_times=False`` replays the first
    pass with the capture's own timestamps and ids; ``start_on_connect=False`` starts the timeline
    when the server starts instead of at the first login.
    """

    def __init__(
        self,
        events: Sequence[AmiEvent],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str = DEFAULT_USER,
        secret: str = DEV_SECRET,
        speed: float = 1.0,
        loop: bool = False,
        version: str = DEFAULT_VERSION,
        shift_times: bool = True,
        start_on_connect: bool = True,
        drop_after: int | None = None,
        inject_malformed_every: int | None = None,
        stall_after: int | None = None,
        stall_seconds: float = 0.0,
    ):
        self.faults = Faults(drop_after, inject_malformed_every, stall_after, stall_seconds)
        self.host, self.user, self._secret, self.version = host, user, secret, version
        self.timeline = Timeline(Capture(events), speed=speed, loop=loop, shift_times=shift_times)
        self.start_on_connect = start_on_connect
        self._requested_port = port
        self._port: int | None = None
        self._faults_taken = False
        self._connections: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __repr__(self) -> str:  # never shows the secret
        return f"AmiServer({self.host}:{self._port or self._requested_port}, user={self.user!r})"

    @classmethod
    def from_capture(cls, path: str | Path, **kwargs) -> AmiServer:
        """A server for a recorded ``ami.raw``, announcing the capture's AMI version."""
        events, _ = read_capture(path)
        kwargs.setdefault("version", banner_version(path) or DEFAULT_VERSION)
        return cls(events, **kwargs)

    @property
    def port(self) -> int:
        if self._port is None:
            raise AmiError("the AMI server is not listening yet")
        return self._port

    # --- running it ---------------------------------------------------------------------------

    async def serve(self, ready: Callable[[int], None] | None = None) -> None:
        """Listen and serve until :meth:`request_stop`; ``ready(port)`` once listening."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            server = await asyncio.start_server(self._accept, self.host, self._requested_port, limit=MAX_LINE)
        except OSError as exc:
            raise AmiError(f"cannot listen on {self.host}:{self._requested_port}: {exc.strerror or exc}") from exc
        self._port = server.sockets[0].getsockname()[1]
        if not self.start_on_connect:
            self.timeline.start(time.monotonic(), time.time())
        log.info("AMI server listening on %s:%s", self.host, self._port)
        if ready is not None:
            ready(self._port)
        try:
            await self._stopping.wait()
        finally:
            server.close()
            conns = list(self._connections)
            for conn in conns:
                conn.abort()
            await asyncio.gather(*(c.task for c in conns if c.task), return_exceptions=True)
            await server.wait_closed()
            log.info("AMI server on %s:%s stopped", self.host, self._port)

    def request_stop(self) -> None:
        """Ask :meth:`serve` to stop; safe from any thread and from signal handlers."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)

    def start(self, timeout: float = 10.0) -> AmiServer:
        """Serve in a background thread; returns once listening (``.port`` is then known)."""

        def run() -> None:
            try:
                asyncio.run(self.serve(ready=lambda _port: self._ready.set()))
            except BaseException as exc:  # reported to start()'s caller
                self._error = exc
                self._ready.set()

        self._thread = threading.Thread(target=run, name="callmon-ami-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise AmiError("the AMI server did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background server and close every connection."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> AmiServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what connections share ---------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(self, reader, writer)
        conn.task = asyncio.current_task()
        self._connections.add(conn)
        try:
            await conn.run()
        finally:
            self._connections.discard(conn)

    def check_login(self, user: str, secret: str) -> bool:
        user_ok = hmac.compare_digest(user.lower().encode(), self.user.lower().encode())
        secret_ok = hmac.compare_digest(secret.encode(), self._secret.encode())
        return user_ok and secret_ok

    def join(self) -> int:
        """Where a connection that just logged in starts: the timeline's "now" (starting it)."""
        if not self.timeline.started:
            self.timeline.start(time.monotonic(), time.time())
            return 0
        return self.timeline.position(time.monotonic())

    def take_faults(self) -> bool:
        """True for the first connection that logs in: it gets the drop and stall faults."""
        taken, self._faults_taken = self._faults_taken, True
        return not taken


class _Connection:
    """One client: reads actions, answers them, and streams the timeline once logged in."""

    def __init__(self, server: AmiServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.peer = "%s:%s" % writer.get_extra_info("peername", ("?", "?"))[:2]
        self.task: asyncio.Task | None = None
        self.authenticated = False
        self.mask: frozenset[str] | None = None
        self.position = 0  # the timeline events this client has been sent (or skipped by its mask)
        self._mask_changed = asyncio.Event()
        self._stalled_until = 0.0
        self._streamer: asyncio.Task | None = None
        self._malformed_sent = 0

    def abort(self) -> None:
        self.writer.transport.abort()

    async def run(self) -> None:
        self.writer.transport.set_write_buffer_limits(high=1 << 20)
        log.info("AMI client %s connected", self.peer)
        try:
            await self._write(f"{BANNER_PREFIX}{self.server.version}\r\n".encode())
            while (action := await self._read_action()) is not None:
                if not await self._dispatch(action):
                    break
        except (ConnectionError, asyncio.LimitOverrunError, ValueError) as exc:
            log.info("AMI client %s: connection ended (%s)", self.peer, exc)
        finally:
            if self._streamer is not None:
                self._streamer.cancel()
                await asyncio.gather(self._streamer, return_exceptions=True)
            self.writer.close()
            log.info("AMI client %s disconnected", self.peer)

    async def _read_action(self) -> dict[str, str] | None:
        """The next action's headers, keys lower-cased (AMI headers are case-insensitive)."""
        lines: list[str] = []
        while True:
            line = await self.reader.readline()
            if not line:
                return None
            line = line.rstrip(b"\r\n")
            if line:
                lines.append(line.decode("utf-8", "replace"))
            elif lines:
                headers, _ = parse_frame("\n".join(lines))
                return {k.lower(): v for k, v in headers.items()}

    async def _write(self, *chunks: bytes | memoryview) -> None:
        wait = self._stalled_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        for chunk in chunks:
            self.writer.write(chunk)
        await self.writer.drain()

    # --- actions ------------------------------------------------------------------------------

    async def _dispatch(self, action: dict[str, str]) -> bool:
        """Answer one action; False when the connection must close afterwards."""
        name = action.get("action", "").strip()
        aid = action.get("actionid")
        if not name:
            await self._write(frame(("Response", "Error"), ("ActionID", aid), ("Message", "Missing action in request")))
            return True
        key = name.lower()
        if not self.authenticated and key not in ("login", "logoff"):
            await self._write(frame(("Response", "Error"), ("ActionID", aid), ("Message", "Permission denied")))
            return True
        handler = {
            "login": self._login,
            "logoff": self._logoff,
            "ping": self._ping,
            "events": self._events,
            "coreshowchannels": self._core_show_channels,
        }.get(key)
        if handler is None:
            message = f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands."
            await self._write(frame(("Response", "Error"), ("ActionID", aid), ("Message", message)))
            return True
        return await handler(action, aid)

    async def _login(self, action: dict[str, str], aid: str | None) -> bool:
        if self.authenticated:
            await self._write(frame(("Response", "Success"), ("ActionID", aid), ("Message", "Already authenticated")))
            return True
        user = action.get("username", "")
        if not self.server.check_login(user, action.get("secret", "")):
            log.warning("AMI client %s: authentication failed for user %r", self.peer, user)
            await self._write(frame(("Response", "Error"), ("ActionID", aid), ("Message", "Authentication failed")))
            return False
        if "events" in action:
            self._set_mask(action["events"])
        self.authenticated = True
        log.info("AMI client %s logged in as %r", self.peer, user)
        await self._write(frame(("Response", "Success"), ("ActionID", aid), ("Message", "Authentication accepted")))
        self._streamer = asyncio.create_task(self._stream(self.server.take_faults()))
        return True

    async def _logoff(self, action: dict[str, str], aid: str | None) -> bool:
        await self._write(frame(("Response", "Goodbye"), ("ActionID", aid), ("Message", "Thanks for all the fish.")))
        return False

    async def _ping(self, action: dict[str, str], aid: str | None) -> bool:
        pong = (("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}"))
        await self._write(frame(("Response", "Success"), ("ActionID", aid), *pong))
        return True

    async def _events(self, action: dict[str, str], aid: str | None) -> bool:
        if not self._set_mask(action.get("eventmask", "")):
            await self._write(frame(("Response", "Error"), ("ActionID", aid), ("Message", "Invalid event mask")))
            return True
        state = "Off" if self.mask == frozenset() else "On"
        await self._write(frame(("Response", "Success"), ("ActionID", aid), ("Events", state)))
        return True

    def _set_mask(self, value: str) -> bool:
        try:
            self.mask = parse_event_mask(value)
        except ValueError:
            return False
        self._mask_changed.set()
        return True

    async def _core_show_channels(self, action: dict[str, str], aid: str | None) -> bool:
        timeline, now = self.server.timeline, time.monotonic()
        # with events off this client has stopped following: answer for the timeline's "now"
        seen = timeline.position(now) if self.mask == frozenset() else self.position
        rows = timeline.channels(seen, now)
        out = [frame(("Response", "Success"), ("ActionID", aid), ("EventList", "start"),
                     ("Message", "Channels will follow"))]  # fmt: skip
        out += [frame(("Event", "CoreShowChannel"), ("ActionID", aid), *row.items()) for row in rows]
        out.append(frame(("Event", "CoreShowChannelsComplete"), ("ActionID", aid), ("EventList", "Complete"),
                         ("ListItems", str(len(rows)))))  # fmt: skip
        await self._write(b"".join(out))
        return True

    # --- the replay ---------------------------------------------------------------------------

    async def _stream(self, faults: bool) -> None:
        """Send the timeline from the login on, cutting writes where a fault is due."""
        server, timeline, f = self.server, self.server.timeline, self.server.faults
        drop = f.drop_after if faults else None
        stall = f.stall_after if faults else None
        every = f.inject_malformed_every
        g = self.position = server.join()
        sent = 0
        try:
            while True:
                if self.mask == frozenset():  # events off: the world goes on without this client
                    self._mask_changed.clear()
                    await self._mask_changed.wait()
                    g = self.position = server.join()
                    continue
                total = timeline.total
                if total is not None and g >= total:
                    return  # the replay is over; the connection stays up, quiet, like an idle PBX
                wait = timeline.due(g) - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                end = g + CHUNK_EVENTS
                if timeline.speed > 0:
                    end = min(end, timeline.position(time.monotonic()))
                if total is not None:
                    end = min(end, total)
                end = max(end, g + 1)
                # a write stops where a fault is due: the next multiple of `every`, `drop`, `stall`
                cuts = [n for n in (drop, stall) if n and n > sent]
                if every:
                    cuts.append(every * (sent // every + 1))
                end = min([end] + [g + c - sent for c in cuts])
                await self._write(*self._views(g, end))
                sent += end - g
                g = self.position = end
                timeline.advance(g)
                if every and sent % every == 0:
                    await self._write(MALFORMED_FRAMES[self._malformed_sent % len(MALFORMED_FRAMES)])
                    self._malformed_sent += 1
                if stall and sent == stall:
                    log.info("AMI client %s: stalling %.1f s after %d events (fault switch)", self.peer,
                             f.stall_seconds, sent)  # fmt: skip
                    self._stalled_until = time.monotonic() + f.stall_seconds
                    await asyncio.sleep(f.stall_seconds)
                if drop and sent == drop:
                    log.info("AMI client %s: dropping the connection after %d events (fault switch)",
                             self.peer, sent)  # fmt: skip
                    self.writer.close()
                    return
        except ConnectionError as exc:
            log.info("AMI client %s: write failed (%s)", self.peer, exc)
            self.writer.close()

    def _views(self, g: int, end: int) -> list[memoryview]:
        timeline = self.server.timeline
        if self.mask is None:
            return timeline.views(g, end)
        classes, n_events = timeline.capture.classes, len(timeline.capture)
        keep = [k for k in range(g, end) if not classes[k % n_events] or classes[k % n_events] & self.mask]
        return [timeline.views(k, k + 1)[0] for k in keep]
