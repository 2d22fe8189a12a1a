"""A whole monitoring session through the command line, on SQLite and PostgreSQL: create it, plan
it, ingest the real captures holding the test calls (the evaluators' numbers are the callers in
sample_cdr), import an evaluator sheet, correct one evaluation, score, and export HTML, PDF, CSV
and XLSX. The expected scores are computed here from the template's weights, the evaluator's
marks and the phones' own truth (truth.json), never pasted."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from callmon.monitoring.template import DEFAULT
from tests.callback_story import callback, kst, missed, variant
from tests.cli_main import main_fails
from tests.conftest import SAMPLES, run_cli, truth

SEOUL = kst(2026, 1, 1).tzinfo
CONFIG = """[pbx]
timezone = "Asia/Seoul"
[directory]
"2001" = { name = "Kim Agent", team = "민원팀" }
"2002" = { name = "Lee Agent", team = "민원팀" }
"""
# test call -> the scenario that recorded it
SCENARIO = {"1": "a_direct_fast_caller_hangs_up", "2": "b_direct_late_agent_hangs_up",
            "3": "c_direct_abandon", "4": "h_blind_transfer"}
EVALUATORS = {"평가1": ["010-1000-0001", "010-1010-0001"], "평가2": ["010-1020-0001", "010-1070-0001"]}
ITEMS = ["greeting", "apology", "listening", "explanation", "attitude", "transfer", "closing", "name_again"]
# what each evaluator marked (as on the sheet; "" = left empty, the item did not apply)
SHEET = [
    ("1", "평가1", {"greeting": "Y", "listening": "Y", "explanation": "Y", "attitude": "Y", "closing": "N", "name_again": "Y"}),
    ("2", "평가1", {"greeting": "Y", "apology": "N", "listening": "Y", "explanation": "0.5", "attitude": "Y", "closing": "Y", "name_again": "Y"}),
    ("3", "평가2", {}),
    ("4", "평가2", {"greeting": "Y", "listening": "Y", "explanation": "Y", "attitude": "Y", "transfer": "Y", "closing": "Y", "name_again": "N"}),
    ("4", "평가1", {"greeting": "Y", "listening": "N", "explanation": "Y", "attitude": "Y", "transfer": "Y", "closing": "Y", "name_again": "N"}),
]
CORRECTION = {"apology": "Y"}  # test call 2, on a second listen


def _mark(v: str) -> float | None:
    if v in ("", "NA"):
        return None
    return {"Y": 1.0, "N": 0.0}[v] if v in ("Y", "N") else float(v)


def expected_score(test_call: str, marks: dict[str, str], callback_met: bool) -> float:
    """The score from the template's weights, the marks and the phones' truth (not from callmon)."""
    t = truth(SCENARIO[test_call])[0]
    answered = t["answered_by"] is not None
    late = answered and t["ring_seconds"] >= 6.0  # the 3rd ring starts at 6 s (1 s on / 2 s off)
    applies = {"always": True, "answered": answered, "late": late, "transferred": t["transferred"],
               "absent": not answered}  # an unanswered test call opens a callback obligation
    auto = {"answer_speed": 1.0 if answered and not late else 0.0,
            "hangup": 1.0 if t["hung_up_first"] == "caller" else 0.0,
            "callback": 1.0 if callback_met else 0.0}
    num = den = 0.0
    for item in DEFAULT.items:
        if not applies[item.applies]:
            continue
        mark = auto[item.key] if item.automatic else _mark(marks.get(item.key, ""))
        if mark is None:
            continue
        num += item.weight * mark
        den += item.weight
    return round(100 * num / den, 2)


def called_at(test_call: str, off: float = 4.0) -> str:
    """The time the evaluator noted: the truth's invite, a few seconds off, in Seoul time, to the second."""
    t = truth(SCENARIO[test_call])[0]["invite_at"] + off
    return datetime.fromtimestamp(t, SEOUL).strftime("%Y-%m-%d %H:%M:%S")


def number_of(test_call: str) -> str:
    c = truth(SCENARIO[test_call])[0]["caller"]
    return f"{c[:3]}-{c[3:7]}-{c[7:]}"


