"""The 모니터링 page in headless Chromium: a supervisor fills the evaluation form of a real test
call (a_direct_fast_caller_hangs_up, matched by the evaluator's number) and sees the running score
update and the saved score in the tables; a viewer gets no form, and a save forged by a viewer is
refused by the server."""

from __future__ import annotations

import json
import subprocess

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from callmon.monitoring.template import DEFAULT
from tests.conftest import SAMPLES, run_cli
from tests.dashboard.browse import choose, login, open_page, table_rows, text, wait_for
from tests.dashboard.conftest import PASSWORD, Dashboard, add_users

AT = "2026-12-01T12:00"
TRANSCRIPT = "안녕하십니까, 구청 민원팀 김민원입니다. ... 네, 그렇게 처리해 드리겠습니다. 감사합니다."
CALLED_AT = "2026-11-23 04:42:45"  # a_direct_fast_caller_hangs_up, Seoul time, as the evaluator noted it


@pytest.fixture(scope="module")
def monitored(tmp_path_factory, config_file):
    """Four real calls, the users, a session whose evaluator calls from a's number, planned."""
    url = f"sqlite:///{tmp_path_factory.mktemp('mon') / 'callmon.db'}"
    opts = ["--db", url, "--config", str(config_file)]
    files = [str(SAMPLES / s / "ami.raw") for s in ("a_direct_fast_caller_hangs_up", "b_direct_late_agent_hangs_up",
                                                     "c_direct_abandon", "h_blind_transfer")]
    run_cli("ingest", *files, *opts)
    add_users(url)
    run_cli("monitor", "create", "2026 하반기 전화 모니터링", "--period", "2026-H2", "--extension", "2001",
            "--evaluator", "평가1=010-1000-0001", "--evaluator", "평가2=010-1000-0001", *opts)
    run_cli("monitor", "plan", "1", "--seed", "1", "--per-person", "2", *opts)
    d = Dashboard(url, config_file)
    yield d, opts
    d.stop()


def _mark(browser, item: str, value: str) -> None:
    rows = browser.find_elements(By.CSS_SELECTOR, "#mon-items > div")
    index = [i.key for i in DEFAULT.items if not i.automatic].index(item)
    rows[index].find_element(By.XPATH, f".//label[normalize-space()='{value}']").click()


def test_supervisor_fills_the_form_and_sees_the_score_update(browser, monitored, shoot, downloads):
    dashboard, opts = monitored
    login(browser, dashboard.url, "super1", PASSWORD)
    open_page(browser, f"{dashboard.url}/monitoring?at={AT}", "mon-summary")
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#mon-items input[type=radio]"), what="the items")
    field = browser.find_element(By.ID, "mon-called-at")
    field.send_keys(CALLED_AT, Keys.ENTER)
    _mark(browser, "listening", "Y")
    wait_for(browser, lambda: "incomplete" in text(browser, "mon-preview"), what="an incomplete running score")
    # the transcript check fills the greeting (said) and the closing question (not asked)
    browser.find_element(By.ID, "mon-transcript").send_keys(TRANSCRIPT)
    browser.find_element(By.ID, "mon-suggest").click()
    wait_for(browser, lambda: "greeting: Y" in text(browser, "mon-suggestions"), what="the suggestions")
    assert "closing: N" in text(browser, "mon-suggestions")
    for key in ("explanation", "attitude", "name_again"):
        _mark(browser, key, "Y")
    # a: answered in time, not transferred, no callback; the customer hung up first
    applies = [i for i in DEFAULT.items if i.key not in ("apology", "transfer", "callback")]
    total = sum(i.weight for i in applies)
    want = 100 * (1 - DEFAULT.item("closing").weight / total)
    wait_for(browser, lambda: text(browser, "mon-preview").startswith(f"{want:.2f}"),
             what=f"the running score {want:.2f}")
    browser.find_element(By.ID, "mon-save").click()
    wait_for(browser, lambda: "저장됨" in text(browser, "mon-result"), what="the save")
    wait_for(browser, lambda: text(browser, "mon-institution-score") == f"{want:.2f}", what="the institution's score")
    rows = table_rows(browser, "mon-calls")
    assert rows == [["1", "평가1", "matched", "김민원", f"{round(want, 2)}", DEFAULT.grade(want)]]
    # a second evaluator on the same call hears no real listening: calibration shows it, the call's score is the mean
    choose(browser, "mon-evaluator", "평가2")
    wait_for(browser, lambda: "평가2" in text(browser, "mon-evaluator"), what="evaluator 2")
    _mark(browser, "listening", "N")
    second = want - 100 * DEFAULT.item("listening").weight / total
    wait_for(browser, lambda: text(browser, "mon-preview").startswith(f"{second:.2f}"), what=f"the running score {second:.2f}")
    browser.find_element(By.ID, "mon-save").click()
    mean = (round(want, 2) + round(second, 2)) / 2
    wait_for(browser, lambda: text(browser, "mon-institution-score") == f"{mean:.2f}", what="the mean of both")
    assert table_rows(browser, "mon-calibration") == [["1", "경청", "평가1", "1.0", "평가2", "0.0"]]
    shoot("monitoring")
    # the supervisor publishes: the PDF, anonymised, with no name and no number in it
    browser.find_element(By.ID, "mon-pdf").click()
    wait_for(browser, lambda: "monitoring-1.pdf" in text(browser, "mon-written"), timeout=60, what="the PDF")
    pdf = wait_for(browser, lambda: next(downloads.glob("monitoring-1.pdf"), None), timeout=30, what="the download")
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "2026 하반기 전화 모니터링" in words and "직원 A" in words
    assert "김민원" not in words and "1000-0001" not in words.replace(" ", "")
    history = json.loads(run_cli("monitor", "history", "1", "--format", "json", *opts).stdout)
    assert [(h["evaluator"], h["version"], h["author"], h["source"]) for h in history] == [
        ("평가1", 1, "super1", "dashboard"), ("평가2", 1, "super1", "dashboard")]
    assert not dashboard.server_errors()


