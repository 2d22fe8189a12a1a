"""Calls of one Master.csv record each, written as columns (``Pipeline.write_records``), leave the
database exactly as writing their record objects one by one does: calls, legs, agent verdicts and
callback obligations, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import re
import sys

import pytest
import sqlalchemy as sa

from callmon.core.config import Config, Employee
from callmon.service import ingest as file_ingest
from callmon.service.ingest import FileIngest
from callmon.service.pipeline import Pipeline
from callmon.storage import Store
from tests.conftest import ROOT, SAMPLES

DIRECTORY = {"2001": Employee("2001", "김민원", "민원팀"), "2002": Employee("2002", "이상담", "상담팀"),
             "2003": Employee("2003", "박안내", "민원팀")}
CONFIG = Config(timezone="UTC", directory=DIRECTORY)
# what the two ways may differ in: row ids, and which id an obligation got
SKIP = {"id", "callback_id", "ingested_at", "created_at"}


def generated(tmp_path, rows: int = 12_000, numbers: int = 40, gap: float = 0.8):
    """A benchmark file whose callers are ``numbers`` numbers: 40, so that misses, callbacks and
    customers who call again meet across the file; many, so that most numbers call once. A call
    every ``gap`` seconds, about."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import import_speed
    finally:
        sys.path.pop(0)
    path = tmp_path / f"gen{numbers}" / "Master.csv"
    path.parent.mkdir()
    import_speed.generate(path, rows, gap=gap)
    text = re.sub(r"010\d{8}", lambda m: f"010{int(m.group(0)) % numbers:08d}", path.read_text())
    path.write_text(text)
    return path


def tables(url: str) -> dict[str, list[tuple]]:
    """Every derived table's rows (ids left out), sorted; calls say which obligation they are in."""
    engine = sa.create_engine(Store(url, migrate=False).engine.url)
    md = sa.MetaData()
    out = {}
    with engine.connect() as conn:
        md.reflect(conn, only=["calls", "legs", "agent_results", "callbacks"])
        keys = dict(conn.execute(sa.text("SELECT callback_id, key FROM callbacks")).all())
        for name in ("calls", "legs", "agent_results", "callbacks"):
            t = md.tables[name]
            cols = [c for c in t.columns if c.name not in SKIP]
            if name == "calls":
                rows = [tuple(r[:-1]) + (keys.get(r[-1]),) for r in conn.execute(sa.select(*cols, t.c.callback_id))]
            else:
                rows = [tuple(r) for r in conn.execute(sa.select(*cols))]
            out[name] = sorted(rows, key=repr)
    engine.dispose()
    return out


def endpoints(url: str) -> list[tuple]:
    """What the PBX's endpoints showed (the evidence the import learnt), sorted."""
    engine = sa.create_engine(Store(url, migrate=False).engine.url)
    with engine.connect() as conn:
        rows = sorted(tuple(r) for r in conn.execute(sa.text("SELECT * FROM endpoints")))
    engine.dispose()
    return rows


def ingest(url: str, files, columnar: bool) -> None:
    pipeline = Pipeline(Store(url), CONFIG)
    files_in = FileIngest(pipeline)
    files_in.columnar = columnar
    for path in files:
        files_in.ingest(path, "cdr")


def test_columns_and_records_store_the_same(db_url, tmp_path):
    files = [*sorted(SAMPLES.glob("*/Master.csv")), generated(tmp_path)]
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    ingest(db_url, files, columnar=True)
    ingest(reference, files, columnar=False)  # records one by one, on SQLite
    fast, slow = tables(db_url), tables(reference)
    assert len(fast["calls"]) > 10_000 and len(fast["agent_results"]) > 500
    with Store(db_url).engine.connect() as conn:
        statuses = set(conn.execute(sa.text("SELECT DISTINCT status FROM callbacks")).scalars())
    assert statuses >= {"open", "met", "resolved_by_customer"}
    for name in slow:
        assert fast[name] == slow[name], name


