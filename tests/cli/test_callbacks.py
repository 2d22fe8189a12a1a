"""`callmon callbacks` on real captures, SQLite and PostgreSQL: a missed call (c_direct_abandon,
Mon 2026-11-23 04:43 KST, so due Mon 18:00 after 8 working hours from 09:00), a failed callback
attempt and an answered callback made from f_outbound_callback (tests/callback_story.py says
how), memos, cancellations and `--at` time travel."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.callback_story import MISSED_NUMBER, callback, kst, missed, variant
from tests.cli_main import main_fails
from tests.conftest import SAMPLES, run_cli

DUE = "2026-11-23T18:00:00.000+09:00"
E164 = "+821010200001"
DIRECTORY = """
[directory]
"2001" = { name = "Kim Agent", team = "민원팀" }
"2002" = { name = "Lee Agent", team = "민원팀" }
"2003" = { name = "Park Agent", team = "요금팀" }
"""


@pytest.fixture
def cfg(tmp_path) -> str:
    path = tmp_path / "callmon.toml"
    path.write_text(DIRECTORY, encoding="utf-8")
    return str(path)


def callbacks_at(db: str, cfg: str, at: str | None = None) -> list[dict]:
    args = ["callbacks", "--format", "json", "--db", db, "--config", cfg]
    return json.loads(run_cli(*args, *(["--at", at] if at else [])).stdout)


def calls_of(db: str, cfg: str) -> dict[str, dict]:
    """Calls by outcome and direction: ``{"abandoned": ..., "outbound no_answer": ...}``."""
    calls = json.loads(run_cli("calls", "--format", "json", "--db", db, "--config", cfg).stdout)
    return {c["outcome"] if c["direction"] == "inbound" else f"{c['direction']} {c['outcome']}": c for c in calls}


def ingest(db: str, cfg: str, *paths) -> None:
    run_cli("ingest", *map(str, paths), "--db", db, "--config", cfg)


def test_missed_call_then_failed_attempt_then_answered_callback(db_url, cfg, tmp_path):
    """Open until due, overdue after; an unanswered attempt changes nothing; the answered call meets it."""
    ingest(db_url, cfg, missed(tmp_path))
    assert callbacks_at(db_url, cfg, "2026-11-23T04:00") == []  # before the miss
    (cb,) = callbacks_at(db_url, cfg, "2026-11-23T08:00")
    calls = calls_of(db_url, cfg)
    miss = calls["abandoned"]
    assert (cb["status"], cb["number"], cb["due_at"]) == ("open", E164, DUE)
    assert cb["missed_call_ids"] == [miss["call_id"]] and cb["first_missed_at"] == miss["arrived_at"]
    assert (cb["agent"], cb["team"]) == ("Kim Agent", "민원팀")  # 2001's direct line rang
    assert miss["callback_id"] == cb["callback_id"]
    assert callbacks_at(db_url, cfg, "2026-11-23T18:00:01")[0]["status"] == "overdue"

    ingest(db_url, cfg, callback(tmp_path, kst(2026, 11, 23, 10), answered=False),
           callback(tmp_path, kst(2026, 11, 23, 14)))
    calls = calls_of(db_url, cfg)
    attempt, answered = calls["outbound no_answer"], calls["outbound answered"]
    assert attempt["called"] == answered["called"] == MISSED_NUMBER
    (at_11,) = callbacks_at(db_url, cfg, "2026-11-23T11:00")
    assert (at_11["status"], at_11["fulfilled_at"], at_11["attempt_call_ids"]) == ("open", None, [attempt["call_id"]])
    for moment in ("2026-11-23T15:00", None):
        (cb,) = callbacks_at(db_url, cfg, moment)
        assert cb["status"] == "met"
        assert cb["fulfilled_at"] == answered["answered_at"] and cb["fulfilled_at"].startswith("2026-11-23T14:00:03")
        assert (cb["fulfilled_by_call_id"], cb["fulfilled_by_agent"]) == (answered["call_id"], "Kim Agent")
        assert cb["due_at"] == DUE and cb["callback_id"] == miss["callback_id"]
    assert {c["callback_id"] for c in calls.values()} == {cb["callback_id"]}


def test_callback_after_the_due_time_is_late(db_url, cfg, tmp_path):
    """Called back Tue 10:00, after Mon 18:00: overdue on Tue 09:00, late afterwards."""
    ingest(db_url, cfg, missed(tmp_path), callback(tmp_path, kst(2026, 11, 24, 10)))
    assert callbacks_at(db_url, cfg, "2026-11-24T09:00")[0]["status"] == "overdue"
    (cb,) = callbacks_at(db_url, cfg)
    assert cb["status"] == "late" and cb["fulfilled_at"].startswith("2026-11-24T10:00:03")


def test_order_of_ingest_and_rebuild_keep_the_same_obligations(db_url, cfg, tmp_path):
    """The callback ingested before the miss it answers, then `rebuild`: the same record, the same id."""
    ingest(db_url, cfg, callback(tmp_path, kst(2026, 11, 23, 14)))
    assert callbacks_at(db_url, cfg) == []  # an outbound call with nothing open is just a call
    ingest(db_url, cfg, missed(tmp_path))
    (cb,) = callbacks_at(db_url, cfg)
    assert cb["status"] == "met"
    run_cli("rebuild", "--db", db_url, "--config", cfg)
    assert callbacks_at(db_url, cfg) == [cb]
    assert {c["callback_id"] for c in calls_of(db_url, cfg).values()} == {cb["callback_id"]}


def test_memo_opens_an_obligation_met_by_a_later_call(db_url, cfg, tmp_path):
    """A memo Mon 11:00 is due Tue 11:00; 2001 calls the number back Mon 16:00: met."""
    out = run_cli("callbacks", "add", "--number", "010-5555-1234", "--name", "홍길동", "--purpose", "수도요금 문의",
                  "--agent", "2001", "--at", "2026-11-23T11:00", "--db", db_url, "--config", cfg).stdout
    assert "+821055551234 due 2026-11-24T11:00:00.000+09:00" in out
    (cb,) = callbacks_at(db_url, cfg, "2026-11-23T12:00")
    assert (cb["status"], cb["name"], cb["purpose"], cb["agent"], cb["team"]) == (
        "open", "홍길동", "수도요금 문의", "Kim Agent", "민원팀")
    assert cb["missed_call_ids"] == [] and cb["first_missed_at"] == "2026-11-23T11:00:00.000+09:00"
    f_moved = variant(tmp_path, "f-16h", "f_outbound_callback", at=kst(2026, 11, 23, 16))
    ingest(db_url, cfg, f_moved)
    (cb,) = callbacks_at(db_url, cfg)
    assert (cb["status"], cb["fulfilled_by_agent"]) == ("met", "Kim Agent")
    assert cb["fulfilled_at"].startswith("2026-11-23T16:00:03")


def test_memo_for_a_missed_number_joins_its_obligation(db_url, cfg, tmp_path):
    """A memo after the miss adds who and why to the open obligation; the due time stays."""
    ingest(db_url, cfg, missed(tmp_path))
    (before,) = callbacks_at(db_url, cfg, "2026-11-23T09:00")
    run_cli("callbacks", "add", "--number", "+82 10 1020 0001", "--purpose", "민원 회신", "--at", "2026-11-23T09:30",
            "--db", db_url, "--config", cfg)
    (after,) = callbacks_at(db_url, cfg, "2026-11-23T10:00")
    assert after["callback_id"] == before["callback_id"] and after["due_at"] == DUE
    assert after["purpose"] == "민원 회신" and after["missed_call_ids"] == before["missed_call_ids"]


def test_cancel_with_a_reason_then_a_new_miss_opens_a_new_one(db_url, cfg, tmp_path, capsys):
    """Cancelled at Mon 10:00 (open before, as --at shows); cancelling twice is refused; the
    number's next miss (Tue 10:00) is a new obligation."""
    ingest(db_url, cfg, missed(tmp_path))
    (cb,) = callbacks_at(db_url, cfg)
    out = run_cli("callbacks", "cancel", str(cb["callback_id"]), "--reason", "잘못 건 전화", "--by", "supervisor",
                  "--at", "2026-11-23T10:00", "--db", db_url, "--config", cfg).stdout
    assert "cancelled" in out
    assert callbacks_at(db_url, cfg, "2026-11-23T09:59")[0]["status"] == "open"
    (done,) = callbacks_at(db_url, cfg)
    assert (done["status"], done["cancel_reason"], done["callback_id"]) == ("cancelled", "잘못 건 전화", cb["callback_id"])
    assert done["cancelled_at"] == "2026-11-23T10:00:00.000+09:00"
    assert "already cancelled" in main_fails(capsys, "callbacks", "cancel", str(cb["callback_id"]), "--reason", "x",
                                             "--db", db_url)
    assert "no callback 999" in main_fails(capsys, "callbacks", "cancel", "999", "--reason", "x", "--db", db_url)
    ingest(db_url, cfg, variant(tmp_path, "missed-tue", "c_direct_abandon", at=kst(2026, 11, 24, 10)))
    first, second = callbacks_at(db_url, cfg, "2026-11-24T12:00")
    assert first == done and second["status"] == "open" and second["callback_id"] != cb["callback_id"]
    assert second["due_at"].startswith("2026-11-25T10:00:00.")


