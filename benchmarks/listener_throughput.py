"""How fast does `callmon listen` keep up with a busy PBX, and how fresh is the database?

Replays a large synthetic stream of realistic call events over TCP on loopback, from a process of
its own as a PBX would be — the real j_load capture (140 queue calls, 9,622 events with all of
Asterisk's noise) repeated pass after pass, each pass with new ids, times and callers' numbers (a
call centre's callers vary; the same 140 numbers calling back every nine minutes forever would not
be realistic) — and prints, measured in this run:

- events/s of a bare buffered socket read (the ceiling),
- events/s of stock pyst2 0.5.1 with a no-op '*' callback (its unbuffered one-byte reads),
- events/s of callmon's listener with persistence to SQLite (journal, calls, live state),
- with the server at real-time speed: the latency from an event's Timestamp to its commit in the
  database (p50/p95/max over batches, taking each batch's oldest event).

Run: python benchmarks/listener_throughput.py [--events N] [--pyst2-events N] [--realtime-seconds S]
Target: >= 20,000 events/s for the listener with persistence; p95 latency < 1 s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import asterisk.manager

from callmon.sources.ami.framing import FrameReader, read_capture
from callmon.service.listener import Listener
from callmon.sources.ami.replay import Capture
from callmon.sources.ami.server import DEV_SECRET, AmiServer
from callmon.core.config import Config
from callmon.service.pipeline import Pipeline
from callmon.storage import Store

CAPTURE = Path(__file__).resolve().parent.parent / "sample_cdr" / "j_load" / "ami.raw"
LOGIN = f"Action: Login\r\nUsername: callmon\r\nSecret: {DEV_SECRET}\r\nActionID: 1\r\n\r\n".encode()


_STREAM: list = []


def stream(events: int) -> list:
    """At least ``events`` events: passes of j_load rendered by the replay's own id/time shifting,
    with the callers' numbers changed per pass (0107100xxxx -> 0107nnnxxxx)."""
    if len(_STREAM) < events:
        capture = Capture(read_capture(CAPTURE)[0])
        n = 0
        while len(_STREAM) < events:
            raw = bytes(capture.render(capture.shift(n)).view(0, len(capture)))
            _STREAM.extend(FrameReader().feed(raw.replace(b"0107100", b"0107%03d" % (100 + n % 900))))
            n += 1
    return _STREAM


class PbxProcess:
    """The synthetic stream served from a process of its own, as a PBX is: its events and their
    rendering are not in the measured process's heap (whose garbage collections would walk
    them) and its sending thread does not take the measured process's GIL."""

    def __init__(self, events: int, **kw):
        self.events, self.kw = events, kw

    def __enter__(self) -> PbxProcess:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.events, self.kw), daemon=True)
        self._proc.start()
        self.port = self._conn.recv()  # once the stream is rendered and the server listens
        return self

    def __exit__(self, *exc) -> None:
        self._conn.send("stop")
        self._proc.join(30)
        if self._proc.is_alive():
            self._proc.terminate()


def _serve(conn, events: int, kw: dict) -> None:
    with AmiServer(stream(events), **kw).start() as srv:
        conn.send(srv.port)
        conn.recv()


def server(events: int = 0, **kw):
    """The synthetic stream of ``events`` events from a separate process, or (``events=0``) the
    j_load capture from a server in this process (the latency run reads its timeline)."""
    if events:
        return PbxProcess(events, **kw)
    return AmiServer.from_capture(CAPTURE, **kw).start()


def bare_socket(n: int) -> float:
    """Read n events with a plain buffered socket: count frames, parse nothing."""
    with server(n, speed=0) as srv:
        sock = socket.create_connection(("127.0.0.1", srv.port))
        sock.sendall(LOGIN)
        buf = sock.makefile("rb", buffering=1 << 16)
        seen, t0 = 0, None
        for line in buf:
            if line.startswith(b"Event: "):
                if t0 is None:
                    t0 = time.perf_counter()
                seen += 1
                if seen >= n:
                    break
        dt = time.perf_counter() - t0
        sock.close()
    return n / dt


