"""The reports page: a period's figures equal `callmon report`'s, and its exports in CSV, XLSX,
HTML and PDF are the reporting writers' files, masked for a viewer; a supervisor's export with
full numbers names its reason in the access log."""

from __future__ import annotations

import csv
import io
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.conftest import run_cli
from tests.dashboard.browse import login, open_page, table_rows, wait_for
from tests.dashboard.conftest import AT, DAY, PASSWORD
from tests.dashboard.test_pages import _full_numbers


def _export(browser, downloads: Path, fmt: str) -> Path:
    """Click the format's button and wait for the finished download."""
    for f in downloads.iterdir():
        f.unlink(missing_ok=True) if not f.is_dir() else shutil.rmtree(f, ignore_errors=True)
    browser.find_element(By.XPATH, f"//button[normalize-space()='{fmt.upper()}']").click()

    suffix = ".zip" if fmt == "csv" else f".{fmt}"

    def done():  # the finished file, not Chromium's hidden or partial ones
        files = [f for f in downloads.iterdir() if f.name.endswith(suffix) and not f.name.startswith(".")]
        return files[0] if files and files[0].stat().st_size > 0 else None

    path = wait_for(browser, done, timeout=60, what=f"the {fmt} download")
    time.sleep(0.2)
    kept = downloads.parent / f"kept-{fmt}-{time.monotonic_ns()}"
    kept.mkdir()
    return Path(shutil.move(path, kept / path.name))


def _texts(path: Path) -> str:
    """Everything readable in an exported file (a zip's members, a workbook's cells)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8-sig") for n in z.namelist())
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        return "\n".join(str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row
                         if c is not None)
    return path.read_bytes().decode("utf-8", errors="replace")


@pytest.fixture
def report_page(browser, dashboard):
    def _open(user: str):
        login(browser, dashboard.url, user, PASSWORD)
        open_page(browser, f"{dashboard.url}/reports?at={AT}&kind=day&period={DAY}", "rep-body")
        wait_for(browser, lambda: table_rows(browser, "rep-summary"), what="the summary")
    return _open


def test_report_page_equals_callmon_report_and_exports_each_format_masked(
        browser, dashboard, report_page, downloads, sample_db, config_file, tmp_path, shoot):
    report_page("viewer1")
    out = tmp_path / "day.csv"
    run_cli("report", "--period", DAY, "--out", str(out), "--at", AT, "--db", sample_db, "--config", str(config_file))
    summary = next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    shown = table_rows(browser, "rep-summary")[0]
    assert shown[:3] == [f"{int(summary[k]):,}" for k in ("calls", "answered", "abandoned")]
    assert shown[3] == f"{float(summary['ring_rate']) * 100:.1f}%"
    agents = {r[0]: r for r in table_rows(browser, "rep-agent")}
    cli_agents = {r["agent"]: r for r in csv.DictReader(io.StringIO(
        (tmp_path / "day-agent.csv").read_text(encoding="utf-8-sig")))}
    for name in ("김민원", "이상담", "박안내"):
        assert agents[name][2] == cli_agents[name]["rang"] and agents[name][3] == cli_agents[name]["answered"]
        assert agents[name][4] == f"{float(cli_agents[name]['ring_rate']) * 100:.1f}%"
    teams = {r[0]: r for r in table_rows(browser, "rep-team")}
    cli_teams = {r["team"]: r for r in csv.DictReader(io.StringIO(
        (tmp_path / "day-team.csv").read_text(encoding="utf-8-sig")))}
    for name in ("민원팀", "안내팀"):
        assert teams[name][1:4] == [cli_teams[name][k] for k in ("calls", "answered", "abandoned")]
        assert teams[name][4] == f"{float(cli_teams[name]['ring_rate']) * 100:.1f}%"
    shoot("reports")
    full = _full_numbers(sample_db, config_file)
    files = {fmt: _export(browser, downloads, fmt) for fmt in ("csv", "xlsx", "html", "pdf")}
    assert files["csv"].name == f"callmon-report-{DAY}-csv.zip"
    with zipfile.ZipFile(files["csv"]) as z:
        exported = next(csv.DictReader(io.StringIO(z.read(f"callmon-report-{DAY}.csv").decode("utf-8-sig"))))
    assert exported["calls"] == summary["calls"] and exported["ring_rate"] == summary["ring_rate"]
    assert files["pdf"].read_bytes().startswith(b"%PDF") and files["pdf"].stat().st_size > 10_000
    assert "<svg" in files["html"].read_text(encoding="utf-8") or "<img" in files["html"].read_text(encoding="utf-8")
    for fmt in ("csv", "xlsx", "html"):
        content = _texts(files[fmt])
        assert "****" in content, f"{fmt}: the callbacks' numbers are not there, masked"
        assert not [n for n in full if n in content], f"{fmt}: a full number in a viewer's export"


def test_a_supervisors_export_with_full_numbers_is_in_the_access_log(browser, dashboard, report_page, downloads,
                                                                      sample_db, config_file):
    report_page("super1")
    browser.find_element(By.CSS_SELECTOR, "#export-full input[type=checkbox]").click()
    path = None
    browser.find_element(By.XPATH, "//button[normalize-space()='XLSX']").click()
    wait_for(browser, lambda: "사유" in browser.find_element(By.ID, "export-result").text, what="a reason asked for")
    browser.find_element(By.ID, "export-reason").send_keys("감사 자료 제출")
    path = _export(browser, downloads, "xlsx")
    full = _full_numbers(sample_db, config_file)
    assert [n for n in full if n in _texts(path)], "no full number in a full-numbers export"
    from callmon.service.users import Users

    rows = Users.open(sample_db).access_log()
    assert any(r["user"] == "super1" and r["action"] == "export" and r["why"] == "감사 자료 제출"
               and DAY in r["what"] for r in rows), rows
