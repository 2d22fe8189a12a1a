"""`callmon listen` over real TCP (pyst2 against the AMI replay server): the same records as
`callmon ingest` of the same capture, and honest behaviour when the connection misbehaves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from callmon.sources.ami.framing import read_capture
from callmon.service.listener import Listener
from callmon.sources.ami.server import DEV_SECRET, AmiServer
from callmon.core.config import Config
from callmon.service.pipeline import Pipeline
from callmon.storage import Store
from tests.conftest import SAMPLES, SCENARIOS, run_cli, truth

TIME_FIELDS = ("arrived_at", "first_ring_at", "answered_at", "ended_at")


def listen(server: AmiServer, url: str, *, calls: int, timeout: float = 60, **kwargs) -> Listener:
    """Run a Listener against the server until it has finished ``calls`` calls, then stop it."""
    kwargs.setdefault("max_connections", 1)
    kwargs.setdefault("backoff", (0.1, 0.5))
    listener = Listener(Pipeline(Store(url), Config()), "127.0.0.1", server.port, "callmon", DEV_SECRET, **kwargs)
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while listener.stats.calls < calls and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    listener.stop()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the listener did not stop"
    return listener


def calls_of(url: str) -> list[dict]:
    return json.loads(run_cli("calls", "--format", "json", "--db", url).stdout)


def ingested(tmp_path, scenario: str) -> list[dict]:
    url = f"sqlite:///{tmp_path / ('ingest-' + scenario.replace('/', '-') + '.db')}"
    run_cli("ingest", str(SAMPLES / scenario / "ami.raw"), "--db", url)
    return calls_of(url)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_listen_equals_ingest_at_full_speed(scenario, db_url, tmp_path):
    """Replayed as fast as possible with the capture's own times: exactly ingest's records."""
    expected = ingested(tmp_path, scenario)
    with AmiServer.from_capture(SAMPLES / scenario / "ami.raw", speed=0, shift_times=False) as server:
        listener = listen(server, db_url, calls=len(truth(scenario)))
    assert listener.stats.calls == len(expected)
    assert calls_of(db_url) == expected


def _without_times(call: dict) -> dict:
    # callback_id is a database id: it differs when the listener lost calls the import has
    skip = set(TIME_FIELDS) | {"call_id", "callback_id", "legs", "ring_seconds", "wait_seconds", "talk_seconds"}
    return {k: v for k, v in call.items() if k not in skip}


def test_listen_at_real_time_speed_equals_ingest(tmp_path):
    """Every capture paced by its Timestamps (x40) and moved to now: the same calls and durations."""
    from datetime import datetime

    for scenario in SCENARIOS:
        expected = ingested(tmp_path, scenario)
        url = f"sqlite:///{tmp_path / ('live-' + scenario.replace('/', '-') + '.db')}"
        started = time.time()
        with AmiServer.from_capture(SAMPLES / scenario / "ami.raw", speed=40) as server:
            listen(server, url, calls=len(expected))
        got = calls_of(url)
        assert [_without_times(c) for c in got] == [_without_times(c) for c in expected], scenario
        for g, e in zip(got, expected):
            for f in ("ring_seconds", "wait_seconds", "talk_seconds"):
                assert (g[f] is None) == (e[f] is None) and (g[f] is None or abs(g[f] - e[f]) < 0.01), (scenario, f)
            assert datetime.fromisoformat(g["arrived_at"]).timestamp() >= started - 1  # looks live


def test_dropped_connection_reconnects_and_closes_the_cut_call_honestly(sqlite_url, tmp_path):
    """The server drops the line mid-stream: the listener reconnects, the calls in flight are
    incomplete, calls it saw whole are exactly ingest's, and nothing is counted twice."""
    expected = {c["call_id"]: c for c in ingested(tmp_path, "j_load")}
    with AmiServer.from_capture(SAMPLES / "j_load" / "ami.raw", speed=60, drop_after=3000) as server:
        listener = listen(server, sqlite_url, calls=10_000, timeout=12, max_connections=2)
    assert listener.stats.connections == 2
    got = calls_of(sqlite_url)
    ids = [c["call_id"] for c in got]
    assert len(ids) == len(set(ids)) <= len(expected)
    incomplete = [c for c in got if c["incomplete"]]
    assert incomplete, "the call cut by the drop is marked incomplete"
    complete = [c for c in got if not c["incomplete"]]
    assert len(complete) > 100
    for c in complete:  # the server moved the replay to now: match by caller
        match = [e for e in expected.values() if e["caller"] == c["caller"]]
        assert match, c["caller"]
        assert any(_without_times(c) | {"incomplete": False} == _without_times(e) for e in match), c["caller"]
    journal = Store(sqlite_url)
    with journal.engine.connect() as conn:
        from sqlalchemy import text

        dupes = conn.execute(text("SELECT COUNT(*) - COUNT(DISTINCT event_key) FROM journal")).scalar_one()
    assert dupes == 0


def test_malformed_frames_are_skipped_and_counted(sqlite_url, tmp_path):
    """Junk frames between real events: counted, and the calls are still exactly ingest's."""
    expected = ingested(tmp_path, "d_queue_rna_then_answer")
    with AmiServer.from_capture(SAMPLES / "d_queue_rna_then_answer" / "ami.raw", speed=0, shift_times=False,
                                inject_malformed_every=10) as server:
        listener = listen(server, sqlite_url, calls=1)
    assert listener.stats.malformed >= 3
    assert calls_of(sqlite_url) == expected


