"""pyst2, with its defects worked around in one thin subclass.

pyst2 0.5.1 (``asterisk.manager``) is the AMI client callmon builds on, but as shipped it:

- reads its socket through an unbuffered file, one byte per ``recv`` (about 1,400 events/s);
- hands each event from its reading thread to its dispatch thread through a locked queue, and
  calls every callback once per event;
- lets an exception in a callback kill its dispatch thread silently;
- calls ``dict.has_key`` (Python 2) while parsing any ``ChanVariable`` header;
- never reconnects, and its threads cannot be restarted;
- waits for an action's response forever: if the connection ends between writing the action and
  registering the waiter (a refused login, then ``Logoff`` on a socket the PBX just closed), nobody
  ever wakes it.

:class:`BufferedManager` keeps pyst2's public API (``connect``, ``login``, ``send_action``,
``register_event``, ``close``) and its response/event queues and dispatch thread, and replaces only
the reading loop: big ``recv`` chunks framed by :class:`callmon.sources.ami.framing.FrameReader`, handed
over a chunk at a time (``register_batch`` takes them so). Callbacks are wrapped so one exception is logged, never fatal. Waiting for a response ends when the connection
does or after ``ACTION_TIMEOUT`` (pyst2 then raises its own "Connection Terminated"). Reconnecting is the caller's job: use a new
``BufferedManager`` per connection (see :mod:`callmon.service.listener`).
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from typing import Callable

import asterisk.manager as pyst2

from callmon.core.errors import AmiAuthError, AmiError
from callmon.sources.ami.framing import BANNER_PREFIX, AmiEvent, FrameReader

log = logging.getLogger(__name__)

RECV_SIZE = 1 << 16
MAX_QUEUED_CHUNKS = 64  # ~4 MiB read ahead of the dispatcher; then stop reading (TCP pushes back)
KEEPALIVE_ID = "callmon-keepalive-"
ACTION_TIMEOUT = 10.0  # seconds an action (Login, Logoff) may wait for its response


class _ResponseQueue(queue.Queue):
    """pyst2's response queue whose blocking ``get`` gives up (returns ``None``, which pyst2 reads
    as a terminated connection) once the connection is gone or after ``ACTION_TIMEOUT``."""

    def __init__(self, disconnected: threading.Event):
        super().__init__()
        self._disconnected = disconnected

    def get(self, block: bool = True, timeout: float | None = None):
        if not block or timeout is not None:
            return super().get(block, timeout)
        deadline = time.monotonic() + ACTION_TIMEOUT
        while True:
            try:
                return super().get(timeout=0.1)
            except queue.Empty:
                if self._disconnected.is_set() or time.monotonic() > deadline:
                    return None


class _Message(pyst2.ManagerMsg):
    """A response, parsed without pyst2's Python-2-only ``has_key`` path."""

    def __init__(self, headers: dict[str, str]):  # noqa: D401 - pyst2 shape
        self.response = []
        self.data = ""
        self.headers = headers


class _Event(pyst2.Event):
    """An event in pyst2's shape (``.name``, ``.headers``, ``get_header``), plus our ``AmiEvent``."""

    def __init__(self, event: AmiEvent):
        self.ami = event
        self.message = None
        self.data = ""
        self.name = event.name

    @property
    def headers(self) -> dict[str, str]:  # parsed when a callback asks (see AmiEvent)
        return self.ami.headers


def safe_callback(func: Callable, counter: dict | None = None) -> Callable:
    """Wrap a pyst2 callback so an exception is logged and counted, never kills the dispatch thread."""

    def wrapper(event, manager):
        try:
            return func(event, manager)
        except Exception:  # noqa: BLE001 - this is the point: nothing may escape into pyst2
            if counter is not None:
                counter["callback_errors"] = counter.get("callback_errors", 0) + 1
            log.exception("AMI callback %s failed on %s", getattr(func, "__name__", func), getattr(event, "name", "?"))
            return False

    return wrapper


