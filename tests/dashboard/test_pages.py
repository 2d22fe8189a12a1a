"""The dashboard in headless Chromium over the real sample calls: what a supervisor, a viewer and
an admin see, and that it equals what the command line says for the same data."""

from __future__ import annotations

import csv
import io
import json
import re

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from callmon.dashboard.i18n import KO
from tests.conftest import run_cli
from tests.dashboard.browse import choose, login, open_page, table_rows, text, tile, wait_for
from tests.dashboard.conftest import AT, DAY, PASSWORD


REASON = "=1+1 민원 회신 확인"  # starts like a spreadsheet formula


def _cli_json(*args: str) -> list[dict]:
    return json.loads(run_cli(*args).stdout)


def _full_numbers(sample_db, config_file) -> set[str]:
    """Every outside number of the calls: as dialled, as the masking rule groups it, and in E.164
    (as the callback obligations keep it)."""
    calls = _cli_json("calls", "--db", sample_db, "--config", str(config_file), "--format", "json")
    numbers = {c["caller"] for c in calls if len(c["caller"]) > 6} | {c["called"] for c in calls if len(c["called"]) > 6}
    mobiles = [n for n in numbers if n.startswith("010") and len(n) == 11]
    formatted = {f"{n[:3]}-{n[3:7]}-{n[7:]}" for n in mobiles} | {f"+82{n[1:]}" for n in mobiles}
    return numbers | formatted


def test_live_page_tiles_and_tables_equal_the_command_lines_report(browser, dashboard, sample_db, config_file,
                                                                    tmp_path, shoot):
    """The live page of the sample day shows the figures `callmon report` writes for that day."""
    login(browser, dashboard.url, "super1", PASSWORD)
    open_page(browser, f"{dashboard.url}/?at={AT}", "live-tiles")
    wait_for(browser, lambda: tile(browser, "calls") != "", what="the tiles")
    out = tmp_path / "day.csv"
    run_cli("report", "--period", DAY, "--out", str(out), "--at", AT, "--db", sample_db, "--config", str(config_file))
    summary = next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert tile(browser, "calls") == f"{int(summary['calls']):,}"
    assert tile(browser, "answered") == f"{int(summary['answered']):,}"
    assert tile(browser, "abandoned") == f"{int(summary['abandoned']):,}"
    assert tile(browser, "agent-first") == f"{int(summary['agent_first_hangups']):,}"
    assert tile(browser, "ring-rate") == f"{float(summary['ring_rate']) * 100:.1f}%"
    teams = {r["team"]: r for r in csv.DictReader(io.StringIO(
        (tmp_path / "day-team.csv").read_text(encoding="utf-8-sig")))}
    shown = {row[0]: row for row in table_rows(browser, "team-table")}
    assert set(shown) >= {"민원팀", "안내팀"}
    for team in ("민원팀", "안내팀"):
        assert shown[team][1] == teams[team]["calls"], team
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#live-hours .bars, #live-hours .trace"),
             what="the per-hour chart")
    assert "민원팀" in text(browser, "team-table") and "김민원" in text(browser, "agent-table")
    shoot("live")
    assert not dashboard.server_errors()


def test_live_callback_tiles_count_every_waiting_obligation_with_overdue_as_its_subset(browser, dashboard, sample_db,
                                                                                          config_file):
    """The day after the sample day every missed call's obligation is overdue: the waiting tile
    counts what `callmon callbacks` lists as unmet (open + overdue), the overdue tile its overdue part."""
    at = "2026-11-24T15:00:00"
    cli = _cli_json("callbacks", "--at", at, "--db", sample_db, "--config", str(config_file), "--format", "json")
    unmet = [c for c in cli if c["status"] in ("open", "overdue")]
    overdue = [c for c in unmet if c["status"] == "overdue"]
    assert overdue  # the moment is chosen so that some are past due
    login(browser, dashboard.url, "super1", PASSWORD)
    open_page(browser, f"{dashboard.url}/?at={at}", "live-tiles")
    wait_for(browser, lambda: tile(browser, "cb-waiting") != "", what="the callback tiles")
    assert tile(browser, "cb-waiting") == f"{len(unmet):,}"
    assert tile(browser, "cb-overdue") == f"{len(overdue):,}"
    assert "초과 포함" in text(browser, "tile-cb-waiting")


