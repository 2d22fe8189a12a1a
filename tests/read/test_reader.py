"""The read side on real captures, SQLite and PostgreSQL: every figure it returns equals what
`callmon calls`, `callmon callbacks` and `callmon report` give for the same data (both computed,
then compared); opening it neither migrates nor writes; viewers see masked numbers only."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime

import pandas as pd
import pytest

from callmon.core.errors import StoreError
from callmon.read import CallFilter, NotAllowed
from callmon.reporting.render import parse_time
from callmon.storage import Store
from callmon.storage.readonly import head_revision, open_readonly
from tests.conftest import run_cli

AT = "2026-11-30T12:00"
FULL_NUMBER = re.compile(r"(?<![\d*-])0\d{1,2}-?\d{3,4}-?\d{4}(?!\d)|\+82\d{8,10}")


def cli_json(*args: str) -> list[dict]:
    return json.loads(run_cli(*args, "--format", "json").stdout)


def test_tiles_and_span_tables_equal_the_report_of_the_same_span(stored, tmp_path):
    """Tiles (SQL) and the span's tables equal `callmon report`'s summary for the month."""
    db, cfg, reader = stored
    now = parse_time(AT, reader.tz)
    month = reader.period("2026-11")
    run_cli("report", "--period", "2026-11", "--out", str(tmp_path / "r.csv"), "--at", AT, "--db", db, "--config", cfg)
    summary = pd.read_csv(tmp_path / "r.csv").iloc[0]
    tiles = reader.tiles(now, month.start, month.end)
    assert tiles.calls == summary["calls"] > 0
    assert (tiles.answered, tiles.abandoned) == (summary["answered"], summary["abandoned"])
    assert (tiles.ring_pass, tiles.ring_fail) == (summary["ring_pass"], summary["ring_fail"])
    assert tiles.ring_rate == pytest.approx(summary["ring_rate"])
    assert tiles.avg_ring_seconds == pytest.approx(summary["avg_ring_seconds"])
    assert tiles.p90_ring_seconds == pytest.approx(summary["p90_ring_seconds"])
    assert tiles.agent_first_hangups == summary["agent_first_hangups"]
    iso = lambda ts: datetime.fromtimestamp(ts, reader.tz).isoformat()  # noqa: E731
    calls = cli_json("calls", "--since", iso(month.start), "--until", iso(month.end), "--db", db, "--config", cfg)
    rings = pd.Series([c["rings"] for c in calls if c["direction"] == "inbound" and c["outcome"] == "answered"
                       and c["rings"] is not None], dtype=float)
    assert tiles.avg_rings == pytest.approx(rings.mean()) and tiles.p90_rings == pytest.approx(rings.quantile(0.9))
    tables = reader.span_tables(month.start, month.end, now)
    team_csv = pd.read_csv(tmp_path / "r-team.csv")
    assert tables["team"]["calls"].tolist() == team_csv["calls"].tolist()
    agent_csv = pd.read_csv(tmp_path / "r-agent.csv")
    assert tables["agent"][["agent", "rang", "answered", "ring_pass"]].values.tolist() == \
        agent_csv[["agent", "rang", "answered", "ring_pass"]].values.tolist()
    hourly = reader.hourly(month.start, month.end)
    assert hourly["calls"].sum() == tiles.calls
    assert hourly[[f"rings_{k}" for k in range(1, 6)] + ["rings_6plus"]].sum().sum() == len(rings)


def test_callback_tiles_backlog_and_callbacks_at_equal_callmon_callbacks(stored):
    """Open/overdue counts, the backlog and callbacks_at equal `callmon callbacks` at the same moment."""
    db, cfg, reader = stored
    for at in ("2026-11-23T12:00", "2026-11-23T18:30", AT):
        cli = cli_json("callbacks", "--at", at, "--db", db, "--config", cfg)
        now = parse_time(at, reader.tz)
        mine = reader.callbacks_at(now)
        assert [(r["callback_id"], r["status"]) for r in mine] == [(r["callback_id"], r["status"]) for r in cli]
    now = parse_time(AT, reader.tz)
    cli = cli_json("callbacks", "--at", AT, "--db", db, "--config", cfg)
    unmet = [r for r in cli if r["status"] in ("open", "overdue")]
    backlog = reader.callback_backlog(now)
    assert sorted(r["callback_id"] for r in backlog) == sorted(r["callback_id"] for r in unmet)
    tiles = reader.tiles(now)
    assert tiles.callbacks_overdue == sum(r["status"] == "overdue" for r in unmet)
    assert tiles.callbacks_open == sum(r["status"] == "open" for r in unmet)
    assert [r["status"] for r in backlog] == sorted((r["status"] for r in backlog), key=lambda s: s != "overdue")
    history = reader.callback_history()
    assert {r["callback_id"] for r in history} == {r["callback_id"] for r in cli if r["status"] not in ("open", "overdue")}


def test_callbacks_at_any_moment_read_as_stored_equal_the_derivation_again(stored):
    """At every moment around the inputs (misses, the callback, a memo, a cancellation, each
    due time) the obligations read as stored, with only the numbers that have a later input
    derived again, are the rows of the derivation over every number, period bounds or not."""
    from callmon.read.callbacks import obligations_at

    db, cfg, reader = stored
    run_cli("callbacks", "add", "--number", "010-7777-1234", "--name", "홍길동", "--agent", "2001",
            "--at", "2026-11-24T11:00", "--db", db, "--config", cfg)
    memo = next(r for r in reader.callbacks_at(parse_time("2026-12-01T00:00", reader.tz)) if r["name"] == "홍길동")
    run_cli("callbacks", "cancel", str(memo["callback_id"]), "--reason", "잘못 건 전화", "--at", "2026-11-25T09:30",
            "--db", db, "--config", cfg)
    s, pbx = reader.store, reader.pbx
    everything = reader.callbacks_at(float("inf"))
    assert {r["status"] for r in everything} >= {"late", "cancelled"}
    moments = {parse_time(at, reader.tz) for at in ("2026-11-23T12:00", "2026-11-23T18:30", AT)}
    for r in everything:
        for t in (r["first_missed_at"], r["due_at"], r["fulfilled_at"], r["cancelled_at"]):
            if t is not None:
                moments |= {t - 1, t, t + 1}
    week = reader.period("2026-W48")
    partial = 0
    for now in sorted(moments):
        derived = obligations_at(s, pbx, reader.ruleset, reader.config.directory, now, derive=True)
        assert reader.callbacks_at(now) == derived, now
        assert reader.callbacks_at(now, since=week.start, until=week.end) == \
            [r for r in derived if week.start <= r["first_missed_at"] < week.end], now
        partial += 0 < len(s.numbers_changed_after(pbx, now)) < len({r["number"] for r in everything})
    assert partial  # some moments had numbers with later inputs (derived) beside stored ones
    assert s.numbers_changed_after(pbx, max(moments)) == set()


def test_the_reports_pages_summary_and_agents_from_the_rollups_equal_those_from_the_rows(stored):
    """The reports page's headline figures and agent table of a month, a week and a day, read
    from the write-side rollups, are those of the calls and verdicts read row by row (tiles,
    one pass over the verdicts)."""
    from callmon.read.dashboard_queries import agent_table

    _, _, reader = stored
    for label in ("2026-11", "2026-W48", "2026-11-23"):
        p = reader.period(label)
        assert reader.store.rollups_cover(reader.pbx, p.start, p.end), label
        rolled = reader.period_summary(p.start, p.end, rolled=True)
        rows = reader.period_summary(p.start, p.end, rolled=False)
        assert rolled == pytest.approx(rows, rel=1e-12) and rows["calls"] > 0, label
        agents = agent_table(reader, p.start, p.end, rolled=True)
        want = agent_table(reader, p.start, p.end, rolled=False)
        assert len(want) > 1, label
        pd.testing.assert_frame_equal(agents, want, check_dtype=False, rtol=1e-12)


def test_calls_grid_filters_sorts_pages_and_counts_like_callmon_calls(stored):
    """Each filter's total and rows equal the same selection of `callmon calls --format json`."""
    db, _, reader = stored
    calls = cli_json("calls", "--db", db)
    assert reader.calls_page().total == len(calls)
    for f, keep in [(CallFilter(outcome="answered"), lambda c: c["outcome"] == "answered"),
                    (CallFilter(ring_rule="fail"), lambda c: c["ring_rule"] == "fail"),
                    (CallFilter(team="민원팀"), lambda c: c["team"] == "민원팀"),
                    (CallFilter(agent="Kim Agent", direction="inbound"),
                     lambda c: c["agent"] == "Kim Agent" and c["direction"] == "inbound"),
                    (CallFilter(rule_failed=True), lambda c: "fail" in (c["ring_rule"], c["hangup_rule"]))]:
        want = [c for c in calls if keep(c)]
        page = reader.calls_page(f, sort=[("ring_seconds", True)], limit=1000)
        assert page.total == len(want) > 0, f
        assert sorted(r["call_id"] for r in page.rows) == sorted(c["call_id"] for c in want)
        seconds = [r["ring_seconds"] for r in page.rows if r["ring_seconds"] is not None]
        assert seconds == sorted(seconds, reverse=True)
    first, second = reader.calls_page(limit=5), reader.calls_page(offset=5, limit=5)
    newest = sorted(calls, key=lambda c: c["arrived_at"], reverse=True)
    assert [r["call_id"] for r in first.rows + second.rows] == [c["call_id"] for c in newest[:10]]
    one = calls[0]
    detail = reader.call(one["call_id"])
    assert [leg["channel"] for leg in detail["legs"]] == [leg["channel"] for leg in one["legs"]]
    assert reader.call("no such call") is None
    with pytest.raises(ValueError, match="cannot sort"):
        reader.calls_page(sort=[("caller; DROP TABLE calls", False)])