def test_viewer_sees_the_scores_but_cannot_evaluate(browser, monitored):
    dashboard, opts = monitored
    login(browser, dashboard.url, "viewer1", PASSWORD)
    open_page(browser, f"{dashboard.url}/monitoring?at={AT}", "mon-summary")
    assert "열람 전용" in text(browser, "mon-readonly")
    for absent in ("mon-save", "mon-items", "mon-pdf"):
        assert not browser.find_elements(By.ID, absent)
    before = run_cli("monitor", "history", "1", "--format", "json", *opts).stdout
    # the save callback asked for directly, with the viewer's session: refused
    payload = {
        "output": "..mon-result.children...mon-version.data..",
        "outputs": [{"id": "mon-result", "property": "children"}, {"id": "mon-version", "property": "data"}],
        "inputs": [{"id": "mon-save", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["mon-save.n_clicks"],
        "state": [{"id": "mon-test-call", "property": "value", "value": "2"},
                  {"id": "mon-evaluator", "property": "value", "value": "평가1"},
                  {"id": "mon-called-at", "property": "value", "value": CALLED_AT},
                  {"id": "mon-number", "property": "value", "value": None},
                  [], [],
                  {"id": "mon-reason", "property": "value", "value": None},
                  {"id": "mon-session", "property": "value", "value": "1"},
                  {"id": "mon-version", "property": "value", "value": 0}],
    }
    answer = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/_dash-update-component', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify(arguments[0])}).then(r => r.text()).then(done, e => done(String(e)));", payload)
    assert "권한이 없습니다" in answer
    assert run_cli("monitor", "history", "1", "--format", "json", *opts).stdout == before


def test_an_evaluator_enters_evaluations_but_does_not_publish(browser, monitored):
    """Evaluators enter, supervisors publish: the evaluator has the form, not the report downloads,
    and a publish asked for directly with the evaluator's session is refused."""
    dashboard, _opts = monitored
    login(browser, dashboard.url, "eval1", PASSWORD)
    open_page(browser, f"{dashboard.url}/monitoring?at={AT}", "mon-summary")
    assert browser.find_elements(By.ID, "mon-save") and browser.find_elements(By.ID, "mon-items")
    assert not browser.find_elements(By.ID, "mon-pdf") and not browser.find_elements(By.ID, "mon-html")
    payload = {
        "output": "..mon-download.data...mon-written.children..",
        "outputs": [{"id": "mon-download", "property": "data"}, {"id": "mon-written", "property": "children"}],
        "inputs": [{"id": "mon-pdf", "property": "n_clicks", "value": 1},
                   {"id": "mon-html", "property": "n_clicks", "value": None}],
        "changedPropIds": ["mon-pdf.n_clicks"],
        "state": [{"id": "mon-anonymise", "property": "value", "value": True},
                  {"id": "mon-session", "property": "value", "value": "1"},
                  {"id": "mon-at", "property": "data", "value": None}],
    }
    answer = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/_dash-update-component', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify(arguments[0])}).then(r => r.text()).then(done, e => done(String(e)));", payload)
    assert "권한이 없습니다" in answer
    assert not dashboard.server_errors()
