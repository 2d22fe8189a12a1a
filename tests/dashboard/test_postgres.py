"""The dashboard as deployed for several users: gunicorn with two workers
(``callmon.dashboard.wsgi:server``) over PostgreSQL; a session made by one worker is honoured by
the other, and the pages show what the command line says of the same database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading

import pytest
from selenium.webdriver.common.by import By

from tests.conftest import ROOT, run_cli
from tests.dashboard.browse import login, open_page, tile, wait_for
from tests.dashboard.conftest import AT, PASSWORD, add_users, first_recording

pytestmark = pytest.mark.pg


@pytest.fixture
def gunicorn(pg_url, config_file):
    pytest.importorskip("gunicorn")
    run_cli("ingest", *first_recording(), "--db", pg_url, "--config", str(config_file))
    add_users(pg_url)
    env = {**os.environ, "CALLMON_DB": pg_url, "CALLMON_CONFIG": str(config_file), "CALLMON_SECRET_KEY": "test-key"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:0", "--access-logfile", "-",
                             "--access-logformat", "%(p)s %(r)s %(s)s", "callmon.dashboard.wsgi:server"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        url = None
        for line in proc.stderr:
            lines.append(line)
            match = re.search(r"Listening at: (http://\S+)", line)
            if match:
                url = match.group(1)
            if url and sum("Booting worker" in x for x in lines) >= 2:
                break
        assert url, "".join(lines)
        threading.Thread(target=lambda: [lines.append(x) for x in proc.stderr], daemon=True).start()
        served: list[str] = []  # "<worker pid> <request line> <status>"
        threading.Thread(target=lambda: [served.append(x) for x in proc.stdout], daemon=True).start()
        yield url, lines, served
    finally:
        proc.terminate()
        proc.wait(15)


def test_gunicorn_workers_over_postgresql_serve_one_session_and_the_command_lines_figures(
        browser, gunicorn, pg_url, config_file, shoot):
    url, log, served = gunicorn
    calls = json.loads(run_cli("calls", "--db", pg_url, "--config", str(config_file), "--format", "json").stdout)
    login(browser, url, "super1", PASSWORD)
    for _ in range(3):  # requests land on either worker: the session holds on both
        open_page(browser, f"{url}/calls", "calls-count")
        wait_for(browser, lambda: browser.find_element(By.ID, "calls-count").text == f"{len(calls):,}건",
                 what="the grid's count")
    open_page(browser, f"{url}/?at={AT}", "live-tiles")
    inbound = [c for c in calls if c["direction"] == "inbound"]
    wait_for(browser, lambda: tile(browser, "calls") == f"{len(inbound):,}", what="the calls tile")
    assert tile(browser, "abandoned") == str(sum(c["outcome"] == "abandoned" for c in inbound))
    shoot("live-postgresql")
    assert sum("Booting worker" in line for line in log) >= 2
    dash_requests = [line.split()[0] for line in served if "/_dash-update-component" in line and line.split()[-1] == "200"]
    assert len(set(dash_requests)) == 2, "both workers answered the logged-in session's requests"
    assert not [line for line in log if "Traceback" in line]