def write_sheet(path: Path, rows, *, note: str = "") -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["test_call", "evaluator", "called_at", "number", "note", *ITEMS])
        for tc, ev, marks in rows:
            w.writerow([tc, ev, called_at(tc), number_of(tc), note, *(marks.get(i, "") for i in ITEMS)])
    return path


@pytest.fixture
def session(db_url, tmp_path):
    """The captures ingested (test call 1 recorded twice, 90 s apart: ambiguous), the callback of
    the missed test call made at 10:00 the same morning (met), a session created and planned."""
    cfg = tmp_path / "callmon.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    a_at = datetime.fromtimestamp(truth(SCENARIO["1"])[0]["invite_at"] + 90, SEOUL)
    files = [SAMPLES / SCENARIO[k] / "ami.raw" for k in ("1", "2", "4")]
    files += [missed(tmp_path), callback(tmp_path, kst(2026, 11, 23, 10)),
              variant(tmp_path, "a-again", SCENARIO["1"], at=a_at)]
    run_cli("ingest", *map(str, files), "--db", db_url, "--config", str(cfg))
    opts = ["--db", db_url, "--config", str(cfg)]
    evs = [x for ev, nums in EVALUATORS.items() for x in ("--evaluator", f"{ev}={','.join(nums)}")]
    out = run_cli("monitor", "create", "2026 하반기 전화 모니터링", "--period", "2026-H2", "--extension", "2001",
                  *evs, "--author", "CS팀장", "--format", "json", *opts).stdout
    created = json.loads(out)[0]
    assert created["template"] == f"{DEFAULT.name} v{DEFAULT.version}"
    plan = json.loads(run_cli("monitor", "plan", "1", "--seed", "2026", "--per-person", "4", "--format", "json", *opts).stdout)
    assert [p["seq"] for p in plan] == [1, 2, 3, 4] and {p["extension"] for p in plan} == {"2001"}
    return opts, tmp_path


def scores_by(opts, by: str, at: str = "2026-12-01T12:00") -> list[dict]:
    return json.loads(run_cli("monitor", "score", "1", "--by", by, "--at", at, "--format", "json", *opts).stdout)


