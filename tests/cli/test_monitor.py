"""`callmon monitor` on its own: help, templates and their versions, the plan, sheet errors that
name file and line, XLSX sheets, listings as JSON, the transcript check (SQLite; the whole
session on both databases is tests/monitoring/test_end_to_end.py)."""

from __future__ import annotations

import json

import openpyxl
import pytest

from callmon.monitoring.template import DEFAULT
from tests.cli_main import main_fails
from tests.conftest import SAMPLES, run_cli

A_AT = "2026-11-23 04:42:45"  # a_direct_fast_caller_hangs_up, Seoul time


@pytest.fixture
def opts(sqlite_url, cfg_path):
    o = ["--db", sqlite_url, "--config", cfg_path]
    run_cli("monitor", "create", "하반기", "--period", "2026-H2", "--team", "민원팀", "--team", "요금팀",
            "--evaluator", "평가1=010-1000-0001", *o)
    return o


def test_help_lists_every_monitor_command():
    out = run_cli("monitor", "--help").stdout
    for cmd in ("create", "plan", "evaluate", "import", "score", "report", "list", "calibrate", "history", "suggest"):
        assert cmd in out


def test_list_as_json_masks_the_evaluators_numbers(opts):
    rows = json.loads(run_cli("monitor", "list", "--format", "json", *opts).stdout)
    assert rows[0]["name"] == "하반기" and rows[0]["period"] == "2026-H2"
    assert rows[0]["evaluators"] == ["평가1 (010-****-0001)"]


def test_plan_is_stratified_over_the_teams_and_the_same_with_the_same_seed(opts):
    def plan(seed):
        return json.loads(run_cli("monitor", "plan", "1", "--seed", str(seed), "--per-person", "2", "--format", "json", *opts).stdout)
    a = plan(11)
    assert sorted(p["extension"] for p in a) == ["2001", "2001", "2002", "2002", "2003", "2003"]
    assert plan(11) == a


def test_sheet_errors_name_file_and_line_and_import_nothing(opts, tmp_path, capsys):
    """A bad row refuses the whole sheet, naming the file and its line."""
    run_cli("monitor", "plan", "1", "--seed", "1", *opts)
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("test_call,evaluator,called_at,greeting,closing\n"
                     f"1,평가1,{A_AT},Y,Y\n"
                     f"2,평가1,{A_AT},Y,maybe\n", encoding="utf-8")
    err = main_fails(capsys, "monitor", "import", "1", str(sheet), *opts)
    assert f"{sheet}:3:" in err and "closing" in err
    assert json.loads(run_cli("monitor", "history", "1", "--format", "json", *opts).stdout) == []
    for body, words in [
        (f"test_call,evaluator,called_at,answer_speed\n1,평가1,{A_AT},Y\n", "filled from the call record"),
        (f"test_call,evaluator,called_at,smile\n1,평가1,{A_AT},Y\n", "no item 'smile'"),
        (f"test_call,evaluator,called_at\n1,누구,{A_AT}\n", "unknown evaluator"),
        (f"test_call,evaluator,called_at\n99,평가1,{A_AT}\n", "not in the session's plan"),
        ("test_call,evaluator,called_at\n1,평가1,어제\n", "not an ISO date/time"),
    ]:
        sheet.write_text(body, encoding="utf-8")
        err = main_fails(capsys, "monitor", "import", "1", str(sheet), *opts)
        assert f"{sheet}:2:" in err and words in err, err
    sheet.write_text("evaluator,greeting\n평가1,Y\n", encoding="utf-8")
    assert f"{sheet}:1:" in main_fails(capsys, "monitor", "import", "1", str(sheet), *opts)


def test_xlsx_sheet_imports_like_csv_and_missing_record_is_shown(opts, tmp_path):
    """An XLSX sheet (dates as Excel dates) is read; with no capture ingested the match is missing."""
    run_cli("monitor", "plan", "1", "--seed", "1", *opts)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["test_call", "evaluator", "called_at", "greeting"])
    from datetime import datetime
    ws.append([1.0, "평가1", datetime(2026, 11, 23, 4, 42, 45), "Y"])  # a test call number typed as 1.0
    path = tmp_path / "sheet.xlsx"
    wb.save(path)
    rows = json.loads(run_cli("monitor", "import", "1", str(path), "--format", "json", *opts).stdout)
    assert [(r["test_call"], r["match"], r["score"]) for r in rows] == [("1", "missing", None)]


