"""A large import into SQLite loads first and indexes after: ``ix_calls_customer`` is dropped
inside the import's transaction and built again at its end, and the import's callback
obligations are derived once, at its end. Readers meanwhile see the old state or wait, a killed
import leaves the old state with its index, and the tables are the ones a block-by-block import
makes (with memos, cancellations and obligations stored before)."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from callmon.service import ingest as file_ingest
from callmon.service.ingest import FileIngest
from callmon.service.pipeline import Pipeline
from callmon.storage import Store, stage
from tests.conftest import ROOT, SAMPLES
from tests.service.test_write_records import CONFIG, generated, tables

INDEX = "ix_calls_customer"


def index_sql(path) -> str | None:
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?", (INDEX,)).fetchone()
    return row[0] if row else None


def snapshot(db: sqlite3.Connection) -> tuple:
    """What a reader sees: the rows of the tables an import writes, and the index's definition."""
    counts = tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                   for t in ("journal", "calls", "legs", "agent_results", "callbacks"))
    index = db.execute("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?", (INDEX,)).fetchone()
    return counts, index


@pytest.mark.parametrize("alone", [True, False], ids=["alone", "shared"])
def test_a_reader_during_the_import_sees_the_old_state_or_waits(tmp_path, monkeypatch, caplog, alone):
    monkeypatch.setattr(file_ingest, "BLOCK_BYTES", 64 << 10)  # many blocks, a read after each
    path = tmp_path / "callmon.db"
    url = f"sqlite:///{path}"
    first = sorted(SAMPLES.glob("*/Master.csv"))[0]
    FileIngest(Pipeline(Store(url), CONFIG), stage_min_bytes=None).ingest(first, "cdr")
    with sqlite3.connect(path) as db:
        old = snapshot(db)
    assert old[0][1] > 0 and old[1] is not None
    seen = []

    def read(nbytes: int) -> None:  # another connection, after each block of the import
        db = sqlite3.connect(path, timeout=0)
        try:
            seen.append(snapshot(db))
        except sqlite3.OperationalError as exc:  # the import holds the database alone: wait
            assert "locked" in str(exc)
            seen.append("waits")
        finally:
            db.close()

    big = generated(tmp_path, 6_000, numbers=300)
    files_in = FileIngest(Pipeline(Store(url), CONFIG), stage_min_bytes=0, alone=alone, progress=read)
    with caplog.at_level(logging.INFO, "callmon.storage.store"):
        report = files_in.ingest(big, "cdr")
    assert f"{INDEX} built after the load" in caplog.text  # the index was away meanwhile
    assert len(seen) > 5 and all(s == old or s == "waits" for s in seen), seen
    assert old in seen  # (the import's pages stay in its cache: a reader gets in)
    with sqlite3.connect(path) as db:
        new = snapshot(db)
    assert new[1] == old[1] and new[0][1] == old[0][1] + report.calls