def stock_pyst2(n: int) -> float:
    """Stock pyst2 Manager with a no-op callback on every event."""
    done = threading.Event()
    count = [0, None]

    def noop(event, manager):
        if count[1] is None:
            count[1] = time.perf_counter()
        count[0] += 1
        if count[0] >= n:
            done.set()

    with server(n, speed=0) as srv:
        m = asterisk.manager.Manager()
        m.register_event("*", noop)
        m.connect("127.0.0.1", srv.port)
        m.login("callmon", DEV_SECRET)
        done.wait(600)
        dt = time.perf_counter() - count[1]
        hook = threading.excepthook
        threading.excepthook = lambda args: None  # its reader thread dies noisily on the close
        m._running.clear()  # stock close() would wait for a logoff reply behind the flood
        m._sock.close()
        time.sleep(0.2)
        threading.excepthook = hook
    return count[0] / dt


def callmon_listen(n: int, db: str) -> tuple[float, Listener]:
    """callmon's listener: journal + tracker + calls + live state into SQLite, until n are committed."""
    with server(n + 20_000, speed=0) as srv:
        listener = Listener(Pipeline(Store(db), Config()), "127.0.0.1", srv.port, "callmon", DEV_SECRET,
                            max_connections=1)
        t = threading.Thread(target=listener.run, daemon=True)
        t0 = time.perf_counter()
        t.start()
        while listener.stats.events < n:
            time.sleep(0.01)
        dt = time.perf_counter() - t0
        committed = listener.stats.events  # what was in the database when the clock stopped
        calls = listener.stats.calls
        listener.stop()
        t.join()
    listener.calls_per_second = calls / dt
    return committed / dt, listener


def realtime_latency(seconds: float, db: str) -> tuple[list[float], Listener]:
    """Latency from the moment the server sent an event to its commit, over batches (oldest event).

    The server moves the replay by whole seconds, so an event's Timestamp is its send time plus a
    constant under a second; that constant is taken out here from the server's own timeline.
    """
    with server(speed=1.0) as srv:
        listener = Listener(Pipeline(Store(db), Config()), "127.0.0.1", srv.port, "callmon", DEV_SECRET,
                            max_connections=1)
        t = threading.Thread(target=listener.run, daemon=True)
        t.start()
        time.sleep(seconds)
        listener.stop()
        t.join()
        tl = srv.timeline
        wall_start = tl.started_at + (time.time() - time.monotonic())
        lead = wall_start - (tl.capture.first_time + tl.base)  # send time - Timestamp
    return [lat - lead for lat in listener.stats.latencies], listener


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--pyst2-events", type=int, default=15_000, help="stock pyst2 is slow: fewer events")
    ap.add_argument("--realtime-seconds", type=float, default=60.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare = bare_socket(args.events)
        print(f"bare buffered socket read : {bare:12,.0f} events/s  ({args.events:,} events)")
        stock = stock_pyst2(args.pyst2_events)
        print(f"stock pyst2, no-op '*'    : {stock:12,.0f} events/s  ({args.pyst2_events:,} events)")
        ours, listener = callmon_listen(args.events, f"sqlite:///{tmp}/bench.db")
        s = listener.stats
        print(f"callmon listen -> SQLite  : {ours:12,.0f} events/s  (committed, from login to >= {args.events:,} events "
              f"in the database; {s.calls:,} calls stored by the end)")
        print(f"  calls finished & stored : {listener.calls_per_second:12,.0f} calls/s (j_load: 68 events per call)")
        print(f"  ratio to bare socket    : {ours / bare:12.2f}")
        print(f"  ratio to stock pyst2    : {ours / stock:12.1f}x")
        print(f"  target >= 20,000/s      : {'met' if ours >= 20_000 else 'NOT met'}")
        lat, rl = realtime_latency(args.realtime_seconds, f"sqlite:///{tmp}/latency.db")
        if lat:
            q = statistics.quantiles(lat, n=20) if len(lat) >= 20 else [max(lat)] * 19
            print(f"real-time latency, event Timestamp -> committed ({len(lat)} batches, {rl.stats.events:,} events, "
                  f"{args.realtime_seconds:.0f} s): p50 {statistics.median(lat) * 1000:.0f} ms, "
                  f"p95 {q[18] * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms  "
                  f"(target p95 < 1 s: {'met' if q[18] < 1 else 'NOT met'})")


if __name__ == "__main__":
    main()
