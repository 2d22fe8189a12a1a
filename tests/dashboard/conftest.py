"""Fixtures of the dashboard's browser tests: a database filled from the real sample files by the
real command line, users made by the users service, the dashboard as its own process
(``python -m callmon.dashboard``, a free port) and headless Chromium driven by selenium.

Chromium: ``CALLMON_TEST_CHROMIUM`` (CI sets it) names the browser; when it is set and the
browser or its driver cannot start, the tests FAIL. Without it, /usr/bin/chromium is used when
present, else the browser tests are skipped.

Screenshots go to the test's tmp dir, and also to ``CALLMON_SHOTS_DIR`` when that is set.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES, run_cli

PASSWORD = "correct horse battery"
USERS = {"viewer1": "viewer", "eval1": "evaluator", "super1": "supervisor", "admin1": "admin"}
DIRECTORY = """
[directory]
"2001" = { name = "김민원", team = "민원팀" }
"2002" = { name = "이상담", team = "민원팀" }
"2003" = { name = "박안내", team = "안내팀" }
"""
DAY = "2026-11-23"  # the day the sample calls were recorded on (Asia/Seoul)
AT = "2026-11-23T06:00:00"  # a moment after them, for the pages' ?at=
CHROMIUM_ENV = "CALLMON_TEST_CHROMIUM"


@pytest.fixture(scope="session")
def config_file(tmp_path_factory) -> Path:
    """The sample files' configuration plus a directory of three agents in two teams."""
    path = tmp_path_factory.mktemp("config") / "callmon.toml"
    path.write_text((SAMPLES / "callmon.toml").read_text(encoding="utf-8") + DIRECTORY, encoding="utf-8")
    return path


def add_users(url: str) -> None:
    from callmon.service.users import Users

    users = Users.open(url)
    for name, role in USERS.items():
        users.add(name, role, PASSWORD)
    users.close()


def first_recording() -> list[str]:
    """The files of the first PBX's recording of 2026-11-23: every scenario whose Master.csv is in
    UTC, as sample_cdr/callmon.toml says (later recordings carry a callmon.toml of their own)."""
    return [str(p) for name in ("Master.csv", "cel.csv", "queue_log") for p in sorted(SAMPLES.glob(f"*/{name}"))
            if p.stat().st_size and not (p.parent / "callmon.toml").exists()]


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory, config_file) -> str:
    """:func:`first_recording` imported by ``callmon ingest``."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'callmon.db'}"
    run_cli("ingest", *first_recording(), "--db", url, "--config", str(config_file))
    add_users(url)
    return url


class Dashboard:
    """A dashboard process: ``url`` to browse, ``stop()`` to end it."""

    def __init__(self, db_url: str, config: Path, *, login_limit: str | None = None):
        cmd = [sys.executable, "-m", "callmon.dashboard", "--db", db_url, "--config", str(config), "--port", "0"]
        if login_limit:
            cmd += ["--login-limit", login_limit]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "CALLMON_SECRET_KEY": "test-only-key"})
        self.errors: list[str] = []
        line = self.proc.stdout.readline()
        match = re.search(r"dashboard on (http://\S+)", line)
        if not match:
            self.proc.kill()
            raise RuntimeError(f"the dashboard did not start: {line!r} {self.proc.stderr.read()}")
        self.url = match.group(1)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.errors.append(line)

    def server_errors(self) -> list[str]:
        """Tracebacks the server printed (a callback that raised)."""
        return [line for line in self.errors if "Traceback" in line or "Error" in line]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def dashboard(sample_db, config_file):
    d = Dashboard(sample_db, config_file)
    yield d
    d.stop()


def _chromium() -> str | None:
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        return given
    return shutil.which("chromium") or (None if not Path("/usr/bin/chromium").exists() else "/usr/bin/chromium")


@pytest.fixture(scope="session")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def browser(downloads):
    """Headless Chromium (selenium), one for the session; its downloads land in ``downloads``."""
    binary = _chromium()
    if binary is None:
        pytest.skip(f"no Chromium ({CHROMIUM_ENV} not set and none installed)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000",
                "--disable-gpu"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
    except Exception as exc:  # the browser was asked for: it must work
        pytest.fail(f"Chromium at {binary} (driver {driver_path}) did not start: {exc}")
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def shoot(browser, tmp_path, request):
    """``shoot(name)``: a screenshot of the whole page into the test's tmp dir (and the shots dir)."""
    copy_to = os.environ.get("CALLMON_SHOTS_DIR")

    def _shoot(name: str) -> Path:
        for _ in range(2):  # a taller window can make the page taller (the grid's height follows it)
            height = browser.execute_script("return Math.max(document.body.scrollHeight, 900)")
            browser.set_window_size(1440, min(int(height) + 40, 5000))
            time.sleep(0.3)
        browser.execute_script("window.scrollTo(0, 0)")
        path = tmp_path / f"{request.node.name}-{name}.png"
        browser.save_screenshot(str(path))
        browser.set_window_size(1440, 1000)
        if copy_to:
            Path(copy_to).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(copy_to) / f"{name}.png")
        return path

    return _shoot
