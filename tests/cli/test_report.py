"""`callmon report` and `callmon training` on every real capture plus a callback story, SQLite
and PostgreSQL. The figures are computed again here, independently, from `calls --format json`
(and `callbacks --format json`) and compared with the xlsx (read by openpyxl) and the csv
files (read by pandas)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime

import numpy as np
import openpyxl
import pandas as pd
import pytest

from callmon.core.config import load_config
from callmon.metrics.rules import RuleSet
from tests.callback_story import callback, kst, missed
from tests.cli_main import main_fails
from tests.conftest import LEG_SCENARIOS, SAMPLES, run_cli

SCENARIOS = LEG_SCENARIOS  # the first PBX: its phones are the directory below

AT = "2026-11-30T12:00"
DIRECTORY = {"2001": ("Kim Agent", "민원팀"), "2002": ("Lee Agent", "민원팀"), "2003": ("Park Agent", "요금팀")}
CONFIG = "[rules]\nring_limit = 3\n[directory]\n" + "".join(
    f'"{ext}" = {{ name = "{name}", team = "{team}" }}\n' for ext, (name, team) in DIRECTORY.items())


@pytest.fixture
def cfg(tmp_path) -> str:
    path = tmp_path / "callmon.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return str(path)


@pytest.fixture
def stored(db_url, cfg, tmp_path):
    """Every capture, and c_direct_abandon's caller called back late (Tue 10:00; due Mon 18:00)."""
    files = [SAMPLES / s / "ami.raw" for s in SCENARIOS if s != "c_direct_abandon"]
    files += [missed(tmp_path), callback(tmp_path, kst(2026, 11, 24, 10))]
    run_cli("ingest", *map(str, files), "--db", db_url, "--config", cfg)
    calls = json.loads(run_cli("calls", "--format", "json", "--db", db_url).stdout)
    callbacks = json.loads(run_cli("callbacks", "--format", "json", "--at", AT, "--db", db_url, "--config", cfg).stdout)
    return db_url, calls, callbacks


def figures(calls: list[dict], callbacks: list[dict]) -> dict:
    """The institution's figures, from the JSON contracts only."""
    inbound = [c for c in calls if c["direction"] == "inbound"]
    answered = [c for c in inbound if c["outcome"] == "answered"]
    seconds = [c["ring_seconds"] for c in answered]
    rules = Counter(c["ring_rule"] for c in inbound)
    statuses = Counter(cb["status"] for cb in callbacks)
    return {
        "calls": len(inbound), "answered": len(answered),
        "abandoned": sum(c["outcome"] == "abandoned" for c in inbound),
        "ring_pass": rules["pass"], "ring_fail": rules["fail"], "ring_rate": rules["pass"] / (rules["pass"] + rules["fail"]),
        **{f"rings_{k}": sum(c["rings"] == k for c in answered) for k in range(1, 6)},
        "avg_ring_seconds": float(np.mean(seconds)), "p90_ring_seconds": float(np.percentile(seconds, 90)),
        "outbound": sum(c["direction"] == "outbound" for c in calls),
        "agent_first_hangups": sum(c["hangup_rule"] == "fail" for c in calls),
        "callbacks_due": len(callbacks) - statuses["cancelled"], "callbacks_late": statuses["late"],
        "callbacks_overdue": statuses["overdue"], "callbacks_met": statuses["met"],
    }


def agent_figures(calls: list[dict]) -> dict[str, dict]:
    """The agents' view from the calls' legs: each staff phone that rang, judged on its own ringing."""
    out: dict[str, dict] = defaultdict(lambda: Counter())
    for c in calls:
        if c["direction"] != "inbound":
            continue
        for leg in c["legs"]:
            if leg["party"] != "staff" or leg["ring_started_at"] is None:
                continue
            name = DIRECTORY[leg["endpoint"]][0]
            end = leg["answered_at"] or leg["ring_ended_at"] or leg["ended_at"] or c["ended_at"]
            rang = datetime.fromisoformat(end).timestamp() - datetime.fromisoformat(leg["ring_started_at"]).timestamp()
            out[name]["rang"] += 1
            if leg["answered_at"]:
                out[name]["answered"] += 1
                out[name]["ring_pass" if rang < 6.0 else "ring_fail"] += 1
            elif rang >= 6.0:
                out[name]["ring_fail"] += 1
    for c in calls:
        if c["hangup_rule"] == "fail":  # no transfer among them: the answerer / the caller hung up
            ext = c["caller"] if c["direction"] == "outbound" else c["answered_by"]
            out[DIRECTORY[ext][0]]["agent_first_hangups"] += 1
    return out


