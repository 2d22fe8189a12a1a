"""The write-side rollups (storage/rollups.py) on SQLite and PostgreSQL: the report read from them
equals the report of today's GROUP BY over the calls and the pure definition over every row
(:func:`callmon.metrics.aggregates.report_tables`), on the real captures and on generated calls,
after a live write, a re-import, a replaced call and changed callbacks; a write made around the
Store is read from the rows until the next write; migration 0009 fills them and goes down cleanly."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from callmon.core.config import load_config
from callmon.read import Reader
from callmon.read import period_tables as pt
from callmon.reporting.render import parse_time
from callmon.reporting.report import build_report, callback_rows, training_rows
from callmon.service.pipeline import Pipeline
from callmon.storage import Store
from callmon.storage.schema import agent_results, calls
from tests.callback_story import kst, variant
from tests.conftest import SAMPLES, SCENARIOS, alembic_to, run_cli

AT = "2026-11-30T12:00"
LABELS = ("2026-11", "2026-W48", "2026-11-23", "2026-Q4", "2026-H2")


def _ingest(db_url, cfg_path, *files):
    run_cli("ingest", *map(str, files), "--db", db_url, "--config", cfg_path)


def _same(got: pd.DataFrame, want: pd.DataFrame, where) -> None:
    assert list(got.columns) == list(want.columns), where
    assert len(got) == len(want), where
    for col in want.columns:
        for a, b in zip(got[col].tolist(), want[col].tolist()):
            # counts exactly; sums of seconds added in another order to the last bits
            assert (pd.isna(a) and pd.isna(b)) or a == b or a == pytest.approx(b, rel=1e-9), (where, col, a, b)


def _callbacks(reader, period, now):
    rows = callback_rows(reader, period, now)
    return pd.DataFrame([{**r, "missed_call_ids": json.loads(r["missed_call_ids"])} for r in rows])


def assert_rollups_exact(reader: Reader, now: float, labels=LABELS, *, expect_rolled: bool = True) -> None:
    """For each period: the rollups cover it (or not), and the tables read from them, from
    today's GROUP BY over the rows and from the pure definition are the same; so are the
    training list and the trends."""
    from callmon.metrics.aggregates import report_tables

    s, pbx, tz = reader.store, reader.pbx, reader.tz
    for label in labels:
        p = reader.period(label)
        offset = pt.fixed_offset(tz, p.start, p.end)
        assert pt.use_rollups(s, pbx, p.start, p.end, offset) is expect_rolled, label
        cbs = _callbacks(reader, p, now)
        pure = report_tables(s.calls_frame(pbx, p.start, p.end), s.agent_results_frame(pbx, p.start, p.end), cbs, tz)
        rows = pt.customer_tables(s, pbx, p.start, p.end, offset, cbs, tz)
        rows["agent"] = pt.agent_table(s, pbx, p.start, p.end, cbs)
        report = reader.report_tables(p.start, p.end, cbs)
        assert set(rows) == set(pure) == set(report), label
        for name, want in pure.items():
            _same(rows[name], want, (label, name, "rows"))
            _same(report[name], want, (label, name, "report"))
        if expect_rolled:
            rolled = pt.customer_tables(s, pbx, p.start, p.end, offset, cbs, tz, rolled=True)
            rolled["agent"] = pt.agent_table(s, pbx, p.start, p.end, cbs, rolled=True)
            for name, want in pure.items():
                _same(rolled[name], want, (label, name, "rollups"))
            for by in (None, "team", "queue"):  # the trends' figures
                got = pd.DataFrame(s.rollup_inbound_totals_by(pbx, p.start, p.end, by))
                want = pd.DataFrame(s.inbound_totals_by(pbx, p.start, p.end, by))[list(got.columns)]
                _same(got, want, (label, by, "trend"))
        if p.kind in ("month", "quarter", "half-year"):
            cb_rows = callback_rows(reader, p, now)
            frame = s.agent_results_frame(pbx, p.start, p.end)
            assert training_rows(reader, p, now, cb_rows) == training_rows(reader, p, now, cb_rows, frame), label


def test_the_report_from_the_rollups_equals_the_rows_and_the_pure_definition_on_the_captures(stored):
    """After an import (the rollups recomputed once, at its commit)."""
    _, _, reader = stored
    assert_rollups_exact(reader, parse_time(AT, reader.tz))


def test_a_live_write_a_reimport_a_replaced_call_and_changed_callbacks_keep_the_rollups_exact(stored, tmp_path):
    db_url, cfg_path, reader = stored
    now = parse_time(AT, reader.tz)
    config = load_config(cfg_path)
    store = Store(db_url)
    pipeline = Pipeline(store, config)
    # a live write: the listener's path (journal + derive in one transaction per batch)
    pipeline.ingest_ami_file(variant(tmp_path, "late", "b_direct_late_agent_hangs_up", at=kst(2026, 11, 25, 14, 59, 59)))
    assert_rollups_exact(reader, now, ("2026-11", "2026-11-25"))
    # the same files again: nothing new, nothing counted twice
    _ingest(db_url, cfg_path, *[SAMPLES / s / "ami.raw" for s in SCENARIOS if s != "c_direct_abandon"])
    assert_rollups_exact(reader, now, ("2026-11", "2026-H2"))
    # a call replaced (delete + insert) by another version of it: moved to another day and hour
    with store.begin() as conn:
        row = conn.execute(calls.select().where(calls.c.outcome == "answered").limit(1)).mappings().one()
        moved_to = row["arrived_at"] + 3 * 86400 + 7200
        conn.execute(calls.delete().where(calls.c.id == row["id"]))
        conn.execute(calls.insert(), {**{k: v for k, v in row.items() if k != "id"}, "arrived_at": moved_to,
                                      "ring_seconds": 9.25, "rings": 4, "ring_rule": "fail"})
        conn.execute(agent_results.update().where(agent_results.c.call_id == row["call_id"]).values(at=moved_to))
    assert_rollups_exact(reader, now, ("2026-11", "2026-W48", "2026-H2"))
    # callbacks: a memo taken by an agent, then cancelled
    memo = pipeline.obligations.add_memo("010-7777-1234", kst(2026, 11, 24, 9).timestamp(), name="Choi",
                                         purpose="bill", agent="2001")
    assert_rollups_exact(reader, now, ("2026-11",))
    pipeline.obligations.cancel(memo["callback_id"], "called back by mobile", kst(2026, 11, 24, 10).timestamp())
    assert_rollups_exact(reader, now, ("2026-11", "2026-H2"))
    # a rebuild from the journal
    pipeline.rebuild()
    assert_rollups_exact(reader, now, ("2026-11", "2026-H2"))
    store.dispose()


def test_a_failed_memo_callback_warning_is_merged_into_the_training_list_as_the_pure_path_does(stored):
    """An employee with a failed callback (a warning between their verdicts) is read row by row."""
    db_url, cfg_path, reader = stored
    store = Store(db_url)
    pipeline = Pipeline(store, load_config(cfg_path))
    for day in (2, 9, 16):
        pipeline.obligations.add_memo(f"010-7777-12{day:02d}", kst(2026, 11, day, 10).timestamp(), agent="2002")
    now = parse_time(AT, reader.tz)
    p = reader.period("2026-11")
    cb_rows = callback_rows(reader, p, now)
    frame = reader.store.agent_results_frame(reader.pbx, p.start, p.end)
    rolled, pure = training_rows(reader, p, now, cb_rows), training_rows(reader, p, now, cb_rows, frame)
    assert rolled == pure and any(r["employee"] == "Lee Agent" for r in pure)
    store.dispose()


def test_a_write_around_the_store_is_read_from_the_rows_until_the_next_write(stored):
    db_url, cfg_path, reader = stored
    now = parse_time(AT, reader.tz)
    store = Store(db_url)
    with store.engine.begin() as conn:  # not Store.begin: the marks stay
        conn.execute(calls.delete().where(calls.c.outcome == "abandoned"))
    assert_rollups_exact(reader, now, ("2026-11", "2026-H2"), expect_rolled=False)
    with store.begin():  # any write transaction of the Store recomputes the marked hours
        pass
    assert_rollups_exact(reader, now, ("2026-11", "2026-H2"))
    store.dispose()


def _generated(store: Store, n: int, seed: int) -> None:
    """Random calls and verdicts of Nov-Dec 2026, some on an hour's edge (to the microsecond),
    with continuous ring seconds, several teams, queues and agents, NULLs among them."""
    rng = random.Random(seed)
    start = kst(2026, 11, 1).timestamp()
    call_rows, result_rows = [], []
    for i in range(n):
        t = start + rng.randrange(0, 61 * 86400)
        if rng.random() < 0.2:  # on an hour's edge
            t = (t // 3600) * 3600 - rng.choice([0.0, 0.000001, -0.000001, 0.5])
        direction = rng.choice(["inbound"] * 8 + ["outbound", "internal"])
        outcome = rng.choice(["answered"] * 6 + ["abandoned", "no_answer", "busy"])
        answered = outcome == "answered"
        rings = rng.randint(1, 8) if answered and rng.random() < 0.95 else None
        ring_seconds = round(rng.uniform(0.2, 25.0), 6) if rings and rng.random() < 0.97 else None
        agent_no = rng.randrange(7)
        agent = None if agent_no == 6 else f"Agent {agent_no}"
        team = rng.choice(["민원팀", "요금팀", None])
        call_rows.append({
            "pbx": "default", "call_id": f"g{seed}.{i}", "direction": direction, "caller": "01012345678",
            "called": "2001", "queue": rng.choice(["support", "billing", None]), "arrived_at": t,
            "first_ring_at": t + 1, "answered_at": t + 5 if answered else None, "ended_at": t + 60,
            "outcome": outcome, "agent": agent, "team": team, "ring_seconds": ring_seconds, "rings": rings,
            "transferred": False, "incomplete": False,
            "ring_rule": "na" if direction != "inbound" else rng.choice(["pass", "fail"]),
            "hangup_rule": rng.choice(["pass", "fail", "na"]), "sources": "ami", "uniqueids": "[]"})
        for ext in rng.sample(["2001", "2002", "2003"], rng.randint(0, 2)):
            took = answered and rng.random() < 0.7
            result_rows.append({
                "pbx": "default", "call_id": f"g{seed}.{i}", "rule": "answer_before_ring", "extension": ext,
                "agent": agent if rng.random() < 0.8 else None, "team": team, "result": rng.choice(["pass", "fail"]),
                "reason": None, "rings": rings, "ring_seconds": ring_seconds, "answered": took, "at": t})
        if rng.random() < 0.3:
            result_rows.append({
                "pbx": "default", "call_id": f"g{seed}.{i}", "rule": "agent_hangs_up_last", "extension": "2001",
                "agent": agent, "team": team, "result": "fail", "reason": "agent first", "rings": None,
                "ring_seconds": None, "answered": True, "at": t})
    with store.begin() as conn:
        conn.execute(calls.insert(), call_rows)
        conn.execute(agent_results.insert(), result_rows)


def test_generated_calls_on_hour_edges_give_the_same_report_from_the_rollups(db_url, cfg_path):
    store = Store(db_url)
    _generated(store, 1500, 1)
    reader = Reader.open(db_url, load_config(cfg_path))
    now = kst(2026, 12, 31).timestamp()
    labels = ("2026-11", "2026-12", "2026-W48", "2026-11-30", "2026-Q4", "2026-H2")
    assert_rollups_exact(reader, now, labels)
    # a second batch in another transaction: only its hours are recomputed, the rest stand
    _generated(store, 300, 2)
    assert_rollups_exact(reader, now, labels)
    with store.begin() as conn:  # half of one day's calls go
        day = kst(2026, 11, 30).timestamp()
        conn.execute(calls.delete().where(calls.c.arrived_at >= day, calls.c.arrived_at < day + 43200))
        conn.execute(agent_results.delete().where(agent_results.c.at >= day, agent_results.c.at < day + 43200))
    assert_rollups_exact(reader, now, labels)
    reader.close()
    store.dispose()


def test_migration_0009_fills_the_rollups_from_the_stored_calls_and_goes_down_cleanly(db_url, cfg_path):
    import sqlalchemy as sa

    from callmon.storage import normalize_url

    alembic_to(db_url, "0008")
    store = Store(db_url, migrate=False)
    _generated(store, 600, 3)  # written at 0008: no rollups, no marks
    store.dispose()
    Store(db_url).dispose()  # a writer migrates to the head: the rollups are filled
    reader = Reader.open(db_url, load_config(cfg_path))
    assert_rollups_exact(reader, kst(2026, 12, 31).timestamp(), ("2026-11", "2026-12", "2026-H2"))
    reader.close()
    alembic_to(db_url, "0008", down=True)
    engine = sa.create_engine(normalize_url(db_url))
    tables = set(sa.inspect(engine).get_table_names())
    with engine.begin() as conn:  # no trigger left: a write at 0008 works
        conn.execute(calls.delete().where(calls.c.direction == "internal"))
        left = conn.execute(sa.select(sa.func.count()).select_from(calls)).scalar_one()
    engine.dispose()
    assert not {t for t in tables if t.startswith("rollup_")} and "calls" in tables and left > 0
    Store(db_url).dispose()  # and up again
    reader = Reader.open(db_url, load_config(cfg_path))
    assert_rollups_exact(reader, kst(2026, 12, 31).timestamp(), ("2026-11", "2026-12"))
    reader.close()


def test_the_report_of_a_zone_with_half_hour_offsets_is_read_from_the_rows(db_url, tmp_path):
    """Asia/Kolkata (+05:30): the periods' bounds are no whole UTC hours: not from the rollups."""
    path = tmp_path / "india.toml"
    path.write_text('[pbx]\ntimezone = "Asia/Kolkata"\n', encoding="utf-8")
    store = Store(db_url)
    _generated(store, 300, 4)
    reader = Reader.open(db_url, load_config(path))
    assert_rollups_exact(reader, kst(2026, 12, 31).timestamp(), ("2026-11", "2026-12-01"), expect_rolled=False)
    report = build_report(reader, "2026-11", kst(2026, 12, 31).timestamp())
    assert int(report.tables["summary"]["calls"].iloc[0]) > 0
    reader.close()
    store.dispose()


