"""The live page follows a PBX: `callmon ami-server` replays the real busy-hour capture at real
speed, `callmon listen` follows it over AMI (pyst2, TCP), and the page in Chromium shows the
calls ringing with their ring count climbing, and the day's tiles filling."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from selenium.webdriver.common.by import By

from callmon.sources.ami.server import DEV_SECRET
from tests.conftest import ROOT, SAMPLES
from tests.dashboard.browse import login, open_page, tile, wait_for
from tests.dashboard.conftest import PASSWORD, Dashboard, add_users


def _start(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "callmon", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def live(tmp_path, config_file):
    """An empty database with users, the capture replayed live, the listener and the dashboard."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    add_users(url)
    server = _start("ami-server", "--capture", str(SAMPLES / "j_load" / "ami.raw"), "--port", "0", "--speed", "1")
    procs = [server]
    try:
        line = server.stdout.readline()
        port = int(re.search(r"listening on [\d.]+:(\d+)", line).group(1))
        procs.append(_start("listen", "--ami", f"127.0.0.1:{port}", "--db", url, "--config", str(config_file),
                            env={"CALLMON_AMI_SECRET": DEV_SECRET}))
        dashboard = Dashboard(url, config_file)
        yield dashboard
        dashboard.stop()
    finally:
        for p in reversed(procs):
            _stop(p)


def _ringing(browser) -> dict[str, int]:
    """call id -> ring count of the cards in 'ringing now'."""
    out = {}
    for card in browser.find_elements(By.CSS_SELECTOR, "#live-ringing [data-call]"):
        count = card.find_elements(By.CSS_SELECTOR, "[data-rings]")
        if count:
            out[card.get_attribute("data-call")] = int(count[0].get_attribute("data-rings"))
    return out


def test_live_page_fills_and_a_ringing_calls_count_climbs_while_the_capture_replays(browser, live, shoot):
    login(browser, live.url, "super1", PASSWORD)
    open_page(browser, live.url + "/", "live-tiles")
    assert tile(browser, "calls") == "0"
    # the third call of the capture rings 6.8 s before agent 2003 answers: rings 1, 2, 3
    seen: dict[str, list[int]] = {}

    def climbed():
        for call_id, rings in _ringing(browser).items():
            seen.setdefault(call_id, [])
            if not seen[call_id] or seen[call_id][-1] != rings:
                seen[call_id].append(rings)
        return next((c for c, counts in seen.items() if len(counts) >= 2 and counts[-1] > counts[0]), None)

    call_id = wait_for(browser, climbed, timeout=40, what="a ringing call whose ring count climbs")
    counts = seen[call_id]
    assert counts == sorted(counts) and counts[0] >= 1
    card = browser.find_element(By.CSS_SELECTOR, f"#live-ringing [data-call='{call_id}']")
    if counts[-1] >= 3:
        assert "r3" in card.get_attribute("class")  # red from the third ring
    elif counts[-1] == 2:
        assert "r2" in card.get_attribute("class")  # amber at the second
    shoot("live-ringing")
    wait_for(browser, lambda: int(tile(browser, "calls").replace(",", "")) >= 3, timeout=30,
             what="the day's calls tile to count the finished calls")
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#agent-table tbody tr"), timeout=10,
             what="the per-agent table")
    shoot("live-filling")
    assert not live.server_errors()