def sheet(workbook, name: str) -> list[dict]:
    """A sheet's rows by field name (its headings are for people: LABELS says which is which)."""
    from callmon.reporting.writers import LABELS

    field = {label: key for key, label in LABELS.items()}
    rows = list(workbook[name].iter_rows(values_only=True))
    return [dict(zip([field.get(h, h) for h in rows[0]], r)) for r in rows[1:]]


def check(got: dict, want: dict) -> None:
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-3), key  # the JSON rounds durations to ms


def test_xlsx_report_holds_the_figures_of_the_calls(stored, cfg, tmp_path):
    """Sheets per table; the institution, each agent, team and hour agree with the calls' JSON."""
    db, calls, callbacks = stored
    out = tmp_path / "h2.xlsx"
    result = run_cli("report", "--period", "2026-H2", "--out", str(out), "--at", AT, "--db", db, "--config", cfg)
    assert f"wrote {out}" in result.stdout
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames == ["보고서 report", "기관 institution", "상담원 agents", "팀 teams", "대기열 queues",
                             "시간대 hours", "일자 days", "콜백 callbacks", "교육 대상 training"]
    meta = dict(wb["보고서 report"].iter_rows(min_row=2, values_only=True))
    assert meta["기간 period"] == "2026-H2"
    assert meta["적용 규칙 rule set"] == RuleSet.from_config(load_config(cfg)).description
    assert "answer before ring 3" in meta["적용 규칙 rule set"] and "8 working hours" in meta["적용 규칙 rule set"]
    assert meta["콜백 기준 시각 callbacks as of"] == "2026-11-30T12:00:00.000+09:00"

    want = figures(calls, callbacks)
    assert want["callbacks_late"] == 1 and want["agent_first_hangups"] > 80
    (institution,) = sheet(wb, "기관 institution")
    check(institution, want)

    agents = {r["agent"]: r for r in sheet(wb, "상담원 agents")}
    for name, counts in agent_figures(calls).items():
        check(agents[name], {k: counts[k] for k in ("rang", "answered", "ring_pass", "ring_fail", "agent_first_hangups")})
    assert agents["Kim Agent"]["team"] == "민원팀"

    teams = {r["team"]: r for r in sheet(wb, "팀 teams")}
    for team in ("민원팀", "요금팀", "(none)"):
        mine = [c for c in calls if (c["team"] or "(none)") == team]
        check(teams[team], {"calls": sum(c["direction"] == "inbound" for c in mine),
                            "ring_fail": sum(c["ring_rule"] == "fail" and c["direction"] == "inbound" for c in mine)})
    hours = {r["hour"]: r["calls"] for r in sheet(wb, "시간대 hours") if r["calls"]}  # 10: the callback
    assert hours == Counter(datetime.fromisoformat(c["arrived_at"]).hour for c in calls if c["direction"] == "inbound")
    (late,) = [r for r in sheet(wb, "콜백 callbacks") if r["status"] == "late"]
    assert late["fulfilled_at"].startswith("2026-11-24T10:00:03") and late["due_at"].startswith("2026-11-23T18:00")


def test_csv_report_is_one_file_per_table(stored, cfg, tmp_path):
    """FILE.csv: the institution with the period and rule set first; FILE-agent.csv etc. beside it."""
    db, calls, callbacks = stored
    out = tmp_path / "report.csv"
    run_cli("report", "--period", "2026-H2", "--out", str(out), "--at", AT, "--db", db, "--config", cfg)
    summary = pd.read_csv(out)
    assert list(summary.columns[:2]) == ["period", "rule_set"]
    assert summary.loc[0, "rule_set"] == RuleSet.from_config(load_config(cfg)).description
    check(summary.iloc[0].to_dict(), figures(calls, callbacks))
    day = pd.read_csv(tmp_path / "report-day.csv")
    assert day["calls"].sum() == summary.loc[0, "calls"]
    queue = pd.read_csv(tmp_path / "report-queue.csv").set_index("queue")
    assert queue.loc["support", "calls"] == sum(c["queue"] == "support" for c in calls)
    for name in ("agent", "team", "hour", "callbacks", "training"):
        assert (tmp_path / f"report-{name}.csv").exists()


def test_an_empty_period_names_the_rule_set_too(sqlite_url, cfg, tmp_path):
    from callmon.storage import Store

    Store(sqlite_url).dispose()  # a database with nothing in it yet (reading never creates one)
    run_cli("report", "--period", "2026-H1", "--out", str(tmp_path / "h1.csv"), "--db", sqlite_url, "--config", cfg)
    summary = pd.read_csv(tmp_path / "h1.csv")
    assert (summary.loc[0, "period"], summary.loc[0, "calls"]) == ("2026-H1", 0)