def test_overdue_callbacks_show_how_far_past_due_in_working_time_of_the_rules_calendar(browser, dashboard, sample_db,
                                                                                         config_file):
    """The backlog's column is working time: an overdue row says how much working time has passed
    since its due time by the callback rule's calendar (not clock hours through nights)."""
    from datetime import datetime

    from callmon.core.config import load_config
    from callmon.dashboard.fmt import span
    from callmon.metrics.rules import RuleSet

    at = "2026-11-24T15:00:00"
    cfg = load_config(config_file)
    calendar = RuleSet.from_config(cfg).policy.calendar
    now = datetime.fromisoformat(at).replace(tzinfo=cfg.tz).timestamp()
    cli = _cli_json("callbacks", "--at", at, "--db", sample_db, "--config", str(config_file), "--format", "json")
    overdue = {c["callback_id"]: c for c in cli if c["status"] == "overdue"}
    assert overdue
    login(browser, dashboard.url, "super1", PASSWORD)
    open_page(browser, f"{dashboard.url}/callbacks?at={at}", "cb-backlog")
    wait_for(browser, lambda: table_rows(browser, "cb-backlog-table"), what="the backlog")
    rows = {int(r[0]): r for r in table_rows(browser, "cb-backlog-table")}
    for cb_id, cb in overdue.items():
        due = datetime.fromisoformat(cb["due_at"]).timestamp() if isinstance(cb["due_at"], str) else cb["due_at"]
        worked = calendar.working_seconds_between(due, now)
        assert 0 < worked < now - due  # the night between is not working time
        assert rows[cb_id][4] == f"업무시간 {span(worked, 'ko')} 초과", rows[cb_id]


def test_switching_the_language_redraws_the_pages_in_english_and_back(browser, dashboard, shoot):
    """The header's switch sets the language for every page until switched back."""
    login(browser, dashboard.url, "super1", PASSWORD)
    open_page(browser, f"{dashboard.url}/callbacks?at={AT}", "cb-backlog")
    assert "회신" in browser.find_element(By.CSS_SELECTOR, "header nav").text
    browser.find_element(By.ID, "lang-switch").click()
    wait_for(browser, lambda: "Callbacks" in browser.find_element(By.CSS_SELECTOR, "header nav").text,
             what="English navigation")
    assert "/callbacks" in browser.current_url  # back on the same page
    open_page(browser, f"{dashboard.url}/?at={AT}", "live-tiles")
    assert "Inbound calls" in text(browser, "live-tiles")
    shoot("live-english")
    browser.find_element(By.ID, "lang-switch").click()
    wait_for(browser, lambda: "수신 통화" in text(browser, "live-tiles"), what="Korean again")


def test_browser_tab_titles_follow_the_language_on_load_and_on_navigation(browser, dashboard):
    """Each page's tab title is its navigation word in the reader's language, on a full load and
    after moving between pages inside the app."""
    login(browser, dashboard.url, "admin1", PASSWORD)
    open_page(browser, f"{dashboard.url}/monitoring", "_pages_content")
    wait_for(browser, lambda: browser.title == "모니터링 · callmon", what=f"the Korean title, not {browser.title!r}")
    browser.find_element(By.ID, "lang-switch").click()
    try:
        wait_for(browser, lambda: browser.title == "Monitoring · callmon", what=f"the English title, not {browser.title!r}")
        browser.find_element(By.CSS_SELECTOR, "header nav a[href='/callbacks']").click()
        wait_for(browser, lambda: browser.title == "Callbacks · callmon", what=f"the title after navigating: {browser.title!r}")
    finally:
        browser.find_element(By.ID, "lang-switch").click()
    wait_for(browser, lambda: browser.title == "회신 · callmon", what=f"Korean again, not {browser.title!r}")