def test_viewer_sees_no_full_number_anywhere(stored):
    """A viewer's grid, call, backlog, history and callbacks hold masked numbers only; a
    supervisor who asks sees them; a viewer may not ask."""
    _, _, reader = stored
    now = parse_time(AT, reader.tz)
    viewer = reader.viewer("v", "viewer")
    shown = json.dumps([reader.calls_page(viewer=viewer, limit=1000).rows,
                        [reader.call(r["call_id"], viewer) for r in reader.calls_page(limit=1000).rows],
                        reader.callback_backlog(now, viewer), reader.callback_history(viewer=viewer),
                        reader.callbacks_at(now, viewer), [c.caller for c in reader.ringing_now(now, viewer)]],
                       ensure_ascii=False, default=str)
    assert "010-****-" in shown or "+82" not in shown
    assert not FULL_NUMBER.search(shown), FULL_NUMBER.search(shown)
    full = json.dumps(reader.callbacks_at(now, reader.viewer("s", "supervisor", reveal=True)))
    assert FULL_NUMBER.search(full)
    with pytest.raises(NotAllowed):
        reader.viewer("v", "viewer", reveal=True)


def test_data_version_changes_when_calls_or_callbacks_change(stored, tmp_path):
    """A new call, a memo and a cancellation each change the data version."""
    db, cfg, reader = stored
    v0 = reader.data_version()
    assert reader.data_version() == v0
    run_cli("callbacks", "add", "--number", "010-5555-0001", "--at", AT, "--db", db, "--config", cfg)
    v1 = reader.data_version()
    assert v1 != v0
    (cb,) = [r for r in cli_json("callbacks", "--db", db, "--config", cfg, "--at", AT) if r["number"] == "+821055550001"]
    run_cli("callbacks", "cancel", str(cb["callback_id"]), "--reason", "test", "--at", AT, "--db", db, "--config", cfg)
    assert reader.data_version() != v1