class BufferedManager(pyst2.Manager):
    """pyst2's Manager reading its socket in 64 KiB chunks (see the module docstring)."""

    def __init__(self, source: str = "ami"):
        super().__init__()
        self._raw: socket.socket | None = None
        self.reader = FrameReader(source, keep_responses=True)
        self.disconnected = threading.Event()
        self._response_queue = _ResponseQueue(self.disconnected)
        self.last_rx = time.monotonic()  # when bytes last arrived: the keep-alive watches it
        self._batch_callbacks: list[Callable] = []

    def connect(self, host: str, port: int = 5038, timeout: float = 10.0):
        if self._connected.is_set():
            raise pyst2.ManagerException("Already connected to manager")
        try:
            raw = socket.create_connection((host, int(port)), timeout=timeout)
            raw.settimeout(None)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            raise pyst2.ManagerSocketException(exc.errno or 0, exc.strerror or str(exc)) from exc
        self._raw = raw
        self._sock = raw.makefile(mode="wb", buffering=0)  # pyst2's send_action writes here
        self._connected.set()
        self._running.set()
        self.message_thread.start()
        self.event_dispatch_thread.start()
        return self._response_queue.get()

    def register_event(self, event, function):
        super().register_event(event, safe_callback(function))

    def register_batch(self, function: Callable[[list[AmiEvent], "BufferedManager"], None]) -> None:
        """Have ``function(events, manager)`` called with the events of each chunk read, in order,
        in pyst2's dispatch thread, before the per-event callbacks: a consumer of every event
        (the listener) takes them a chunk at a time, without an ``Event`` object and a call per
        event. Guarded like the event callbacks."""
        self._batch_callbacks.append(safe_callback(function))

    def message_loop(self):
        """Read, frame and route: events to pyst2's dispatch queue, responses to its waiters."""
        raw = self._raw
        try:
            banner_pending = True
            while self._running.is_set():
                try:
                    data = raw.recv(RECV_SIZE)
                except OSError:
                    data = b""
                if not data:
                    break
                self.last_rx = time.monotonic()
                while self._event_queue.qsize() > MAX_QUEUED_CHUNKS and self._running.is_set():
                    time.sleep(0.005)  # the consumer is behind: let it work instead of parsing ahead
                if banner_pending:
                    banner_pending = False
                    first = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
                    if first.startswith(BANNER_PREFIX):
                        self.title, _, self.version = first.partition("/")
                    self._response_queue.put(_Message({"Response": "Generated Header", "Banner": first}))
                events = self.reader.feed(data)
                if events:  # one queue hand-over per chunk, not per event (see event_dispatch)
                    self._event_queue.put(events)
                while self.reader.responses:
                    headers = self.reader.responses.pop(0)
                    if not headers.get("ActionID", "").startswith(KEEPALIVE_ID):  # nobody waits for those
                        self._response_queue.put(_Message(headers))
        finally:
            self._connected.clear()
            self.disconnected.set()
            self._event_queue.put(None)
            for _ in self._reswaiting:
                self._response_queue.put(None)

    def keepalive(self) -> None:
        """Send a Ping without waiting for its answer (any bytes back prove the line is alive)."""
        try:
            self._sock.write(f"Action: Ping\r\nActionID: {KEEPALIVE_ID}{time.time():.0f}\r\n\r\n".encode())
        except (OSError, ValueError):
            self.abort()

    def abort(self) -> None:
        """Cut the connection now (a dead line): the reading loop ends and reports the disconnect."""
        if self._raw is not None:
            try:
                self._raw.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def event_dispatch(self):
        """pyst2's dispatch loop, taking the events of one read chunk at a time: the batch
        callbacks with the whole chunk, then pyst2's callbacks per event in the same order as
        pyst2 calls them, without a lock round-trip between threads per event."""
        while self._running.is_set():
            batch = self._event_queue.get()
            if not batch:
                break
            for callback in self._batch_callbacks:
                callback(batch, self)
            if not self._event_callbacks:
                continue
            for e in batch:
                ev = _Event(e)
                for callback in self._event_callbacks.get(ev.name, []) + self._event_callbacks.get("*", []):
                    if callback(ev, self):
                        break

    def close(self):
        """Log off if still connected, then stop both threads (pyst2's own close can hang here)."""
        if self._running.is_set() and self._connected.is_set():
            try:
                self.logoff()
            except (pyst2.ManagerException, OSError):
                pass
        self._running.clear()
        if self._raw is not None:
            try:
                self._raw.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._raw.close()
        current = threading.current_thread()
        for t in (self.message_thread, self.event_dispatch_thread):
            if t.is_alive() and t is not current:
                t.join(timeout=5)


__all__ = ["BufferedManager", "safe_callback", "pyst2"]


def open_session(host: str, port: int, user: str, secret: str, on_events: Callable, *, source: str = "ami") -> BufferedManager:
    """Connect and log in; ``on_events(events, manager)`` is registered before the login (Asterisk
    streams events right after its login response). pyst2's exceptions end here: a refused login
    is :class:`~callmon.core.errors.AmiAuthError` (never worth retrying), anything else
    :class:`~callmon.core.errors.AmiError`. The secret is never part of a message."""
    manager = BufferedManager(source)
    try:
        manager.connect(host, port)
    except pyst2.ManagerSocketException as exc:
        raise AmiError(f"cannot connect to {host}:{port}: {exc.args[-1]}") from exc
    manager.register_batch(on_events)
    try:
        response = manager.login(user, secret)
    except pyst2.ManagerAuthException as exc:
        manager.close()
        raise AmiAuthError(f"{host}:{port} refused the login of user {user!r}: {exc}") from None
    except pyst2.ManagerException as exc:
        manager.close()
        raise AmiError(f"{host}:{port}: login failed: {exc}") from exc
    if response is None:
        manager.close()
        raise AmiError(f"{host}:{port} closed the connection during login")
    return manager