def test_csv_and_table_formats(sqlite_url, cfg, tmp_path):
    """CSV: DESIGN.md's fields first, call ids joined by ';'; the table has Korean-first headings."""
    ingest(sqlite_url, cfg, missed(tmp_path))
    csv_out = run_cli("callbacks", "--format", "csv", "--at", "2026-11-23T12:00", "--db", sqlite_url).stdout
    header, row = csv_out.splitlines()
    assert header.startswith("callback_id,number,missed_call_ids,first_missed_at,due_at,status,fulfilled_at,"
                             "fulfilled_by_call_id,fulfilled_by_agent")
    assert f",{DUE},open," in row
    table = run_cli("callbacks", "--db", sqlite_url).stdout
    assert "콜백 1건 / 1 callbacks" in table and "기한 due" in table
    bad = run_cli("callbacks", "--at", "yesterday", "--db", sqlite_url, expect=2)
    assert "not an ISO date/time" in bad.output


@pytest.mark.parametrize("toml, due", [
    ("", DUE),                                                              # 8 working hours from Mon 09:00
    ('[callback]\nrule = "clock_hours"\n', "2026-11-24T04:43:15"),           # 24 clock hours of working days
    ("[callback]\nhours = 4\n", "2026-11-23T14:00:00"),                     # 09-12 + 13-14
    ('[callback]\noffice_hours = [["08:00", "17:00"]]\n', "2026-11-23T16:00:00"),
    ('[callback]\nextra_holidays = ["2026-11-23"]\n', "2026-11-24T18:00:00"),  # Monday closed locally
])
def test_callback_rule_from_the_config(sqlite_url, tmp_path, toml, due):
    """[callback] rule, hours, office hours and local holidays set the due time of the real miss."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text(toml, encoding="utf-8")
    ingest(sqlite_url, str(cfg), SAMPLES / "c_direct_abandon" / "ami.raw")
    (cb,) = callbacks_at(sqlite_url, str(cfg))
    assert cb["due_at"].startswith(due)
    assert datetime.fromisoformat(cb["due_at"]).utcoffset().total_seconds() == 9 * 3600