def test_calls_grid_filters_on_the_server_and_opens_a_calls_timeline(browser, dashboard, sample_db, config_file,
                                                                      shoot):
    """Filtering the grid by outcome counts what `callmon calls` counts; a row opens its legs."""
    calls = _cli_json("calls", "--db", sample_db, "--config", str(config_file), "--format", "json")
    login(browser, dashboard.url, "super1", PASSWORD)
    open_page(browser, f"{dashboard.url}/calls", "calls-count")
    assert text(browser, "calls-count") == f"{len(calls):,}건"
    choose(browser, "f-outcome", "포기")
    abandoned = [c for c in calls if c["outcome"] == "abandoned"]
    wait_for(browser, lambda: text(browser, "calls-count") == f"{len(abandoned):,}건", what="the abandoned count")
    choose(browser, "f-team", "안내팀")
    wait_for(browser, lambda: text(browser, "calls-count") == "0건", what="no abandoned call of 안내팀")
    browser.get(f"{dashboard.url}/calls")  # the filters start empty again
    wait_for(browser, lambda: text(browser, "calls-count") == f"{len(calls):,}건", what="all calls again")
    since = browser.find_element(By.ID, "f-since")
    since.send_keys("2026-11-24", Keys.ENTER)  # the day after the sample calls
    wait_for(browser, lambda: text(browser, "calls-count") == "0건", what="no call from the next day on")
    since.clear()
    since.send_keys("2026/11/23", Keys.ENTER)
    wait_for(browser, lambda: text(browser, "calls-count").startswith(f"{len(calls):,}건 · 날짜는 YYYY-MM-DD"),
             what="a bad date ignored, and said so")
    since.clear()
    since.send_keys(DAY, Keys.ENTER)
    wait_for(browser, lambda: text(browser, "calls-count") == f"{len(calls):,}건", what="the sample day's calls")
    choose(browser, "f-rule", "벨 규칙 위반")
    failed = [c for c in calls if c["ring_rule"] == "fail"]
    wait_for(browser, lambda: text(browser, "calls-count") == f"{len(failed):,}건", what="the ring-rule failures")
    first = wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, ".ag-row[row-index='0'] .ag-cell"),
                     what="the first row")
    first[0].click()
    detail = wait_for(browser, lambda: browser.find_element(By.ID, "call-facts"), what="the call's facts")
    call_id = browser.find_element(By.CSS_SELECTOR, "#call-detail [data-call-id]").get_attribute("data-call-id")
    call = next(c for c in calls if c["call_id"] == call_id)
    assert call["ring_rule"] == "fail"
    assert "위반" in detail.text
    bars = wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#call-timeline .bars path, "
                                                                            "#call-timeline .point path"),
                    what="the timeline's bars")
    assert bars
    title = browser.find_element(By.CSS_SELECTOR, "#call-timeline .gtitle").text
    assert KO[call["hangup_by"]] in title  # who hung up first, as `callmon calls` says
    shoot("calls")


_CUT_OFF = """
const cut = [];
for (const el of document.querySelectorAll('.ag-header-cell-text, .ag-center-cols-container .ag-cell')) {
  if (el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1) cut.push(el.textContent);
}
return cut;
"""