def test_postgresql_planner_sees_what_the_import_wrote(pg_url, tmp_path, monkeypatch):
    """An import is one transaction, which autovacuum cannot sample: the import refreshes the
    planner's statistics itself as the tables grow, or PostgreSQL plans every block's lookups
    for empty tables (a scan of every open obligation per block)."""
    from callmon.service import ingest as file_ingest

    monkeypatch.setattr(file_ingest, "BLOCK_BYTES", 64 << 10)  # several blocks
    path = generated(tmp_path, rows=3_000)
    ingest(pg_url, [path], columnar=True)
    with Store(pg_url).engine.connect() as conn:
        estimated = conn.execute(sa.text(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass('calls')")).scalar_one()
        stored = conn.execute(sa.text("SELECT count(*) FROM calls")).scalar_one()
    assert stored > 2_000 and estimated > stored / 4  # a never analysed table says -1


def test_numbers_that_call_once_get_the_same_obligations_either_way(db_url, tmp_path):
    # most callers call once (their obligations are opened without a derivation), some again in
    # the same block or a later one, and the second file repeats the first's numbers
    files = [generated(tmp_path, 12_000, numbers=15_000), sorted(SAMPLES.glob("*/Master.csv"))[0]]
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    ingest(db_url, files, columnar=True)
    ingest(reference, files, columnar=False)
    fast, slow = tables(db_url), tables(reference)
    opened_by = {json.loads(row[3])[0] for row in fast["callbacks"]}  # missed_call_ids
    assert len(fast["callbacks"]) > 1000 and len(opened_by) == len(fast["callbacks"])
    for name in slow:
        assert fast[name] == slow[name], name
    # the oracle: every obligation derived again from all the calls, the memos and the cancellations
    for url in (db_url, reference):
        pipeline = Pipeline(Store(url), CONFIG)
        with pipeline.store.begin() as conn:
            pipeline.obligations.refresh_all(conn)
        assert tables(url) == fast


@pytest.mark.parametrize(("dialect", "block_bytes"), [("sqlite", None), ("sqlite", 48 << 10), ("postgresql", 48 << 10),
                                                      ("postgresql-alone", 48 << 10)],
                         ids=["sqlite-usual-blocks", "sqlite-small-blocks", "postgresql-small-blocks",
                              "postgresql-alone-small-blocks"])
def test_a_staged_import_stores_what_a_direct_one_does(tmp_path, monkeypatch, block_bytes, dialect, request):
    # a helper process binds the rows into a stage database, copied in by SQLite (on PostgreSQL:
    # it makes the journal's CSV and the calls' columns for COPY); same tables, same rejects, and
    # a second import of the same files changes nothing. Small blocks cut calls of several
    # records: the helper's versions of those give way to the journal's
    if block_bytes:
        monkeypatch.setattr(file_ingest, "BLOCK_BYTES", block_bytes)
    files = [generated(tmp_path, 6_000, numbers=8_000), generated(tmp_path, 4_000, numbers=40),
             *sorted(SAMPLES.glob("*/Master.csv"))[:2]]  # a helper process each: a second or so
    bad = tmp_path / "bad" / "Master.csv"
    bad.parent.mkdir()
    lines = files[0].read_text().splitlines(keepends=True)
    bad.write_text("".join(lines[:500]) + "not,a,cdr,line\n" + "".join(lines[500:1000]))
    files.append(bad)
    # (the first file goes into an empty database: only the linkedids an earlier block may have
    # had are looked up in the journal, ingest.Recurring; postgresql-alone: the import has its
    # database alone, as SQLite's has the writing; the other PostgreSQL import shares its server)
    # records of one call again under other sequence numbers: the helper assembles and scores the
    # call from them, but the journal holds its first records too, so it is derived from all
    again = tmp_path / "again" / "Master.csv"
    again.parent.mkdir()
    by_call = {}
    for rec in csv.reader(lines):
        by_call.setdefault(rec[19], []).append(rec)
    twice = next(recs for recs in by_call.values() if len(recs) > 1)
    with again.open("w", newline="") as fh:
        csv.writer(fh).writerows([*rec[:20], str(int(rec[20]) + 10**7)] for rec in twice)
    files.append(again)
    if dialect == "sqlite":
        staged, direct = f"sqlite:///{tmp_path / 'staged.db'}", f"sqlite:///{tmp_path / 'direct.db'}"
    else:
        make = request.getfixturevalue("pg_urls")
        staged, direct = make(database=dialect == "postgresql-alone"), make()
    reports = {}
    for url, threshold in ((staged, 0), (direct, None)):
        files_in = FileIngest(Pipeline(Store(url), CONFIG), rejects_dir=tmp_path / str(threshold),
                              stage_min_bytes=threshold)
        (tmp_path / str(threshold)).mkdir()
        reports[url] = [files_in.ingest(path, "cdr") for path in files]
        assert files_in._stages(files[0], "cdr") is (threshold == 0)
    summary = lambda r: (r.rows, r.new_rows, r.calls, r.incomplete_calls, r.rejected)  # noqa: E731
    assert [summary(r) for r in reports[staged]] == [summary(r) for r in reports[direct]]
    assert reports[staged][files.index(bad)].rejected == 1
    assert (tmp_path / "0" / "Master.csv.rejects.csv").read_text() == (tmp_path / "None" / "Master.csv.rejects.csv").read_text()
    first = tables(staged)
    assert first == tables(direct)
    assert endpoints(staged) == endpoints(direct) and endpoints(staged)
    files_in = FileIngest(Pipeline(Store(staged), CONFIG), stage_min_bytes=0)
    assert [files_in.ingest(path, "cdr").new_rows for path in files[:2]] == [0, 0]
    assert tables(staged) == first


def test_a_staged_import_learns_each_call_once(tmp_path, monkeypatch):
    """A record alone in the helper's block whose call has inputs in an earlier block is derived
    again from the journal and learnt then: its sightings in the helper's block are not counted
    too (the endpoints' call counts equal a direct import's). Tiny blocks cut many calls."""
    monkeypatch.setattr(file_ingest, "BLOCK_BYTES", 8 << 10)
    path = generated(tmp_path, 5_000, numbers=6_000)
    seen = {}
    for name, threshold in (("staged", 0), ("direct", None)):
        url = f"sqlite:///{tmp_path / name}.db"
        FileIngest(Pipeline(Store(url), CONFIG), stage_min_bytes=threshold).ingest(path, "cdr")
        seen[name] = endpoints(url)
    assert seen["staged"] == seen["direct"] and seen["staged"]


def test_a_failing_helper_process_is_an_error_and_the_file_stores_nothing(tmp_path):
    from callmon.service.ingest import FileReport, RejectsFile

    url = f"sqlite:///{tmp_path / 'failed.db'}"
    store = Store(url)
    files_in = FileIngest(Pipeline(store, CONFIG), stage_min_bytes=0)
    path = sorted(SAMPLES.glob("*/Master.csv"))[0]
    rejects = RejectsFile(tmp_path / "rejects.csv")
    # a zone the helper cannot read times in: it fails on the first block, after it started
    with pytest.raises(RuntimeError, match="import helper"):
        files_in._ingest_staged(path, "cdr", "Mars/Olympus_Mons", FileReport(str(path), "cdr"), rejects)
    assert store.count_journal(CONFIG.pbx) == 0
    files_in.ingest(path, "cdr")  # and the file goes in afterwards
    assert store.count_journal(CONFIG.pbx) > 0


def test_a_staged_import_of_what_is_not_a_master_csv_is_an_input_error(tmp_path):
    """The helper process is the one that reads a staged file: what it cannot read comes back as
    the same InputError, naming the file, and nothing is stored."""
    from callmon.core.errors import InputError

    store = Store(f"sqlite:///{tmp_path / 'callmon.db'}")
    files_in = FileIngest(Pipeline(store, CONFIG), stage_min_bytes=0)
    cel = next(SAMPLES.glob("*/cel.csv"))
    with pytest.raises(InputError, match="cel.csv"):
        files_in.ingest(cel, "cdr")
    assert store.count_journal(CONFIG.pbx) == 0


def test_ingest_takes_the_database_alone_unless_shared(tmp_path, caplog):
    """``callmon ingest`` of a Master.csv of 32 MB or more: the database alone in a rollback
    journal; with ``--shared`` it stays in WAL. Both store the same."""
    import logging

    from tests.conftest import run_cli

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import import_speed
    finally:
        sys.path.pop(0)
    big = tmp_path / "Master.csv"
    import_speed.generate(big, 120_000)
    assert big.stat().st_size >= file_ingest.STAGE_MIN_BYTES
    counts = {}
    for shared in (False, True):
        db = tmp_path / f"shared-{shared}.db"
        caplog.clear()
        with caplog.at_level(logging.INFO, "callmon.storage.store"):
            run_cli("ingest", str(big), "--db", f"sqlite:///{db}", "--config", str(SAMPLES / "callmon.toml"),
                    *(["--shared"] if shared else []))
        taken = "large import: the database alone" in caplog.text
        assert taken is not shared
        counts[shared] = tables(f"sqlite:///{db}")
        assert Store(f"sqlite:///{db}").count_journal(CONFIG.pbx) == 120_000
    assert counts[False] == counts[True] and len(counts[True]["calls"]) > 100_000
