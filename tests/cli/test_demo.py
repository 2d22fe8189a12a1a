"""`callmon demo`, run as a user runs it: a fresh SQLite database with weeks of history, the
bundled busy-hour capture replayed live over AMI and followed by the listener, the dashboard
serving with a one-time login; Ctrl-C stops all of it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

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


def _children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_demo_stops_the_replay_server_and_listener_when_its_terminal_closes_sighup(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "callmon", "demo", "--data", str(tmp_path / "demo"), "--port", "0",
                             "--weeks", "0", "--speed", "20"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    kids: list[int] = []
    try:
        _lines_until(proc, r"login")
        kids = _children(proc.pid)
        assert len(kids) == 2  # ami-server and listen, each in a session of its own
        proc.send_signal(signal.SIGHUP)
        proc.communicate(timeout=60)
        deadline = time.monotonic() + 10
        while any(_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [k for k in kids if _alive(k)], "orphans left running after SIGHUP"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for k in kids:  # never leave the orphans of a failed run behind
            if _alive(k):
                os.kill(k, signal.SIGKILL)