def test_a_killed_import_leaves_the_old_state_and_the_index(tmp_path):
    """The import process is killed (SIGKILL) in the middle of a file, after the index was
    dropped: the next connection finds the old state, the index as it was, and a sound file."""
    path = tmp_path / "callmon.db"
    url = f"sqlite:///{path}"
    first = sorted(SAMPLES.glob("*/Master.csv"))[0]
    FileIngest(Pipeline(Store(url), CONFIG), stage_min_bytes=None).ingest(first, "cdr")
    before, index = tables(url), index_sql(path)
    assert index is not None
    big = generated(tmp_path, 6_000, numbers=300)
    script = textwrap.dedent(f"""
        import os, signal
        import sqlalchemy as sa
        from callmon.service import ingest as file_ingest
        from callmon.service.ingest import FileIngest
        from callmon.service.pipeline import Pipeline
        from callmon.storage import Store
        from tests.service.test_write_records import CONFIG

        if __name__ == "__main__":
            file_ingest.BLOCK_BYTES = 64 << 10
            store = Store({url!r})
            load_first, conns, blocks = store.load_first, [], []

            def remember(conn, rows, **options):  # the import's connection, to look at its schema
                conns.append(conn)
                return load_first(conn, rows, **options)

            store.load_first = remember

            def block(nbytes):
                blocks.append(nbytes)
                if len(blocks) == 3:
                    gone = conns[0].execute(sa.text(
                        "SELECT count(*) FROM sqlite_schema WHERE name = '{INDEX}'")).scalar_one() == 0
                    print("index dropped" if gone else "index there", os.getpid(), flush=True)
                    os.kill(os.getpid(), signal.SIGKILL)

            FileIngest(Pipeline(store, CONFIG), stage_min_bytes=0, progress=block).ingest({str(big)!r}, "cdr")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr
    said, pid = done.stdout.strip().rsplit(" ", 1)
    assert said == "index dropped"
    # its stage files were left where it put them (in memory, where /dev/shm is)
    left = list(Path(stage.default_directory() or tempfile.gettempdir()).glob(f"callmon-import-{pid}-*"))
    assert len(left) == 1 and any(left[0].iterdir())
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert index_sql(path) == index
    assert tables(url) == before
    # and the file goes in afterwards
    FileIngest(Pipeline(Store(url), CONFIG), stage_min_bytes=0).ingest(big, "cdr")
    assert index_sql(path) == index and len(tables(url)["calls"]) > len(before["calls"])
    assert not left[0].exists()  # the next import removed what the killed one left


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_obligations_at_the_end_are_those_derived_block_by_block(tmp_path, monkeypatch, caplog, dialect, request):
    """A database with obligations, memos and a cancellation from before; a staged import (its
    obligations derived once at its end, the index built after) of a file whose numbers call
    once, again, or had a memo, stores what a direct import (block by block) does, and what a
    derivation of every number from the beginning gives."""
    monkeypatch.setattr(file_ingest, "BLOCK_BYTES", 96 << 10)  # calls of one number in several blocks
    whole = generated(tmp_path, 9_000, numbers=4_000)  # most numbers call about twice
    lines = whole.read_text().splitlines(keepends=True)
    earlier, later = tmp_path / "earlier" / "Master.csv", tmp_path / "later" / "Master.csv"
    for part, text in ((earlier, lines[:3_000]), (later, lines[3_000:])):  # a call may span both
        part.parent.mkdir()
        part.write_text("".join(text))
    numbers = sorted({line.split(",")[1].strip('"') for line in lines[3_000:3_400]})
    if dialect == "sqlite":
        urls = {way: f"sqlite:///{tmp_path / (way + '.db')}" for way in ("staged", "direct")}
    else:
        make = request.getfixturevalue("pg_urls")
        urls = {way: make(database=True) for way in ("staged", "direct")}
    for way, url in urls.items():
        pipeline = Pipeline(Store(url), CONFIG)
        FileIngest(pipeline, stage_min_bytes=None).ingest(earlier, "cdr")
        obligations = pipeline.obligations
        for k, number in enumerate(n for n in numbers if n.startswith("010")):
            if k % 7 == 0:  # memos for numbers the later file calls
                obligations.add_memo(number, 1_795_000_000.0 + 3_600 * k, name="민원인", agent="2001")
        with pipeline.store.begin() as conn:
            opened = [r for r in pipeline.store.stored_callbacks(conn, pipeline.pbx) if r["status"] == "open"]
        obligations.cancel(opened[0]["callback_id"], "중복 민원", opened[0]["first_missed_at"] + 60)
        pipeline.store.engine.dispose()  # (PostgreSQL: an idle session would keep the import from loading first)
        staged = FileIngest(Pipeline(Store(url), CONFIG), stage_min_bytes=0 if way == "staged" else None)
        assert staged._stages(later, "cdr") is (way == "staged")
        with caplog.at_level(logging.INFO, "callmon.storage.store"):
            staged.ingest(later, "cdr")
        assert (f"{INDEX}" in caplog.text and "built after the load" in caplog.text) is (way == "staged")
        caplog.clear()
    result = tables(urls["staged"])
    assert result == tables(urls["direct"])
    assert len(result["callbacks"]) > 1000
    assert {r[7] for r in result["callbacks"]} >= {"open", "met", "cancelled"}  # status
    pipeline = Pipeline(Store(urls["staged"]), CONFIG)
    with pipeline.store.begin() as conn:
        pipeline.obligations.refresh_all(conn)
    assert tables(urls["staged"]) == result


def test_a_large_database_keeps_its_index_through_a_smaller_import(tmp_path, caplog):
    """The index is built after the load only when the import brings a large part of the calls
    (a quarter or more): rebuilding it for a few rows would cost more than their inserts."""
    url = f"sqlite:///{tmp_path / 'callmon.db'}"
    store = Store(url)
    with store.begin() as conn:
        assert store.load_first(conn, 10)  # an empty database: dropped (and rolled back here)
        conn.rollback()
    FileIngest(Pipeline(store, CONFIG), stage_min_bytes=None).ingest(generated(tmp_path, 2_000), "cdr")
    with store.begin() as conn:
        calls = conn.exec_driver_sql("SELECT count(*) FROM calls").scalar_one()
        assert not store.load_first(conn, calls // 5)
        assert conn.exec_driver_sql(f"SELECT count(*) FROM sqlite_schema WHERE name = '{INDEX}'").scalar_one() == 1
        assert store.load_first(conn, calls // 3)
        assert conn.exec_driver_sql(f"SELECT count(*) FROM sqlite_schema WHERE name = '{INDEX}'").scalar_one() == 0
        conn.rollback()
    assert index_sql(tmp_path / "callmon.db") is not None


def test_after_the_index_is_built_again_a_number_is_looked_up_in_it(tmp_path):
    """Once a large import has built ``ix_calls_customer`` again (last in the schema), the
    look-ups of the calls of some numbers (a derivation of their obligations) still read the
    index number by number, not as one range of every number tested against the list (at 10M
    calls: 3-4 s a query instead of 0.2 s)."""
    import sqlalchemy as sa

    store = Store(f"sqlite:///{tmp_path / 'callmon.db'}")
    FileIngest(Pipeline(store, CONFIG), stage_min_bytes=0).ingest(generated(tmp_path, 2_000), "cdr")
    with store.begin() as conn:
        indexes = [n for (n,) in conn.exec_driver_sql(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'calls' ORDER BY rowid")]
        assert indexes[-1] == INDEX  # built after the load
        numbers = [n for (n,) in conn.exec_driver_sql("SELECT DISTINCT customer_number FROM calls LIMIT 50")]
        statements: list[tuple[str, tuple]] = []

        def catch(conn_, cursor, sql, params, context, many):
            statements.append((sql, params))

        sa.event.listen(conn, "before_cursor_execute", catch)
        assert store.calls_of_numbers(conn, "default", numbers, 1_000.0)
        store.numbers_with_unanswered(conn, "default", numbers, 1_000.0)
        sa.event.remove(conn, "before_cursor_execute", catch)
        assert len(statements) == 4  # two ranges of ended_at each
        for sql, params in statements:
            plan = " ".join(r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
            assert f"USING INDEX {INDEX} (pbx=? AND customer_number=?" in plan, (sql, plan)


def test_single_misses_are_stored_in_the_order_of_numbers(tmp_path):
    """At the end of a large SQLite import, the obligations of the single misses go in in the
    order of their numbers (their ids given so) and their calls are linked after the index of
    numbers is built again and before the numbers with other calls are derived."""
    store = Store(f"sqlite:///{tmp_path / 'callmon.db'}")
    said: list[str] = []
    load_first = store.load_first

    def traced(conn, rows, **options):  # the import's connection
        conn.connection.driver_connection.set_trace_callback(said.append)
        return load_first(conn, rows, **options)

    store.load_first = traced
    FileIngest(Pipeline(store, CONFIG), stage_min_bytes=0).ingest(generated(tmp_path, 3_000, numbers=2_000), "cdr")
    first = lambda *parts: next(k for k, sql in enumerate(said) if all(p in sql for p in parts))  # noqa: E731
    customer, opened = first(f"CREATE INDEX {INDEX}"), first("INSERT INTO callbacks (callback_id, pbx")
    linked, derived = first("UPDATE calls SET callback_id", "WHERE id"), first("UPDATE calls SET callback_id", "WHERE pbx")
    assert customer < opened < linked < derived
    with sqlite3.connect(tmp_path / "callmon.db") as db:
        singles = db.execute("SELECT b.number, b.key FROM callbacks b WHERE (SELECT count(*) FROM calls c "
                             "WHERE c.customer_number = b.number) = 1 ORDER BY b.callback_id").fetchall()
    assert len(singles) > 100 and singles == sorted(singles)


def test_the_index_is_built_with_sorting_threads_then_the_settings_are_put_back(tmp_path):
    """SQLite sorts a large index with a helper thread and a smaller page cache while it is
    built after the load; the connection's settings are as they were afterwards."""
    from callmon.storage import store as storage

    store = Store(f"sqlite:///{tmp_path / 'callmon.db'}")
    with store.begin() as conn:
        raw = conn.connection.driver_connection
        before = [raw.execute(f"PRAGMA {name}").fetchone()[0] for name in ("threads", "cache_size")]
        plan = store.load_first(conn, 10)
        assert plan.indexes
        said: list[str] = []
        raw.set_trace_callback(said.append)
        try:
            store.index_after(conn, plan)
        finally:
            raw.set_trace_callback(None)
        build = next(k for k, sql in enumerate(said) if sql.startswith(f"CREATE INDEX {INDEX}"))
        assert f"PRAGMA threads = {storage.SORT_THREADS}" in said[:build]
        assert f"PRAGMA cache_size = -{storage.SORT_CACHE_KIB}" in said[:build]
        assert [raw.execute(f"PRAGMA {name}").fetchone()[0] for name in ("threads", "cache_size")] == before


def pg_indexes(url: str) -> dict[str, str]:
    import sqlalchemy as sa

    engine = sa.create_engine(Store(url, migrate=False).engine.url)
    with engine.connect() as conn:
        found = dict(conn.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()").all())
    engine.dispose()
    return found


def test_postgresql_loads_first_only_when_the_import_is_alone(pg_urls, tmp_path, caplog):
    """On PostgreSQL a large import drops the secondary indexes a load does not read and builds
    them again at its end (the same definitions), and its obligations wait for its end, only
    when no other session is connected to the database (DROP INDEX would lock its table for the
    whole import) and it is not ``--shared``. Each way stores the same tables."""
    import psycopg

    from callmon.storage import store as storage

    big = generated(tmp_path, 6_000, numbers=300)
    first = sorted(SAMPLES.glob("*/Master.csv"))[0]
    results, said = [], []
    for way in ("alone", "shared", "another session"):
        url = pg_urls(database=True)
        store = Store(url)
        FileIngest(Pipeline(store, CONFIG), stage_min_bytes=None).ingest(first, "cdr")
        before = pg_indexes(url)
        assert set(storage.LOAD_FIRST_INDEXES_PG) <= set(before)
        store.engine.dispose()
        other = psycopg.connect(url) if way == "another session" else None
        try:
            caplog.clear()
            with caplog.at_level(logging.INFO, "callmon.storage.store"):
                FileIngest(Pipeline(Store(url), CONFIG), stage_min_bytes=0, alone=way != "shared").ingest(big, "cdr")
            said.append(caplog.text)
        finally:
            if other is not None:
                other.close()
        assert pg_indexes(url) == before
        results.append(tables(url))
    assert all(name in said[0] for name in storage.LOAD_FIRST_INDEXES_PG) and "built after the load" in said[0]
    assert "built after the load" not in said[1] and "built after the load" not in said[2]
    assert "other session(s) on the database, its indexes stay" in said[2]
    assert results[0] == results[1] == results[2] and results[0]["callbacks"]
