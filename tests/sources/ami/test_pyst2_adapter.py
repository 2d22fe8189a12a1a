"""The pyst2 subclass against real TCP peers that misbehave the way a PBX or a network can."""

from __future__ import annotations

import random
import socket
import threading
import time

import pytest

from callmon.sources.ami import pyst2_adapter
from callmon.sources.ami.pyst2_adapter import BufferedManager, pyst2


class _Peer:
    """A one-connection TCP server: sends the AMI banner, then does ``then(conn)`` with what it read."""

    def __init__(self, then):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.then = then
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.sendall(b"Asterisk Call Manager/7.0.3\r\n")
            self.then(conn)

    def close(self):
        self.sock.close()


def _read_action(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_refused_login_then_close_does_not_hang():
    """Asterisk answers a bad login with an error and closes the socket; ``close()`` must not wait
    for a Logoff answer that can never come (this hung the listener about one run in four)."""

    def refuse(conn):
        action = _read_action(conn)
        aid = [line.split(b": ", 1)[1] for line in action.split(b"\r\n") if line.startswith(b"ActionID")][0]
        conn.sendall(b"Response: Error\r\nActionID: " + aid + b"\r\nMessage: Authentication failed\r\n\r\n")
        time.sleep(random.uniform(0, 0.004))  # Asterisk closes a moment later, as the client reacts

    for _ in range(30):  # the race is between the peer's close and the Logoff's waiter: try it often
        peer = _Peer(refuse)
        manager = BufferedManager()
        manager.connect("127.0.0.1", peer.port)
        with pytest.raises(pyst2.ManagerAuthException):
            manager.login("callmon", "wrong")
        started = time.monotonic()
        closer = threading.Thread(target=manager.close, daemon=True)
        closer.start()
        closer.join(3)
        assert not closer.is_alive(), "close() hung waiting for a Logoff answer"
        assert time.monotonic() - started < 3
        assert manager.disconnected.is_set()
        peer.close()


def test_action_unanswered_on_a_live_line_times_out(monkeypatch):
    """A peer that reads the action and never answers (a stalled PBX): the wait ends after the
    action timeout with pyst2's own socket error instead of blocking forever."""
    monkeypatch.setattr(pyst2_adapter, "ACTION_TIMEOUT", 0.5)
    hold = threading.Event()

    def stall(conn):
        _read_action(conn)
        hold.wait(10)

    peer = _Peer(stall)
    manager = BufferedManager()
    manager.connect("127.0.0.1", peer.port)
    started = time.monotonic()
    with pytest.raises(pyst2.ManagerSocketException):
        manager.send_action({"Action": "Ping"})
    assert 0.4 < time.monotonic() - started < 3
    assert not manager.disconnected.is_set()  # the line itself is still up: the caller decides
    hold.set()
    manager.close()
    peer.close()


def test_batch_and_event_callbacks_see_every_event_in_order_and_survive_a_raise(caplog):
    """A batch callback gets each chunk's events in order; pyst2's per-event callbacks still get
    every event; a batch callback that raises is logged and the stream goes on."""
    frames = b"".join(b"Event: Newstate\r\nUniqueid: 1.%d\r\n\r\n" % i for i in range(500))
    done = threading.Event()
    peer = _Peer(lambda conn: (conn.sendall(frames), done.wait(10)))
    manager = BufferedManager()
    batches, singles, calls = [], [], [0]

    def take(events, _manager):
        batches.extend(e.get("Uniqueid") for e in events)

    def fail(events, _manager):
        calls[0] += 1
        raise RuntimeError("a bug in a consumer")

    manager.register_batch(fail)
    manager.register_batch(take)
    manager.register_event("*", lambda ev, _m: singles.append(ev.headers["Uniqueid"]))
    manager.connect("127.0.0.1", peer.port)
    deadline = time.monotonic() + 10
    while len(singles) < 500 and time.monotonic() < deadline:
        time.sleep(0.01)
    done.set()
    manager.close()
    peer.close()
    expected = [f"1.{i}" for i in range(500)]
    assert batches == expected and singles == expected
    assert calls[0] >= 1 and "a bug in a consumer" in caplog.text