def test_opening_the_read_side_neither_migrates_nor_writes(tmp_path):
    """A missing file is not created; an empty one has no schema; an old schema is refused; the
    read handle cannot write."""
    path = tmp_path / "x.db"
    with pytest.raises(StoreError, match="no database file"):
        open_readonly(f"sqlite:///{path}")
    assert not path.exists()
    sqlite3.connect(path).close()
    with pytest.raises(StoreError, match="no schema"):
        open_readonly(f"sqlite:///{path}")
    Store(f"sqlite:///{path}").dispose()
    ro = open_readonly(f"sqlite:///{path}")
    assert ro.revision == head_revision()
    with pytest.raises(Exception, match="readonly|read-only"):
        with ro.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM calls")
    ro.dispose()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '0004'")
    with pytest.raises(StoreError, match="revision 0004"):
        open_readonly(f"sqlite:///{path}")


@pytest.mark.pg
def test_postgresql_read_handle_refuses_writes(pg_url):
    """On PostgreSQL the read side's sessions are READ ONLY."""
    Store(pg_url).dispose()
    ro = open_readonly(pg_url)
    with pytest.raises(Exception, match="read-only"):
        with ro.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM calls")
    ro.dispose()


def _frames_reference(reader, period, callbacks):
    from callmon.metrics.aggregates import report_tables

    return report_tables(reader.store.calls_frame(reader.pbx, period.start, period.end),
                         reader.store.agent_results_frame(reader.pbx, period.start, period.end), callbacks, reader.tz)


