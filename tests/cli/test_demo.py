"""`callmon demo`, run as a user runs it: a fresh SQLite database with weeks of history, the
bundled busy-hour capture replayed live over AMI and followed by the listener, the dashboard
serving with a one-time login; Ctrl-C stops all of it."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime

from callmon.core.config import load_config
from callmon.read import Reader
from callmon.service.users import Users
from tests.conftest import ROOT


def _lines_until(proc: subprocess.Popen, pattern: str, timeout: float = 120) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"demo ended early: {lines}")
        lines.append(line.rstrip("\n"))
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"no {pattern!r} within {timeout} s: {lines}")


def test_demo_imports_history_follows_a_live_pbx_serves_the_dashboard_and_stops_on_ctrl_c(tmp_path):
    data = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "callmon", "demo", "--data", str(data), "--port", "0",
                             "--weeks", "2", "--speed", "20"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        out = _lines_until(proc, r"login")
        text = "\n".join(out)
        address = re.search(r"dashboard: (http://127\.0\.0\.1:\d+)", text).group(1)
        ami_port = int(re.search(r"on 127\.0\.0\.1:(\d+)", text).group(1))
        user, password = re.search(r"login: (\S+) / (\S+)", text).groups()
        db = f"sqlite:///{data / 'demo.db'}"
        # the one-time login is a real user of the demo's database
        users = Users.open(db)
        assert users.verify(user, password).role == "admin"
        users.close()
        with urllib.request.urlopen(f"{address}/login", timeout=30) as page:
            assert page.status == 200
        # history: the past two weeks' working days each have calls, today's come from the live replay
        reader = Reader.open(db, load_config(data / "demo.toml"))
        calls = list(reader.calls(with_legs=False))
        days = {datetime.fromtimestamp(c["arrived_at"], reader.tz).date() for c in calls}
        assert len(calls) >= 1000 and len(days) >= 9
        deadline = time.monotonic() + 90
        while reader.tiles(time.time()).calls == 0 and time.monotonic() < deadline:
            time.sleep(1)
        tiles = reader.tiles(time.time())
        assert tiles.calls > 0 and tiles.answered > 0
        reader.close()
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "stopped" in rest
        with socket.socket() as s:  # the replay server has gone with it
            assert s.connect_ex(("127.0.0.1", ami_port)) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