def test_calls_grid_columns_fit_their_headings_and_words_in_both_languages(browser, dashboard):
    """At 1440 px no heading or cell of the calls grid is cut off with an ellipsis, in English
    (longer words) and in Korean."""
    login(browser, dashboard.url, "super1", PASSWORD)
    browser.set_window_size(1440, 1000)
    for lang in ("en", "ko"):
        browser.get(f"{dashboard.url}/lang/{lang}?next=/calls")
        open_page(browser, f"{dashboard.url}/calls", "calls-count")
        wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, ".ag-row .ag-cell"), what="rows")
        cells = browser.find_elements(By.CSS_SELECTOR, ".ag-center-cols-container .ag-cell")
        assert len(cells) > 50
        wait_for(browser, lambda: not browser.execute_script(_CUT_OFF),
                 what=f"{lang}: no cut-off text, but {browser.execute_script(_CUT_OFF)}")
        browser.execute_script(
            "document.querySelector('.ag-body-horizontal-scroll-viewport, .ag-center-cols-viewport').scrollLeft = 5000")
        wait_for(browser, lambda: not browser.execute_script(_CUT_OFF),
                 what=f"{lang}, scrolled right: no cut-off text, but {browser.execute_script(_CUT_OFF)}")
    browser.get(f"{dashboard.url}/lang/ko?next=/calls")


def test_callbacks_backlog_equals_the_command_line_and_a_memo_is_added_then_cancelled(
        browser, dashboard, sample_db, config_file, shoot):
    """The backlog lists what `callmon callbacks` lists as unmet; a memo added on the page opens
    an obligation the command line sees; cancelling it with a reason closes it."""
    login(browser, dashboard.url, "super1", PASSWORD)
    open_page(browser, f"{dashboard.url}/callbacks?at={AT}", "cb-backlog")
    wait_for(browser, lambda: table_rows(browser, "cb-backlog-table"), what="the backlog")
    cli = _cli_json("callbacks", "--at", AT, "--db", sample_db, "--config", str(config_file), "--format", "json")
    unmet = sorted(c["callback_id"] for c in cli if c["status"] in ("open", "overdue"))
    shown = sorted(int(r[0]) for r in table_rows(browser, "cb-backlog-table"))
    assert shown == unmet
    overdue_rows = browser.find_elements(By.CSS_SELECTOR, "#cb-backlog-table tr.overdue")
    assert len(overdue_rows) == sum(c["status"] == "overdue" for c in cli)
    shoot("callbacks")

    browser.find_element(By.ID, "memo-number").send_keys("010-5555-1234")
    browser.find_element(By.ID, "memo-name").send_keys("홍길동")
    browser.find_element(By.ID, "memo-purpose").send_keys("수도 요금 문의")
    browser.find_element(By.ID, "memo-agent").send_keys("2001")
    browser.find_element(By.ID, "memo-add").click()
    added = wait_for(browser, lambda: browser.find_element(By.ID, "memo-ok").text, what="the memo's confirmation")
    callback_id = int(re.search(r"(\d+)", added).group(1))
    wait_for(browser, lambda: any(r[0] == str(callback_id) for r in table_rows(browser, "cb-backlog-table")),
             what="the memo in the backlog")
    row = next(r for r in table_rows(browser, "cb-backlog-table") if r[0] == str(callback_id))
    assert row[1] == "010-****-1234" and "수도 요금 문의" in row
    cli = _cli_json("callbacks", "--at", AT, "--db", sample_db, "--config", str(config_file), "--format", "json")
    memo = next(c for c in cli if c["callback_id"] == callback_id)
    assert memo["number"] == "+821055551234" and memo["status"] == "open" and memo["purpose"] == "수도 요금 문의"

    choose(browser, "cancel-id", str(callback_id))
    browser.find_element(By.ID, "cancel-reason").send_keys("고객이 직접 방문함")
    browser.find_element(By.ID, "cancel-button").click()
    wait_for(browser, lambda: browser.find_element(By.ID, "cancel-ok").text, what="the cancellation")
    wait_for(browser, lambda: all(r[0] != str(callback_id) for r in table_rows(browser, "cb-backlog-table")),
             what="the memo gone from the backlog")
    cli = _cli_json("callbacks", "--at", AT, "--db", sample_db, "--config", str(config_file), "--format", "json")
    memo = next(c for c in cli if c["callback_id"] == callback_id)
    assert memo["status"] == "cancelled" and memo["cancel_reason"] == "고객이 직접 방문함"
    shoot("callbacks-after-cancel")