def test_session_scores_equal_the_hand_computed_expectation(session, capsys):
    """Ambiguous match shown, settled by naming the call; a correction is a new version with its
    reason; scores per call, person and institution equal the expectation from the weights."""
    opts, tmp = session
    sheet = write_sheet(tmp / "평가표.csv", SHEET)
    imported = json.loads(run_cli("monitor", "import", "1", str(sheet), "--author", "평가1", "--format", "json", *opts).stdout)
    assert len(imported) == 5
    first = {(r["test_call"], r["evaluator"]): r for r in imported}
    assert first[("1", "평가1")]["match"] == "ambiguous" and first[("1", "평가1")]["score"] is None
    assert len(first[("1", "평가1")]["candidates"]) == 2  # never guessed

    # the evaluator names the call they made (the earlier of the two) and corrects test call 2
    call_a = min(first[("1", "평가1")]["candidates"], key=float)
    marks1 = [f"--mark={k}={v}" for k, v in SHEET[0][2].items()]
    run_cli("monitor", "evaluate", "1", "--test-call", "1", "--evaluator", "평가1", "--called-at", called_at("1"),
            "--call-id", call_a, "--reason", "두 통화 중 실제 시험통화 지정", "--author", "평가1", *marks1, *opts)
    corrected = {**SHEET[1][2], **CORRECTION}
    err = main_fails(capsys, "monitor", "evaluate", "1", "--test-call", "2", "--evaluator", "평가1", "--called-at",
                     called_at("2"), "--author", "평가1", *[f"--mark={k}={v}" for k, v in corrected.items()], *opts)
    assert "a correction needs a reason" in err
    run_cli("monitor", "evaluate", "1", "--test-call", "2", "--evaluator", "평가1",  # number and time: kept
            "--reason", "녹취 재확인: 사과함", "--author", "CS팀장", *[f"--mark={k}={v}" for k, v in corrected.items()], *opts)

    history = json.loads(run_cli("monitor", "history", "1", "--format", "json", *opts).stdout)
    versions = [(h["test_call"], h["version"], h["reason"]) for h in history if h["test_call"] == "2"]
    assert versions == [("2", 1, None), ("2", 2, "녹취 재확인: 사과함")]  # the first is kept

    evals = {(r["test_call"], r["evaluator"]): r for r in scores_by(opts, "evaluation")}
    assert {k: (r["match"], r["candidates"]) for k, r in evals.items() if r["match"] != "matched"} == {}
    assert evals[("1", "평가1")]["call_id"] == call_a and evals[("2", "평가1")]["version"] == 2
    # the items that do not apply, and the evidence of the automatic ones
    assert set(evals[("1", "평가1")]["not_applicable"]) == {"apology", "transfer", "callback"}
    assert "rule=fail" in evals[("2", "평가1")]["evidence"]["answer_speed"] and "apology" not in evals[("2", "평가1")]["not_applicable"]
    assert "status=met" in evals[("3", "평가2")]["evidence"]["callback"]
    assert "transfer" not in evals[("4", "평가2")]["not_applicable"]

    want = {
        ("1", "평가1"): expected_score("1", SHEET[0][2], False),
        ("2", "평가1"): expected_score("2", corrected, False),
        ("3", "평가2"): expected_score("3", {}, callback_met=True),
        ("4", "평가2"): expected_score("4", SHEET[3][2], False),
        ("4", "평가1"): expected_score("4", SHEET[4][2], False),
    }
    assert {k: r["score"] for k, r in evals.items()} == want
    per_call = {r["test_call"]: r["score"] for r in scores_by(opts, "call")}
    assert per_call["4"] == round((want[("4", "평가2")] + want[("4", "평가1")]) / 2, 2)
    calls = [per_call[k] for k in "1234"]
    institution = scores_by(opts, "institution")[0]
    assert institution["score"] == round(sum(calls) / 4, 2)
    assert institution["grade"] == DEFAULT.grade(institution["score"])
    person = scores_by(opts, "person")
    assert [(p["name"], p["calls"]) for p in person] == [("Kim Agent", 4)]

    # calibration: the two evaluators of test call 4 differ on listening only
    cal = json.loads(run_cli("monitor", "calibrate", "1", "--differences", "--format", "json", *opts).stdout)
    assert [(c["test_call"], c["item"], c["first"], c["second"]) for c in cal] == [("4", "listening", 0.0, 1.0)]


def _full_numbers() -> set[str]:
    out = set()
    for scenario in SCENARIO.values():
        c = truth(scenario)[0]["caller"]
        out |= {c, f"{c[:3]}-{c[3:7]}-{c[7:]}", "82" + c[1:], c[3:], c[3:7] + c[7:]}
    return out


