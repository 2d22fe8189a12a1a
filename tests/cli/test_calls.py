"""`callmon ingest` + `callmon calls` + `callmon rebuild` on real captures, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import SAMPLES, SCENARIOS, expected, run_cli, same_fields, truth

ALL_CAPTURES = [str(SAMPLES / s / "ami.raw") for s in SCENARIOS]


def calls_json(db_url: str, *extra: str) -> list[dict]:
    return json.loads(run_cli("calls", "--format", "json", "--db", db_url, *extra).stdout)


def test_every_capture_ingested_agrees_with_truth(db_url):
    """Ingest every capture, then `calls --format json` matches each scenario's truth, call by call."""
    run_cli("ingest", *ALL_CAPTURES, "--db", db_url)
    calls = calls_json(db_url)
    truths = [t for s in SCENARIOS for t in truth(s)]
    assert len(calls) == len(truths)
    by_key = {(t["caller"], round(t["invite_at"], 1)): t for t in truths}
    from datetime import datetime

    for c in calls:
        arrived = datetime.fromisoformat(c["arrived_at"]).timestamp()
        t = by_key.get((c["caller"], round(arrived, 1))) or min(
            (t for t in truths if t["caller"] == c["caller"]), key=lambda t: abs(t["invite_at"] - arrived)
        )
        exp = expected(t)
        got, want = same_fields(c, exp, ("caller", "called", "direction", "outcome", "answered_by", "hangup_by", "transferred"))
        assert got == want, c["call_id"]
        if exp["ring_seconds"] is None:
            assert c["ring_seconds"] is None and c["rings"] is None
        else:
            assert c["ring_seconds"] == pytest.approx(exp["ring_seconds"], abs=0.3)
            # rings from the truth's ring seconds with the Korean cadence (1 s on, 2 s off):
            # burst k starts at (k-1)*3 s
            assert c["rings"] == int(exp["ring_seconds"] // 3) + 1


def test_json_has_every_field_of_the_contract(sqlite_url):
    """Each call object carries DESIGN.md's fields, times with an offset, durations as numbers."""
    run_cli("ingest", str(SAMPLES / "d_queue_rna_then_answer" / "ami.raw"), "--db", sqlite_url)
    (c,) = calls_json(sqlite_url)
    contract = ("call_id direction caller called queue arrived_at first_ring_at answered_at ended_at outcome "
                "answered_by agent team ring_seconds rings wait_seconds talk_seconds hangup_by transferred "
                "ring_rule hangup_rule callback_id").split()
    assert set(contract) <= set(c)
    assert c["arrived_at"].endswith("+09:00") and c["queue"] == "support"
    assert isinstance(c["wait_seconds"], float) and c["wait_seconds"] > c["ring_seconds"]
    assert c["ring_rule"] == "fail" and c["rings"] == 5  # 13 s in kr: bursts at 0,3,6,9,12 s
    assert c["hangup_rule"] == "pass"
    assert [leg["endpoint"] for leg in c["legs"]] == ["2001", "2002"]


def test_reingest_changes_nothing(db_url):
    """Ingesting the same capture twice leaves the same journal and the same calls."""
    cap = str(SAMPLES / "j_load" / "ami.raw")
    run_cli("ingest", cap, "--db", db_url)
    first = calls_json(db_url)
    again = run_cli("ingest", cap, "--db", db_url)
    assert "(0 new)" in again.stdout
    assert calls_json(db_url) == first
    from callmon.storage import Store

    store = Store(db_url)
    events = (SAMPLES / "j_load" / "ami.raw").read_bytes().count(b"Event: ")
    assert store.count_journal("default") <= events
    store.dispose()


def test_rebuild_reproduces_the_same_records(db_url):
    """`callmon rebuild` re-derives exactly the stored records from the journal."""
    run_cli("ingest", *ALL_CAPTURES, "--db", db_url)
    before = calls_json(db_url)
    out = run_cli("rebuild", "--db", db_url)
    assert f"rebuilt {len(before)} call(s)" in out.stdout
    assert calls_json(db_url) == before


def test_rebuild_applies_a_changed_rule(sqlite_url, tmp_path):
    """A new cadence in the config, then rebuild: the rings and ring rule are scored again."""
    run_cli("ingest", str(SAMPLES / "b_direct_late_agent_hangs_up" / "ami.raw"), "--db", sqlite_url)
    (c,) = calls_json(sqlite_url)
    assert (c["rings"], c["ring_rule"]) == (3, "fail")
    cfg = tmp_path / "us.toml"
    cfg.write_text('[rules]\ncadence = "us"\n')
    run_cli("rebuild", "--db", sqlite_url, "--config", str(cfg))
    (c,) = calls_json(sqlite_url)
    assert (c["rings"], c["ring_rule"]) == (2, "pass")  # us: bursts at 0 and 6 s; 7.5 s is ring 2


def test_pbx_names_keep_records_apart(sqlite_url):
    """Two PBXs in one database: the same capture under two names gives two sets of calls."""
    cap = str(SAMPLES / "a_direct_fast_caller_hangs_up" / "ami.raw")
    run_cli("ingest", cap, "--db", sqlite_url, "--pbx", "seoul")
    run_cli("ingest", cap, "--db", sqlite_url, "--pbx", "busan")
    assert [c["pbx"] for c in calls_json(sqlite_url, "--pbx", "seoul")] == ["seoul"]
    both = calls_json(sqlite_url, "--all-pbx")
    assert sorted(c["pbx"] for c in both) == ["busan", "seoul"]
    assert both[0]["call_id"] == both[1]["call_id"]


def test_rebuild_of_one_pbx_leaves_the_others_and_the_schema(sqlite_url):
    """A rebuild derives its PBX's calls again: on SQLite, alone in the tables, they are emptied
    at once (their triggers dropped meanwhile, then created again); with another PBX's calls
    beside them, those stay as they were."""
    import sqlite3

    db = sqlite_url.removeprefix("sqlite:///")
    schema = lambda: sorted(sqlite3.connect(db).execute("SELECT type, name, sql FROM sqlite_schema"))  # noqa: E731
    run_cli("ingest", *ALL_CAPTURES[:3], "--db", sqlite_url, "--pbx", "seoul")
    before, objects = calls_json(sqlite_url, "--pbx", "seoul"), schema()
    run_cli("rebuild", "--db", sqlite_url, "--pbx", "seoul")  # alone: the tables emptied
    assert calls_json(sqlite_url, "--pbx", "seoul") == before and schema() == objects
    run_cli("ingest", *ALL_CAPTURES[:2], "--db", sqlite_url, "--pbx", "busan")
    busan = calls_json(sqlite_url, "--pbx", "busan")
    run_cli("rebuild", "--db", sqlite_url, "--pbx", "seoul")
    assert calls_json(sqlite_url, "--pbx", "seoul") == before and calls_json(sqlite_url, "--pbx", "busan") == busan
    run_cli("rebuild", "--db", sqlite_url, "--pbx", "busan")
    assert calls_json(sqlite_url, "--pbx", "seoul") == before and calls_json(sqlite_url, "--pbx", "busan") == busan
    assert len(busan) == 2 and schema() == objects


def test_since_until_select_by_arrival(sqlite_url):
    """--since/--until (PBX local time) select calls by arrival."""
    run_cli("ingest", *ALL_CAPTURES[:3], "--db", sqlite_url)
    calls = calls_json(sqlite_url)
    middle = calls[1]["arrived_at"]
    assert [c["call_id"] for c in calls_json(sqlite_url, "--since", middle)] == [c["call_id"] for c in calls[1:]]
    assert [c["call_id"] for c in calls_json(sqlite_url, "--until", middle)] == [calls[0]["call_id"]]


def test_corrupted_capture_ingests_what_is_sound(sqlite_url, tmp_path):
    """Truncation, junk bytes and a broken header: the sound calls are stored, the damage reported."""
    a = (SAMPLES / "a_direct_fast_caller_hangs_up" / "ami.raw").read_bytes()
    b = (SAMPLES / "b_direct_late_agent_hangs_up" / "ami.raw").read_bytes()
    b_body = b.split(b"\r\n", 1)[1]  # no second banner
    at = b_body.index(b"Event: Newstate")
    b_body = b_body[:at] + b"\x00\xfe\xff junk\r\n\r\nEvnt: Broken\r\nChannel: x\r\n\r\n" + b_body[at:]
    c = (SAMPLES / "c_direct_abandon" / "ami.raw").read_bytes().split(b"\r\n", 1)[1]
    cut = c[: c.rindex(b"Event: Hangup") + 30]  # the stream dies inside the last Hangup
    damaged = tmp_path / "damaged.raw"
    damaged.write_bytes(a + b_body + cut)
    result = run_cli("ingest", str(damaged), "--db", sqlite_url, expect=1)
    assert "Traceback" not in result.output
    assert "malformed frame" in result.stderr and "cut-off last frame" in result.stderr
    calls = {c["caller"]: c for c in calls_json(sqlite_url)}
    assert calls["01010000001"]["outcome"] == "answered" and not calls["01010000001"]["incomplete"]
    assert calls["01010100001"]["hangup_by"] == "agent"
    assert calls["01010200001"]["incomplete"] is True


def test_foreign_transcripts_ingest_without_traceback(sqlite_url):
    """Another project's transcripts (no Timestamp, actions mixed in) ingest and report, no traceback."""
    from tests.conftest import ROOT

    files = sorted(str(p) for p in (ROOT / "tests" / "fixtures" / "foreign-ami").glob("*.raw"))
    result = run_cli("ingest", *files, "--db", sqlite_url, expect=None)
    assert result.exit_code in (0, 1)
    assert "Traceback" not in result.output
    assert "without a Timestamp" in result.stderr


def test_unreadable_file_is_a_clear_error_and_exit_2(sqlite_url, tmp_path):
    """A missing file: one line naming it, exit 2, no traceback."""
    result = run_cli("ingest", str(tmp_path / "missing.raw"), "--db", sqlite_url, expect=2)
    assert "missing.raw" in result.stderr and "Traceback" not in result.output


def test_installed_command_runs(sqlite_url):
    """The `callmon` console script itself runs (the README's commands depend on it)."""
    out = subprocess.run([sys.executable, "-m", "callmon", "--help"], capture_output=True, text=True, check=True)
    assert "ingest" in out.stdout and "calls" in out.stdout


def test_rebuild_reports_its_progress_step_by_step(sqlite_url):
    """``Pipeline.rebuild(progress=...)``: the calls derived against those stored before, then the
    numbers whose callback obligations are derived, each up to its total."""
    from callmon.core.config import Config
    from callmon.service.pipeline import Pipeline
    from callmon.storage import Store

    run_cli("ingest", *ALL_CAPTURES, "--db", sqlite_url)
    stored = len(calls_json(sqlite_url))
    seen: list[tuple[str, int, int]] = []
    store = Store(sqlite_url)
    n = Pipeline(store, Config()).rebuild(progress=lambda *step: seen.append(step))
    with store.begin() as conn:
        numbers = len(store.callback_numbers(conn, "default") | store.numbers_with_unanswered(conn, "default", None))
    store.dispose()
    assert n == stored and numbers > 0
    calls = [s for s in seen if s[0] == "calls"]
    assert calls[-1] == ("calls", n, stored)
    assert [done for _, done, _ in calls] == sorted(done for _, done, _ in calls)
    assert seen[-1] == ("callbacks", numbers, numbers) and seen.index(calls[-1]) < len(seen) - 1


def in_terminal(*args: str) -> str:
    """What ``callmon ARGS`` writes to a pseudo-terminal (standard output and error both)."""
    import os
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "callmon", *args], stdin=slave, stdout=slave, stderr=slave,
                            env={**os.environ, "COLUMNS": "100"})
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal's other end closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return out.decode("utf-8", "replace")