def test_a_viewer_sees_masked_numbers_on_every_page(browser, dashboard, sample_db, config_file, shoot):
    """No page source a viewer gets holds a caller's full number, and the unmask controls are absent."""
    full = _full_numbers(sample_db, config_file)
    assert full
    login(browser, dashboard.url, "viewer1", PASSWORD)
    # (page, element drawn last, whether it shows numbers)
    pages = [(f"/?at={AT}", "live-tiles", False), (f"/callbacks?at={AT}", "cb-backlog", True),
             ("/calls", "calls-count", True), (f"/reports?at={AT}&kind=day&period={DAY}", "rep-body", False)]
    for path, ready, numbers in pages:
        open_page(browser, dashboard.url + path, ready)
        if path == "/calls":
            wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, ".ag-row .ag-cell"), what="rows")
            browser.find_elements(By.CSS_SELECTOR, ".ag-row[row-index='0'] .ag-cell")[0].click()
            wait_for(browser, lambda: browser.find_element(By.ID, "call-facts"), what="a call's facts")
            assert not browser.find_elements(By.ID, "reveal-button")
        source = browser.page_source
        leaked = [n for n in full if n in source]
        assert not leaked, f"{path}: full numbers in the page: {leaked[:3]}"
        assert not numbers or "****" in source, f"{path}: no masked number shown"
    assert not browser.find_elements(By.CSS_SELECTOR, "a[href='/access']")
    open_page(browser, dashboard.url + "/access", "forbidden")
    shoot("viewer-calls")


def test_a_supervisors_unmasking_is_in_the_access_log_an_admin_reads(browser, dashboard, sample_db, config_file,
                                                                    shoot, downloads):
    """A supervisor shows full numbers with a reason; the admin's access-log page lists who,
    what and why, and exports it as CSV (a reason that looks like a formula is escaped)."""
    full = _full_numbers(sample_db, config_file)
    login(browser, dashboard.url, "super1", PASSWORD)
    open_page(browser, f"{dashboard.url}/calls", "calls-count")
    source = browser.page_source
    assert not [n for n in full if n in source]
    browser.find_element(By.ID, "reveal-reason").send_keys(REASON)
    browser.find_element(By.ID, "reveal-button").click()
    shown = lambda source: [n for n in full if n in source]  # noqa: E731  (the page read once a poll)
    wait_for(browser, lambda: shown(browser.page_source), what="full numbers in the grid")
    shoot("calls-unmasked")
    browser.find_element(By.ID, "reveal-stop").click()
    wait_for(browser, lambda: "****" in (source := browser.page_source) and not shown(source),
             what="the numbers masked again")
    login(browser, dashboard.url, "admin1", PASSWORD)
    open_page(browser, f"{dashboard.url}/access", "access-table")
    rows = table_rows(browser, "access-table")
    # when, who, role, what was done, to what, why
    assert any(r[1:4] == ["super1", KO["role_supervisor"], KO["act_unmask"]] and r[5] == REASON
               for r in rows), rows
    # the target in the reader's language (Korean here; the CSV keeps the record as written)
    assert any(r[1] == "super1" and r[3] == KO["act_view"]
               and re.fullmatch(r"통화 목록 1-\d+행 \(전체 [\d,]+건, 조건: .+\)", r[4]) for r in rows), rows
    shoot("access")
    for f in downloads.iterdir():
        f.unlink(missing_ok=True)
    browser.find_element(By.ID, "access-export").click()
    exported = wait_for(browser, lambda: [f for f in downloads.iterdir() if f.name == "callmon-access-log.csv"],
                        what="the access log's CSV")[0]
    rows = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8-sig"))))
    assert any(r["user"] == "super1" and r["action"] == "unmask" and r["why"] == "'" + REASON for r in rows), rows
