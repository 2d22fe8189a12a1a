"""`callmon ingest` of Master.csv, CEL and queue_log through the real command line, on SQLite and
PostgreSQL: truth, equality with the AMI records, reconciliation with the listener's records,
re-import, bad input and the rejects file."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import pytest

from tests.conftest import CEL_SCENARIOS, SAMPLES, SCENARIOS, expected, run_cli, same_fields, sample_config_path, truth

CONFIG = str(SAMPLES / "callmon.toml")  # the samples' Master.csv was written in UTC
FILES = ("Master.csv", "cel.csv", "queue_log")
TIMES = ("arrived_at", "first_ring_at", "answered_at", "ended_at")
BOTH_KNOW = ("direction", "caller", "called", "queue", "outcome", "answered_by", "agent", "team", "rings",
             "hangup_by", "transferred", "ring_rule", "hangup_rule", "incomplete")


def files_of(scenario: str) -> list[str]:
    """The files the PBX of a scenario recorded (the chan_sip PBX kept no CEL)."""
    return [str(SAMPLES / scenario / f) for f in FILES if (SAMPLES / scenario / f).exists()]


def ingest(db: str, *paths: str, expect: int | None = 0, config: str = CONFIG):
    return run_cli("ingest", *paths, "--db", db, "--config", config, expect=expect)


def calls_json(db: str) -> list[dict]:
    return json.loads(run_cli("calls", "--format", "json", "--db", db, "--config", CONFIG).stdout)


def epoch(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text).timestamp()


def assert_same_call(files: dict, ami: dict, tolerance: float = 0.05) -> None:
    for name in BOTH_KNOW:
        assert files[name] == ami[name], (ami["call_id"], name)
    for name in TIMES:
        assert epoch(files[name]) == pytest.approx(epoch(ami[name]), abs=tolerance), (ami["call_id"], name)
    if ami["ring_seconds"] is not None:
        assert files["ring_seconds"] == pytest.approx(ami["ring_seconds"], abs=tolerance)
    assert [leg["channel"] for leg in files["legs"]] == [leg["channel"] for leg in ami["legs"]]


def test_every_scenario_from_files_agrees_with_truth_and_with_ami(db_url, tmp_path):
    """Master.csv + CEL + queue_log of every scenario (each read with its callmon.toml: the zone
    its Master.csv was written in), with the default configuration otherwise: each call agrees
    with truth.json and, where CEL was kept, equals the record `ingest ami.raw` gives, field by
    field (times within 50 ms). Without CEL (the chan_sip PBX) CDR knows no hang-up side of a
    conversation and rings to the second."""
    for config in sorted({sample_config_path(s) for s in SCENARIOS}):
        ingest(db_url, *[f for s in SCENARIOS if sample_config_path(s) == config for f in files_of(s)], config=str(config))
    from_files = {c["call_id"]: c for c in calls_json(db_url)}
    truths = [(s, t) for s in SCENARIOS for t in truth(s)]
    assert len(from_files) == len(truths)
    for c in from_files.values():
        arrived = epoch(c["arrived_at"])
        s, t = min(((s, t) for s, t in truths if t["caller"] == c["caller"]), key=lambda p: abs(p[1]["invite_at"] - arrived))
        exp = expected(t)
        cel = s in CEL_SCENARIOS
        fields = ("caller", "called", "direction", "outcome", "answered_by", "transferred") + (("hangup_by",) if cel else ())
        got, want = same_fields(c, exp, fields)
        assert got == want, c["call_id"]
        if exp["ring_seconds"] is None:
            assert c["ring_seconds"] is None
        else:
            assert c["ring_seconds"] == pytest.approx(exp["ring_seconds"], abs=0.3 if cel else 1.0)
        assert c["sources"] in ((["cdr", "cel"], ["cdr", "cel", "queue_log"]) if cel else (["cdr"], ["cdr", "queue_log"]))

    ami_db = f"sqlite:///{tmp_path / 'ami.db'}"
    run_cli("ingest", *[str(SAMPLES / s / "ami.raw") for s in SCENARIOS], "--db", ami_db)
    from_ami = {c["call_id"]: c for c in calls_json(ami_db)}
    assert from_files.keys() == from_ami.keys()
    cel_calls = {c["call_id"] for c in from_files.values() if "cel" in c["sources"]}
    for call_id, a in from_ami.items():
        if call_id in cel_calls:
            assert_same_call(from_files[call_id], a)


@pytest.mark.parametrize("scenario", ["d_queue_rna_then_answer", "h_blind_transfer"])
def test_files_after_the_listener_extend_sources_only(db_url, scenario):
    """The AMI record came first and is complete: the files add their names to `sources`, no
    second call, every other field unchanged."""
    run_cli("ingest", str(SAMPLES / scenario / "ami.raw"), "--db", db_url)
    before = calls_json(db_url)
    out = ingest(db_url, *files_of(scenario))
    assert "(0 incomplete)" in out.stdout
    after = calls_json(db_url)
    assert len(after) == len(before) == 1
    assert after[0]["sources"] == ["ami", "cdr", "cel"] + (["queue_log"] if "queue" in scenario else [])
    assert {k: v for k, v in after[0].items() if k != "sources"} == {k: v for k, v in before[0].items() if k != "sources"}


def test_files_complete_a_call_the_listener_lost(db_url, tmp_path):
    """An AMI capture cut mid-call leaves the call incomplete; its files make it complete, once."""
    raw = (SAMPLES / "c_direct_abandon" / "ami.raw").read_bytes()
    cut = tmp_path / "cut.raw"
    cut.write_bytes(raw[: raw.index(b"Event: Hangup")])
    run_cli("ingest", str(cut), "--db", db_url)
    (lost,) = calls_json(db_url)
    assert lost["incomplete"] is True and lost["ended_at"] is None
    ingest(db_url, *files_of("c_direct_abandon"))
    (call,) = calls_json(db_url)
    exp = expected(truth("c_direct_abandon")[0])
    assert call["call_id"] == lost["call_id"] and call["incomplete"] is False
    assert (call["outcome"], call["hangup_by"]) == (exp["outcome"], exp["hangup_by"])
    assert call["sources"] == ["ami", "cdr", "cel"]
    run_cli("rebuild", "--db", db_url, "--config", CONFIG)
    assert calls_json(db_url) == [call]  # the journal gives the same reconciled record again
    run_cli("ingest", str(SAMPLES / "c_direct_abandon" / "ami.raw"), "--db", db_url)
    (whole,) = calls_json(db_url)  # the full capture arrives later: the complete AMI record stands
    assert whole["sources"] == ["ami", "cdr", "cel"] and whole["incomplete"] is False


def test_files_given_one_after_another_merge_per_call(sqlite_url):
    """Master.csv, then CEL, then queue_log in three runs give the record of all three at once."""
    for f in files_of("j_load"):
        ingest(sqlite_url, f)
    one_by_one = calls_json(sqlite_url)
    assert len(one_by_one) == 140 and {tuple(c["sources"]) for c in one_by_one} == {("cdr", "cel", "queue_log")}
    run_cli("rebuild", "--db", sqlite_url, "--config", CONFIG)
    assert calls_json(sqlite_url) == one_by_one


def test_reimport_changes_nothing(db_url):
    """The same files again: no new row, the same calls."""
    ingest(db_url, *files_of("j_load"))
    first = calls_json(db_url)
    again = ingest(db_url, *files_of("j_load"))
    assert again.stdout.count("(0 new)") == 3
    assert calls_json(db_url) == first


def test_master_csv_in_small_blocks_equals_one_block(sqlite_url, tmp_path, monkeypatch):
    """Blocks of 2 KB split calls between blocks: they are derived again from the journal, and
    the records equal those of one block."""
    ingest(sqlite_url, str(SAMPLES / "j_load" / "Master.csv"))
    whole = calls_json(sqlite_url)
    from callmon.service import ingest as file_ingest

    monkeypatch.setattr(file_ingest, "BLOCK_BYTES", 2048)
    small = f"sqlite:///{tmp_path / 'small.db'}"
    ingest(small, str(SAMPLES / "j_load" / "Master.csv"))
    assert calls_json(small) == whole


def test_time_zone_auto_and_a_warning_when_the_zone_disagrees(sqlite_url, tmp_path):
    """cdr_timezone = "auto" reads the samples as UTC, as the samples' config does; read as Seoul
    time (the default), the import warns that the times look written at UTC+0."""
    auto = tmp_path / "auto.toml"
    auto.write_text('[pbx]\ncdr_timezone = "auto"\n')
    ingest(sqlite_url, str(SAMPLES / "a_direct_fast_caller_hangs_up" / "Master.csv"), config=str(auto))
    (call,) = calls_json(sqlite_url)
    assert epoch(call["arrived_at"]) == pytest.approx(truth("a_direct_fast_caller_hangs_up")[0]["invite_at"], abs=1)
    seoul = tmp_path / "seoul.toml"
    seoul.write_text("[pbx]\n")
    out = ingest(f"sqlite:///{tmp_path / 'seoul.db'}", str(SAMPLES / "a_direct_fast_caller_hangs_up" / "Master.csv"),
                 config=str(seoul))
    assert "look written at UTC+0" in out.stderr and "cdr_timezone" in out.stderr


CDR_HEADER = ("accountcode,src,dst,dcontext,clid,channel,dstchannel,lastapp,lastdata,start,answer,end,duration,"
              "billsec,disposition,amaflags,uniqueid,userfield,peeraccount,linkedid,sequence\n").encode()


def test_bad_lines_are_rejected_with_line_and_reason_and_the_rest_kept(sqlite_url, tmp_path):
    """Wrong column count, a bad date, binary junk and a cut last line are rejected into
    FILE.rejects.csv (line, reason, caller numbers masked); the sound rows, UTF-8 and CP949 caller
    names among them, are stored; exit 1."""
    lines = (SAMPLES / "j_load" / "Master.csv").read_bytes().splitlines(keepends=True)
    good = lines[:10]
    korean = lines[10].replace(b'""Customer""', '""김민원""'.encode("utf-8"))
    korean_949 = lines[11].replace(b'""Customer""', '""이민원""'.encode("cp949"))
    wrong_count = b'"","01099998888","1000"\n'
    start = next(csv.reader([lines[12].decode()]))[9].encode()
    bad_date = lines[12].replace(start, b"2026-13-45 99:00:00")
    junk = b"\x00\x01\xff\xfe garbage \x00\n"
    cut = lines[13][:40]
    body = good + [korean, korean_949, wrong_count, bad_date, junk, cut]
    path = tmp_path / "Master.csv"
    path.write_bytes(b"".join(body))
    out = ingest(sqlite_url, str(path), expect=1)
    assert "12 rows" in out.stdout and "4 line(s) rejected" in out.stdout
    rejects = list(csv.DictReader((tmp_path / "Master.csv.rejects.csv").open(encoding="utf-8")))
    assert [(int(r["line"]), r["reason"].split(":")[0].split(" (")[0]) for r in rejects] == [
        (13, "expected 21 columns, found 3"), (14, "bad date in start"), (15, "binary junk"),
        (16, "truncated last line")]
    assert "01099998888" not in (tmp_path / "Master.csv.rejects.csv").read_text(encoding="utf-8")
    assert "010-****-8888" in rejects[0]["text"]
    names = {c["caller"] for c in calls_json(sqlite_url)}
    assert len(names) == 12

    with_header = tmp_path / "export.csv"
    with_header.write_bytes(CDR_HEADER + b"".join(lines[:12]))
    other = f"sqlite:///{tmp_path / 'header.db'}"
    ingest(other, str(with_header), "--rejects", str(tmp_path / "rej"))
    ingest(other, str(SAMPLES / "j_load" / "Master.csv"))  # the same records without a header: nothing new
    assert len(calls_json(other)) == 140
    assert not (tmp_path / "rej").exists() or not list((tmp_path / "rej").iterdir())


def test_rejects_go_to_the_rejects_directory(sqlite_url, tmp_path):
    """--rejects DIR puts FILE.rejects.csv there; the summary names it."""
    path = tmp_path / "queue_log"
    path.write_bytes((SAMPLES / "d_queue_rna_then_answer" / "queue_log").read_bytes() + b"1795376700|x\n")
    out = ingest(sqlite_url, str(path), "--kind", "queue_log", "--rejects", str(tmp_path / "rej"), expect=1)
    target = tmp_path / "rej" / "queue_log.rejects.csv"
    assert str(target) in out.stdout
    (row,) = csv.DictReader(target.open(encoding="utf-8"))
    assert row["line"] == "5" and row["reason"].startswith("expected at least 5 fields")


def test_unreadable_file_is_exit_2_and_the_others_go_in(sqlite_url, tmp_path):
    """A missing file and a directory: one clear line each, exit 2; the readable file is imported."""
    out = ingest(sqlite_url, str(tmp_path / "missing.csv"), str(tmp_path), "--kind", "cdr",
                 str(SAMPLES / "a_direct_fast_caller_hangs_up" / "Master.csv"), expect=2)
    assert "missing.csv: no such file" in out.stderr and "is a directory" in out.stderr
    assert "Traceback" not in out.output
    assert len(calls_json(sqlite_url)) == 1


def test_one_file_is_one_transaction(sqlite_url, monkeypatch):
    """A failure after the first block leaves nothing of the file behind."""
    from callmon.service import ingest as file_ingest
    from callmon.service.ingest import FileIngest
    from callmon.storage import Store

    monkeypatch.setattr(file_ingest, "BLOCK_BYTES", 4096)
    real = FileIngest._derive_block
    seen = []

    def failing(self, conn, rows, entries, **kw):
        seen.append(len(rows))
        if len(seen) == 2:
            raise RuntimeError("disk full")
        return real(self, conn, rows, entries, **kw)

    monkeypatch.setattr(FileIngest, "_derive_block", failing)
    with pytest.raises(RuntimeError):
        ingest(sqlite_url, str(SAMPLES / "j_load" / "Master.csv"))
    store = Store(sqlite_url)
    assert store.count_journal("default") == 0 and store.query_calls("default") == []
    store.dispose()


def test_attended_transfer_from_master_csv_is_one_call(db_url, tmp_path):
    """`ingest` of the hand-written attended transfer (tests/calls/test_attended_transfer.py): the
    consultation's record, alone in its linkedid, is not imported as a call of its own."""
    from tests.calls.test_attended_transfer import L1, MASTER

    path = tmp_path / "Master.csv"
    path.write_text(MASTER)
    ingest(db_url, str(path))
    (call,) = calls_json(db_url)
    assert (call["call_id"], call["outcome"], call["answered_by"], call["transferred"]) == (L1, "answered", "2001", True)


def test_a_missing_file_alone_is_exit_2_and_makes_no_database(tmp_path):
    """The inputs are checked before the store is opened: no empty, migrated database is left behind."""
    target = tmp_path / "x.db"
    out = run_cli("ingest", str(tmp_path / "no" / "such.csv"), "--db", f"sqlite:///{target}", expect=2)
    assert "such.csv: no such file" in out.stderr
    assert not target.exists()