@pytest.mark.parametrize("name, message", [
    ("r.txt", "unknown report format '.txt'"),
    ("r", "unknown report format '(no extension)'"),
])
def test_other_formats_are_refused_clearly(sqlite_url, tmp_path, capsys, name, message):
    err = main_fails(capsys, "report", "--period", "2026-H2", "--out", str(tmp_path / name), "--db", sqlite_url)
    assert message in err and not (tmp_path / name).exists()


def test_reading_a_database_that_is_not_there_is_a_clear_error_and_creates_nothing(tmp_path, capsys):
    """report, calls, callbacks and training only read: a missing SQLite file is named, not created."""
    db = tmp_path / "none.db"
    for args in (["report", "--period", "2026-H2", "--out", str(tmp_path / "r.csv")], ["calls"], ["callbacks"],
                 ["training"]):
        err = main_fails(capsys, *args, "--db", f"sqlite:///{db}")
        assert "no database file" in err and str(db) in err
    assert not db.exists() and not (tmp_path / "r.csv").exists()


def test_bad_period_is_a_usage_error(sqlite_url, tmp_path):
    result = run_cli("report", "--period", "2026-H3", "--out", str(tmp_path / "r.csv"), "--db", sqlite_url, expect=2)
    assert "not a period" in result.output


# --- training ------------------------------------------------------------------------------

def training(db: str, cfg: str, *args: str) -> list[dict]:
    return json.loads(run_cli("training", "--format", "json", "--db", db, "--config", cfg, *args).stdout)


def test_third_warning_puts_the_employee_on_the_training_list(db_url, cfg, tmp_path):
    """b: Kim answers late and hangs up first (2 warnings); d: Kim's phone rings out (the 3rd)."""
    b, d = (str(SAMPLES / s / "ami.raw") for s in ("b_direct_late_agent_hangs_up", "d_queue_rna_then_answer"))
    run_cli("ingest", b, "--db", db_url, "--config", cfg)
    assert training(db_url, cfg, "--period", "2026-H2") == []
    run_cli("ingest", d, "--db", db_url, "--config", cfg)
    (kim,) = training(db_url, cfg, "--period", "2026-H2")
    calls = {c["caller"]: c for c in json.loads(run_cli("calls", "--format", "json", "--db", db_url).stdout)}
    b_id, d_id = calls["01010100001"]["call_id"], calls["01010300001"]["call_id"]
    assert (kim["employee"], kim["team"], kim["period"], kim["warnings"]) == ("Kim Agent", "민원팀", "2026-H2", 3)
    assert kim["call_ids"] == [b_id, b_id, d_id] and kim["reached_at"] == calls["01010300001"]["arrived_at"]
    assert training(db_url, cfg, "--period", "2026-H1") == []
    table = run_cli("training", "--period", "2026-H2", "--db", db_url, "--config", cfg).stdout
    assert "CS 교육 대상 1명" in table and "Kim Agent" in table


def test_training_threshold_and_period_from_the_config(sqlite_url, tmp_path):
    """[warnings] training_threshold and period; without --period the current period at --at."""
    cfg = tmp_path / "w.toml"
    cfg.write_text(CONFIG + '[warnings]\ntraining_threshold = 2\nperiod = "quarter"\n', encoding="utf-8")
    run_cli("ingest", str(SAMPLES / "b_direct_late_agent_hangs_up" / "ami.raw"), "--db", sqlite_url, "--config", str(cfg))
    (kim,) = training(sqlite_url, str(cfg), "--at", "2026-12-01")
    assert (kim["employee"], kim["period"], kim["warnings"]) == ("Kim Agent", "2026-Q4", 2)
    assert training(sqlite_url, str(cfg), "--at", "2027-01-05") == []


def test_an_unkept_memo_is_a_warning_for_who_took_it(sqlite_url, tmp_path):
    """Lee takes a memo Mon 11:00 (due Tue 11:00); nobody calls back: on Wed it counts against Lee."""
    cfg = tmp_path / "one.toml"
    cfg.write_text(CONFIG + "[warnings]\ntraining_threshold = 1\n", encoding="utf-8")
    run_cli("callbacks", "add", "--number", "010-7777-0000", "--purpose", "요금", "--agent", "2002",
            "--at", "2026-11-23T11:00", "--db", sqlite_url, "--config", str(cfg))
    assert training(sqlite_url, str(cfg), "--at", "2026-11-24T10:00") == []  # not due yet
    (lee,) = training(sqlite_url, str(cfg), "--at", "2026-11-25T10:00")
    assert (lee["employee"], lee["warnings"], lee["reached_at"]) == ("Lee Agent", 1, "2026-11-24T11:00:00.000+09:00")