def test_edited_template_is_a_new_version_and_the_session_keeps_its_own(opts, tmp_path, capsys):
    """Same name and version with other contents is refused; a new version is stored beside the old."""
    edited = tmp_path / "form.toml"
    edited.write_text(DEFAULT.to_toml().replace("weight = 15", "weight = 20"), encoding="utf-8")
    err = main_fails(capsys, "monitor", "create", "다음 회차", "--period", "2026-H2", "--team", "민원팀",
                     "--evaluator", "평가1=010-1000-0001", "--template", str(edited), *opts)
    assert "new version" in err
    edited.write_text(DEFAULT.to_toml().replace("weight = 15", "weight = 20").replace("version = 1", "version = 2"),
                      encoding="utf-8")
    run_cli("monitor", "create", "다음 회차", "--period", "2026-H2", "--team", "민원팀", "--evaluator",
            "평가1=010-1000-0001", "--template", str(edited), *opts)
    rows = {r["name"]: r for r in json.loads(run_cli("monitor", "list", "--format", "json", *opts).stdout)}
    assert rows["하반기"]["template"].endswith("v1") and rows["다음 회차"]["template"].endswith("v2")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[items]]\nkey = "a"\nweight = 0\n', encoding="utf-8")
    err = main_fails(capsys, "monitor", "create", "x", "--period", "2026-H2", "--team", "민원팀", "--evaluator",
                     "평가1=010-1000-0001", "--template", str(bad), *opts)
    assert f"{bad}, key 'items[1].weight'" in err


def test_template_command_prints_the_default_form():
    out = run_cli("monitor", "template").stdout
    assert "더 도움드릴 사항 없으십니까?" in out and "auto:callback" in out


def test_plan_cannot_be_replaced_once_evaluated(opts, capsys):
    run_cli("monitor", "plan", "1", "--seed", "1", *opts)
    run_cli("monitor", "evaluate", "1", "--test-call", "1", "--evaluator", "평가1", "--called-at", A_AT,
            "--mark", "greeting=Y", *opts)
    assert "can no longer be replaced" in main_fails(capsys, "monitor", "plan", "1", "--seed", "2", *opts)


def test_unknown_session_is_one_clear_error(opts, capsys):
    assert "no monitoring session 'nope'" in main_fails(capsys, "monitor", "score", "nope", *opts)


def test_suggest_reads_a_transcript(tmp_path):
    t = tmp_path / "t.txt"
    t.write_text("네, 안녕하십니까. 수도사업소 요금팀 박민수입니다. ... 더 도와드릴 일 없으신가요?", encoding="utf-8")
    rows = {r["item"]: r["found"] for r in json.loads(run_cli("monitor", "suggest", str(t), "--format", "json").stdout)}
    assert rows == {"greeting": True, "apology": False, "closing": True, "transfer": False}


def test_score_table_and_csv_outputs_print(opts, tmp_path):
    """The table and CSV forms of a listing print (a session with a scored call)."""
    run_cli("ingest", str(SAMPLES / "a_direct_fast_caller_hangs_up" / "ami.raw"), *opts)
    run_cli("monitor", "plan", "1", "--seed", "1", *opts)
    marks = [f"--mark={k}=Y" for k in ("greeting", "listening", "explanation", "attitude", "closing", "name_again")]
    run_cli("monitor", "evaluate", "1", "--test-call", "1", "--evaluator", "평가1", "--called-at", A_AT, *marks, *opts)
    table = run_cli("monitor", "score", "1", "--by", "team", *opts).stdout
    assert "민원팀" in table and "100.0" in table
    csv_out = run_cli("monitor", "score", "1", "--by", "evaluation", "--format", "csv", *opts).stdout
    assert csv_out.splitlines()[0].startswith("test_call,evaluator,version")