def test_report_tables_aggregated_in_sql_equal_the_pure_aggregates_over_every_row(stored):
    """Every table, column and figure of the database's aggregation equals report_tables over the rows."""
    from callmon.reporting.report import callback_rows

    _, _, reader = stored
    now = parse_time(AT, reader.tz)
    for label in ("2026-11", "2026-W48", "2026-11-23", "2026-H2"):
        period = reader.period(label)
        rows = callback_rows(reader, period, now)
        callbacks = pd.DataFrame([{**r, "missed_call_ids": json.loads(r["missed_call_ids"])} for r in rows])
        mine, reference = reader.report_tables(period.start, period.end, callbacks), \
            _frames_reference(reader, period, callbacks)
        assert list(mine) == list(reference)
        for name, table in reference.items():
            got = mine[name]
            assert list(got.columns) == list(table.columns), (label, name)
            assert len(got) == len(table) > 0, (label, name)
            for col in table.columns:
                for a, b in zip(got[col].tolist(), table[col].tolist()):
                    assert (pd.isna(a) and pd.isna(b)) or a == b or a == pytest.approx(b, rel=1e-9), \
                        (label, name, col, a, b)


def test_a_zone_whose_offset_changes_in_the_period_is_read_row_by_row():
    from zoneinfo import ZoneInfo

    from callmon.read.period_tables import fixed_offset
    from callmon.read.periods import Period

    seoul, new_york = ZoneInfo("Asia/Seoul"), ZoneInfo("America/New_York")
    assert fixed_offset(seoul, *_bounds(Period.of("2026", seoul))) == 9 * 3600
    assert fixed_offset(new_york, *_bounds(Period.of("2026", new_york))) is None
    assert fixed_offset(new_york, *_bounds(Period.of("2026-07", new_york))) == -4 * 3600


def _bounds(p):
    return p.start, p.end


def test_the_warnings_read_as_five_columns_give_the_training_list_of_the_agent_results_frame(stored):
    """training_rows from ReadStore.failed_warnings (the report's path) equals training_rows from
    the period's whole agent-results frame (the pure path), warnings and entries alike."""
    from callmon.reporting.report import _warnings_frame, callback_rows, training_rows

    _, _, reader = stored
    now = parse_time(AT, reader.tz)
    for label in ("2026-11", "2026-H2"):
        period = reader.period(label)
        cbs = callback_rows(reader, period, now)
        frame = reader.store.agent_results_frame(reader.pbx, period.start, period.end)
        fails = reader.store.failed_warnings(reader.pbx, period.start, period.end)
        assert len(fails) == int((frame["result"] == "fail").sum()) > 0, label
        lean = _warnings_frame(reader, period, now, cbs, None, fails)
        pure = _warnings_frame(reader, period, now, cbs, frame)
        assert lean.values.tolist() == pure.values.tolist(), label
        assert training_rows(reader, period, now, cbs, fails=fails) == training_rows(reader, period, now, cbs, frame)


def test_span_tables_and_hourly_in_sql_equal_the_pure_aggregates_of_the_spans_rows_busy_or_empty(stored):
    """The live page's tables and calls per hour (now aggregated by the database) equal
    report_tables over the span's rows with the span's obligations: a busy day, part of a day
    up to now, an empty day."""
    from callmon.metrics.aggregates import report_tables
    from callmon.read.reader import _CB_FRAME, _cb_status

    _, _, reader = stored
    now = parse_time(AT, reader.tz)
    day = reader.period("2026-11-23")
    for since, until in ((day.start, day.end), (day.start, day.start + 13 * 3600), (day.start - 86400 * 400,
                                                                                    day.start - 86400 * 399)):
        rows = reader.store.callbacks_where(reader.pbx, since=since, until=until)
        cbs = pd.DataFrame([_cb_status(r, now) for r in rows], columns=_CB_FRAME)
        reference = report_tables(reader.store.calls_frame(reader.pbx, since, until),
                                  reader.store.agent_results_frame(reader.pbx, since, until), cbs, reader.tz)
        mine = reader.span_tables(since, until, now)
        assert list(mine) == list(reference)
        for name, table in reference.items():
            got = mine[name]
            assert list(got.columns) == list(table.columns), (since, name)
            assert len(got) == len(table), (since, name)
            for col in table.columns:
                for a, b in zip(got[col].tolist(), table[col].tolist()):
                    assert (pd.isna(a) and pd.isna(b)) or a == b or a == pytest.approx(b, rel=1e-9), \
                        (since, name, col, a, b)
        hourly = reader.hourly(since, until).set_index("hour")
        hours = reference["hour"][reference["hour"]["hour"] != "(none)"]
        assert hourly["calls"].sum() == int(hours["calls"].sum())
        for _, row in hours.iterrows():
            assert [int(hourly.loc[int(row["hour"]), c]) for c in ("calls", "rings_1", "rings_6plus")] == \
                [int(row["calls"]), int(row["rings_1"]), int(row["rings_6plus"])], (since, row["hour"])