def test_live_state_shows_a_ringing_call_then_clears(sqlite_url):
    """While a phone rings the wallboard table holds the call with its ring start; then it is gone."""
    store = Store(sqlite_url)
    seen = []
    with AmiServer.from_capture(SAMPLES / "c_direct_abandon" / "ami.raw", speed=5) as server:
        listener = Listener(Pipeline(store, Config()), "127.0.0.1", server.port, "callmon", DEV_SECRET,
                            max_connections=1, flush_interval=0.1)
        thread = threading.Thread(target=listener.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while listener.stats.calls < 1 and time.monotonic() < deadline:
            seen.extend(store.query_live_calls("default"))
            time.sleep(0.1)
        listener.stop()
        thread.join(10)
    ringing = [r for r in seen if r["state"] == "ringing"]
    assert ringing and ringing[0]["first_ring_at"] is not None and ringing[0]["answered_at"] is None
    assert store.query_live_calls("default") == []


def _start_server(*args: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "callmon", "ami-server", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("listening on"), line + proc.stderr.read()
    return proc, int(line.rsplit(":", 1)[1])


def test_wrong_password_exits_nonzero_at_once(sqlite_url):
    """A refused login: a clear message, exit status 3, no retry storm, no secret in the output."""
    server, port = _start_server("--capture", str(SAMPLES / "a_direct_fast_caller_hangs_up" / "ami.raw"))
    try:
        env = dict(os.environ, CALLMON_AMI_SECRET="wrong-secret-xyz")
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "callmon", "listen", "--ami", f"127.0.0.1:{port}", "--db", sqlite_url],
                              capture_output=True, text=True, env=env, timeout=30)
        assert time.monotonic() - started < 15
    finally:
        server.terminate()
        server.wait(10)
    assert proc.returncode == 3
    assert "refused the login" in proc.stderr and "Traceback" not in proc.stderr
    assert "wrong-secret-xyz" not in proc.stderr + proc.stdout


def test_sigterm_flushes_what_was_journaled(sqlite_url, tmp_path):
    """`callmon listen` stopped by SIGTERM before its first timed write still stores everything."""
    capture = SAMPLES / "h_blind_transfer" / "ami.raw"
    server, port = _start_server("--capture", str(capture), "--speed", "0", "--keep-timestamps")
    try:
        env = dict(os.environ, CALLMON_AMI_SECRET=DEV_SECRET)
        proc = subprocess.Popen([sys.executable, "-m", "callmon", "listen", "--ami", f"127.0.0.1:{port}", "--db", sqlite_url,
                                 "--flush-interval", "600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        # its signal handlers are set once it says so (seconds on a loaded machine); then a moment to
        # connect and receive the whole capture (speed 0), nothing written yet
        first = ""
        while "listening to" not in first and proc.poll() is None:
            first = proc.stderr.readline()
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        err = first + err
    finally:
        server.terminate()
        server.wait(10)
    assert proc.returncode == 0, err
    events, _ = read_capture(capture)
    assert Store(sqlite_url).count_journal("default") == len({e.key for e in events})
    assert calls_of(sqlite_url) == ingested(tmp_path, "h_blind_transfer")


def test_stalled_line_is_pinged_then_cut_and_reconnected(sqlite_url):
    """A server that goes silent (not even answering Ping) is cut after the keep-alive and the
    listener reconnects; the call it was in is incomplete, none is counted twice."""
    capture = SAMPLES / "j_load" / "ami.raw"
    with AmiServer.from_capture(capture, speed=0, stall_after=2000, stall_seconds=30) as server:
        listener = listen(server, sqlite_url, calls=10_000, timeout=8, max_connections=2,
                          idle_timeout=0.5, ping_timeout=0.5)
    assert listener.stats.stalls == 1 and listener.stats.connections == 2
    got = calls_of(sqlite_url)
    assert len({c["call_id"] for c in got}) == len(got)
    assert any(c["incomplete"] for c in got)


def test_a_tracker_bug_loses_no_event_and_stops_nothing(sqlite_url, monkeypatch, caplog):
    """The tracker raising on an event (a bug) does not kill the writer: every event is still
    journaled, the calls of later batches still come out, and `callmon rebuild` derives the rest."""
    from callmon.calls.tracker import CallTracker

    capture = SAMPLES / "j_load" / "ami.raw"
    events, _ = read_capture(capture)
    real, seen = CallTracker.feed, [0]

    def feed(self, event):
        seen[0] += 1
        if seen[0] == 1000:
            raise RuntimeError("a bug in the tracker")
        return real(self, event)

    monkeypatch.setattr(CallTracker, "feed", feed)
    with AmiServer.from_capture(capture, speed=0, shift_times=False) as server:
        listener = listen(server, sqlite_url, calls=10_000, timeout=6, batch_size=500)
    assert "a bug in the tracker" in caplog.text
    # every event is journaled; a call the failed batch left open (its last Hangup was in that
    # batch, which depends on how the stream was chunked) adds a CallmonGap marker at the stop
    store = Store(sqlite_url)
    with store.engine.connect() as conn:
        names = dict(conn.exec_driver_sql("SELECT name = 'CallmonGap', count(*) FROM journal GROUP BY 1").all())
    assert names[0] == len({e.key for e in events})
    assert store.count_journal("default") == len({e.key for e in events}) + names.get(1, 0)
    assert listener.stats.calls > 0
    run_cli("rebuild", "--db", sqlite_url)
    assert len(calls_of(sqlite_url)) == len(truth("j_load"))