def test_a_large_import_marks_its_hours_at_its_end_and_keeps_the_rollups_exact(tmp_path, cfg_path):
    """A large staged import into SQLite drops the rollups' per-row insert triggers with the
    index (Store.load_first) and marks its rows' hours once at its end: the rollups equal the
    rows, and the triggers are back for the next writer."""
    import sqlite3
    from datetime import datetime, timezone

    from callmon.service.ingest import FileIngest
    from tests.service.test_write_records import generated

    path = generated(tmp_path, 3_000, numbers=200)
    url = f"sqlite:///{tmp_path / 'big.db'}"
    config = load_config(cfg_path)
    report = FileIngest(Pipeline(Store(url), config), stage_min_bytes=0).ingest(path, "cdr")
    assert report.calls > 2_000
    db = sqlite3.connect(tmp_path / "big.db")
    names = {n for (n,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'")}
    assert {"rollup_mark_calls_insert", "rollup_mark_agent_results_insert"} <= names
    assert db.execute("SELECT count(*) FROM rollup_dirty").fetchone() == (0,)
    first = datetime.fromtimestamp(db.execute("SELECT min(arrived_at) FROM calls").fetchone()[0], timezone.utc)
    db.close()
    reader = Reader.open(url, load_config(cfg_path))
    try:
        labels = (f"{first:%Y-%m}", f"{first.year}-H{1 + (first.month > 6)}")
        assert_rollups_exact(reader, first.timestamp() + 40 * 86400, labels)
    finally:
        reader.close()


@pytest.mark.parametrize("shuffled", [False, True], ids=["in-order", "late-rows"])
def test_a_large_import_rolls_up_the_hours_it_leaves_behind_as_it_goes(tmp_path, cfg_path, monkeypatch, shuffled):
    """A large import recomputes the rollups of the hours its file has left behind block by
    block (Store.roll_up_loaded) instead of all at its commit. A row that comes late for an hour
    already recomputed (moved to the end of the file; its call's other records stay where they
    were, so the call is derived again from all of them) marks that hour again: the rollups
    still equal the rows, and nothing is left marked."""
    import sqlite3
    from datetime import datetime, timezone

    from callmon.service import ingest
    from tests.service.test_write_records import generated

    path = generated(tmp_path, 3_000, numbers=200, gap=15.0)  # about 12 hours
    if shuffled:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        late = set(random.Random(7).sample(range(len(lines) // 2), len(lines) // 20))
        path.write_text("".join([x for i, x in enumerate(lines) if i not in late] + [lines[i] for i in sorted(late)]),
                        encoding="utf-8")
    monkeypatch.setattr(ingest, "BLOCK_BYTES", 64 << 10)  # (the helper is given it when it starts)
    url = f"sqlite:///{tmp_path / 'big.db'}"
    store = Store(url)
    rolled: list[int] = []
    roll_up = store.roll_up_loaded
    monkeypatch.setattr(store, "roll_up_loaded", lambda conn, plan: rolled.append(roll_up(conn, plan)) or rolled[-1])
    config = load_config(cfg_path)
    report = ingest.FileIngest(Pipeline(store, config), stage_min_bytes=0).ingest(path, "cdr")
    assert report.calls > 2_000 and report.rejected == 0
    assert len(rolled) > 5 and sum(rolled) > 0  # hours were recomputed while the file was read
    db = sqlite3.connect(tmp_path / "big.db")
    assert db.execute("SELECT count(*) FROM rollup_dirty").fetchone() == (0,)
    first = datetime.fromtimestamp(db.execute("SELECT min(arrived_at) FROM calls").fetchone()[0], timezone.utc)
    db.close()
    reader = Reader.open(url, config)
    try:
        labels = (f"{first:%Y-%m}", f"{first.year}-H{1 + (first.month > 6)}")
        assert_rollups_exact(reader, first.timestamp() + 40 * 86400, labels)
    finally:
        reader.close()
        store.dispose()