def test_rebuild_draws_a_progress_bar_on_a_terminal_only(sqlite_url):
    """``callmon rebuild`` in a pseudo-terminal shows the steps' bar; piped, only its summary."""
    run_cli("ingest", *ALL_CAPTURES, "--db", sqlite_url)
    text = in_terminal("rebuild", "--db", sqlite_url)
    assert "calls" in text and "callbacks" in text and "rebuilt " in text
    piped = subprocess.run([sys.executable, "-m", "callmon", "rebuild", "--db", sqlite_url],
                           capture_output=True, text=True, timeout=60, check=True)
    assert piped.stdout.startswith("rebuilt ") and piped.stderr == ""


def test_ingest_on_a_terminal_prints_each_summary_above_its_bar(sqlite_url):
    """Each file's summary line starts a line of its own above the bar (the line is cleared
    first), not written on after a copy of the bar."""
    import re

    files = sorted(str(p) for p in SAMPLES.glob("*/Master.csv") if not (p.parent / "callmon.toml").exists())
    text = in_terminal("ingest", *files, "--db", sqlite_url, "--config", str(SAMPLES / "callmon.toml"))
    assert "bytes" in text or "kB" in text  # the bar was drawn
    summaries = [m.start() for m in re.finditer(re.escape(str(SAMPLES)), text)]
    assert len(summaries) == len(files)
    for at in summaries:
        assert text[:at].endswith(("\x1b[2K", "\n")), text[max(0, at - 60):at + 60]