def test_published_report_has_charts_no_numbers_and_no_names_and_escaped_detail(session, tmp_path):
    """HTML and PDF (printed by headless Chromium, rendered to PNG) hold no full phone number and,
    anonymised, no name; the CSV/XLSX detail escapes formula-leading cells."""
    opts, tmp = session
    rows = [(tc, ev, m) for tc, ev, m in SHEET if tc != "1"]
    run_cli("monitor", "import", "1", str(write_sheet(tmp / "s.csv", rows, note="=HYPERLINK(\"http://x\")")), *opts)
    out = {}
    for ext in ("html", "pdf", "csv", "xlsx"):
        out[ext] = tmp / f"report.{ext}"
        run_cli("monitor", "report", "1", "--out", str(out[ext]), "--at", "2026-12-01T12:00", *opts)
    html = out["html"].read_text(encoding="utf-8")
    assert "plotly" in html.lower() and "팀별 점수" in html
    pdf_text = subprocess.run(["pdftotext", "-layout", str(out["pdf"]), "-"], capture_output=True, text=True,
                              check=True).stdout
    assert "2026 하반기 전화 모니터링" in pdf_text and "직원 A" in pdf_text and "매우우수" in pdf_text
    for text in (html, pdf_text):
        flat = text.replace(" ", "")
        assert not [n for n in _full_numbers() if n in flat]
        for name in ("Kim Agent", "Lee Agent", "평가1", "평가2"):
            assert name not in text
    # the PDF rendered to PNG (to look at) and checked not blank: a grey map of page 1
    png_dir = Path(shutil.os.environ.get("CALLMON_TEST_ARTIFACTS", tmp))
    subprocess.run(["pdftoppm", "-png", "-r", "70", str(out["pdf"]), str(png_dir / "monitoring-report")], check=True)
    assert (png_dir / "monitoring-report-1.png").stat().st_size > 10_000
    pgm = subprocess.run(["pdftoppm", "-gray", "-r", "30", "-f", "1", "-l", "1", str(out["pdf"])],
                         capture_output=True, check=True).stdout
    pixels = pgm.split(b"\n", 3)[3]
    assert sum(p < 128 for p in pixels) > 0.005 * len(pixels)  # text and bars, not an empty page

    with out["csv"].open(encoding="utf-8-sig") as fh:
        detail = list(csv.DictReader(fh))
    assert {r["note"] for r in detail} == {"'=HYPERLINK(\"http://x\")"}
    assert all("*" in r["number"] for r in detail) and {r["person"] for r in detail} == {"직원 A"}
    wb = openpyxl.load_workbook(out["xlsx"])
    cells = [c.value for row in wb["상세 detail"].iter_rows() for c in row]
    assert "'=HYPERLINK(\"http://x\")" in cells and not any(isinstance(c, str) and c.startswith("=") for c in cells)
    named = tmp / "named.html"
    run_cli("monitor", "report", "1", "--out", str(named), "--names", "--at", "2026-12-01T12:00", *opts)
    assert "Kim Agent" in named.read_text(encoding="utf-8")


def test_h1_against_h2_in_the_published_report(session, tmp_path, capsys):
    """A first-half session (test call a moved to May) set against the second: both scores and
    the change, computed from the weights."""
    opts, tmp = session
    run_cli("monitor", "import", "1", str(write_sheet(tmp / "h2.csv", SHEET[1:4])), *opts)
    may = kst(2026, 5, 20, 10)
    run_cli("ingest", str(variant(tmp_path, "a-in-may", SCENARIO["1"], at=may)), *opts)
    evs = [x for ev, nums in EVALUATORS.items() for x in ("--evaluator", f"{ev}={','.join(nums)}")]
    run_cli("monitor", "create", "2026 상반기", "--period", "2026-H1", "--extension", "2001", *evs, *opts)
    run_cli("monitor", "plan", "2026 상반기", "--seed", "1", *opts)
    h1 = tmp / "h1.csv"
    with h1.open("w", encoding="utf-8") as fh:
        fh.write("test_call,evaluator,called_at,number," + ",".join(ITEMS) + "\n")
        fh.write(f"1,평가1,2026-05-20 10:00:03,{number_of('1')}," + ",".join(SHEET[0][2].get(i, "") for i in ITEMS) + "\n")
    run_cli("monitor", "import", "2026 상반기", str(h1), *opts)
    h2_calls = [expected_score("2", SHEET[1][2], False), expected_score("3", {}, True), expected_score("4", SHEET[3][2], False)]
    h2 = round(sum(h2_calls) / 3, 2)
    h1_score = expected_score("1", SHEET[0][2], False)
    xlsx = tmp / "compare.xlsx"
    run_cli("monitor", "report", "1", "--out", str(xlsx), "--compare", "2026 상반기", "--at", "2026-12-01T12:00", *opts)
    sheet = openpyxl.load_workbook(xlsx)["비교 comparison"]
    rows = {r[1]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["기관 전체"][2:] == (h1_score, h2, round(h2 - h1_score, 2))
    # a test call outside the session's half-year is refused
    late = tmp / "late.csv"
    late.write_text(f"test_call,evaluator,called_at,number\n1,평가1,2026-07-01 00:00:00,{number_of('1')}\n", encoding="utf-8")
    assert "outside the session's period 2026-H1" in main_fails(capsys, "monitor", "import", "2026 상반기", str(late), *opts)
