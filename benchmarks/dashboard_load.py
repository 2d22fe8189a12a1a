"""How fast the dashboard's queries are on 1,000,000 calls, on SQLite and on PostgreSQL.

    python benchmarks/dashboard_load.py                                   # SQLite, and PostgreSQL if
    python benchmarks/dashboard_load.py --calls 200000 --only sqlite      #   CALLMON_TEST_PG_URL is set
    python benchmarks/dashboard_load.py --pg postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/dashboard_load.py --keep DIR --breakdown            # fill once, reuse after

The database is made by callmon's migrations, then filled in SQL (no Python row objects): the
calls of a half-year (2026-H2, one every ~16 s, around the clock), 90 % inbound, answered in 1 to
6 rings, 10 % abandoned, 50 agents in 5 teams, each answered or rung call with its agents' ring
verdict and every answered call with the hang-up verdict (agent_results), an obligation for
every 20th abandoned call, and a few calls ringing now; the write-side rollups are recomputed
at the fill's commit, as after an import (``--keep``: a database kept from an older callmon is
migrated first, which fills them). Then it times, as the server does them
(best of --repeat runs):

- **live**: what the live page reads on every change: data version, today's tiles, calls
  ringing now, today's team and agent tables and the calls per hour, the callback counts;
- **report page**: what the reports page shows of the half-year (its summary, team and agent
  tables, the trends of the institution, the teams and the agents), not from its cache;
- **report**: the half-year report the page exports (every table, the callbacks as of now,
  masked for a viewer, the training list, the trends);
- **grid first page**: the newest 100 calls and the total;
- **grid filtered page**: one team's abandoned calls of one month, sorted by ring seconds, the
  third page of 100 and the total.

Targets (issue 13): live and reports <= 1.5 s, grid pages <= 0.5 s. Each figure is the best
wall time of --repeat runs, with the best CPU time of this process beside it (on a loaded machine
the wall time waits for the CPU; on PostgreSQL the server's CPU is not in it). ``--breakdown``
also times the report's reads one by one (where its time goes).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callmon.core.config import Config  # noqa: E402
from callmon.dashboard.data import period_tables  # noqa: E402
from callmon.read import CallFilter, Reader  # noqa: E402
from callmon.read.periods import Period  # noqa: E402
from callmon.metrics.numbers import mask  # noqa: E402
from callmon.reporting.report import TREND_PERIODS, build_report  # noqa: E402
from callmon.storage import Store  # noqa: E402

START = 1782831600.0  # 2026-07-01 00:00 KST
SPAN = 184 * 86400  # 2026-H2
TEAMS = 5
AGENTS = 50


def numbers(dialect: str, n: int) -> str:
    """A FROM clause giving i = 0 .. n-1."""
    if dialect == "postgresql":
        return f"generate_series(CAST(0 AS bigint), {n - 1}) AS g(i)"
    return f"(WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {n - 1}) SELECT i FROM g) AS g"


def fill(store: Store, n: int) -> None:
    """The calls, legs-free, their agent results, some obligations and live calls, in SQL."""
    d = store.dialect
    step = SPAN / n
    cat = "||"
    pad = "lpad(CAST(i AS text), 8, '0')" if d == "postgresql" else "printf('%08d', i)"
    boolean = (lambda e: f"({e})") if d == "postgresql" else (lambda e: f"CASE WHEN {e} THEN 1 ELSE 0 END")
    # per call i: k = (i * 7919) % 100 decides direction and outcome, r = (i * 104729) % 97 the rings
    call = f"""
        SELECT 'default' AS pbx, 'c' {cat} {pad} AS call_id,
          CASE WHEN (i * 7919) % 100 < 90 THEN 'inbound' ELSE 'outbound' END AS direction,
          '010' {cat} {pad} AS caller, '1000' AS called, 'support' AS queue,
          {START} + i * {step} AS arrived_at,
          {START} + i * {step} + 1.0 AS first_ring_at,
          CASE WHEN (i * 7919) % 100 < 80 OR (i * 7919) % 100 >= 90 THEN {START} + i * {step} + 1.0 + ((i * 104729) % 97) % 6 * 3.0 + 0.5 END AS answered_at,
          {START} + i * {step} + 60.0 AS ended_at,
          CASE WHEN (i * 7919) % 100 < 80 OR (i * 7919) % 100 >= 90 THEN 'answered'
               WHEN (i * 7919) % 100 < 88 THEN 'abandoned' ELSE 'no_answer' END AS outcome,
          CAST(2001 + i % {AGENTS} AS text) AS answered_by,
          'Agent ' {cat} CAST(i % {AGENTS} AS text) AS agent,
          'Team ' {cat} CAST(i % {AGENTS} % {TEAMS} AS text) AS team,
          CASE WHEN (i * 7919) % 100 < 80 THEN ((i * 104729) % 97) % 6 * 3.0 + 0.5 END AS ring_seconds,
          CASE WHEN (i * 7919) % 100 < 80 THEN ((i * 104729) % 97) % 6 + 1 END AS rings,
          CASE WHEN (i * 7919) % 100 < 80 OR (i * 7919) % 100 >= 90 THEN 2.0 END AS wait_seconds,
          CASE WHEN (i * 7919) % 100 < 80 OR (i * 7919) % 100 >= 90 THEN 50.0 END AS talk_seconds,
          CASE WHEN (i * 7919) % 100 < 80 THEN CASE WHEN (i * 31) % 10 = 0 THEN 'agent' ELSE 'customer' END END AS hangup_by,
          {boolean('1 = 0')} AS transferred, {boolean('1 = 0')} AS incomplete,
          CASE WHEN (i * 7919) % 100 >= 90 THEN 'na' WHEN (i * 7919) % 100 < 80 AND ((i * 104729) % 97) % 6 < 2 THEN 'pass' ELSE 'fail' END AS ring_rule,
          CASE WHEN (i * 7919) % 100 < 80 AND (i * 31) % 10 = 0 THEN 'fail' WHEN (i * 7919) % 100 < 80 THEN 'pass' ELSE 'na' END AS hangup_rule,
          'ami' AS sources, '[]' AS uniqueids, '+8210' {cat} {pad} AS customer_number
        FROM {numbers(d, n)}"""
    cols = ("pbx, call_id, direction, caller, called, queue, arrived_at, first_ring_at, answered_at, ended_at, "
            "outcome, answered_by, agent, team, ring_seconds, rings, wait_seconds, talk_seconds, hangup_by, "
            "transferred, incomplete, ring_rule, hangup_rule, sources, uniqueids, customer_number")
    if d == "postgresql":  # the driver's placeholders are %s: a modulo is %%
        call = call.replace("%", "%%")
    with store.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO calls ({cols}) {call}")
        ar = ("pbx, call_id, rule, extension, agent, team, result, rings, ring_seconds, answered, at")
        conn.exec_driver_sql(f"""INSERT INTO agent_results ({ar})
            SELECT pbx, call_id, 'answer_before_ring', answered_by, agent, team, ring_rule, rings, ring_seconds,
                   {boolean("outcome = 'answered'")}, arrived_at
            FROM calls WHERE direction = 'inbound' AND outcome <> 'no_answer'""")
        conn.exec_driver_sql(f"""INSERT INTO agent_results ({ar})
            SELECT pbx, call_id, 'agent_hangs_up_last', answered_by, agent, team, hangup_rule, NULL, NULL,
                   {boolean('1 = 1')}, arrived_at
            FROM calls WHERE hangup_rule <> 'na'""")
        conn.exec_driver_sql("""INSERT INTO callbacks (pbx, key, number, missed_call_ids, attempt_call_ids,
                first_missed_at, due_at, status, agent, team)
            SELECT pbx, customer_number || '/' || call_id, customer_number, '["' || call_id || '"]', '[]',
                   arrived_at, arrived_at + 86400, 'open', agent, team
            FROM calls WHERE outcome = 'abandoned' AND CAST(substr(call_id, 2) AS integer) {mod} 20 = 0""".replace(
            "{mod}", "%%" if d == "postgresql" else "%"))
        conn.exec_driver_sql("""UPDATE calls SET callback_id = (SELECT callback_id FROM callbacks
            WHERE callbacks.key = calls.customer_number || '/' || calls.call_id)
            WHERE outcome = 'abandoned' AND CAST(substr(call_id, 2) AS integer) {mod} 20 = 0""".replace(
            "{mod}", "%%" if d == "postgresql" else "%"))
        now = START + SPAN - 3600
        conn.exec_driver_sql(f"""INSERT INTO live_calls (pbx, call_id, state, caller, called, queue, arrived_at,
                first_ring_at, updated_at)
            SELECT 'default', 'live' || CAST(i AS text), 'ringing', '0101234000' || CAST(i AS text), '1000', 'support',
                   {now} - i, {now} - i, {now} FROM {numbers(d, 5)}""")
    with store.begin() as conn:
        if d == "postgresql":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")


def timed(fn, repeat: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the best of ``repeat`` runs: the least wall time, and the least
    CPU time of this process (all its threads; on PostgreSQL the server's is not in it)."""
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def measure(url: str, n: int, repeat: int, breakdown: bool = False, reuse: bool = False) -> dict:
    store = Store(url)  # an older database kept by --keep is migrated here (as a writing command would)
    t = time.perf_counter()
    with store.begin() as conn:
        present = conn.exec_driver_sql("SELECT count(*) FROM calls").scalar()
    if not (reuse and present == n):
        if present:
            raise SystemExit(f"the kept database holds {present:,} calls, not {n:,}: remove it")
        fill(store, n)
    else:  # kept: its statistics as autovacuum would have them by now
        with store.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    filled = time.perf_counter() - t
    store.dispose()
    reader = Reader.open(url, Config())
    now = START + SPAN - 3600  # the half-year's last day, 23:00
    day = reader.today(now)
    viewer = reader.viewer("bench", "viewer")

    def live():
        reader.data_version()
        reader.tiles(now)
        reader.ringing_now(now, viewer)
        tables = reader.span_tables(day.start, now, now)
        assert len(tables["agent"]) == AGENTS
        reader.hourly(day.start, now)

    def report():
        mask.cache_clear()  # every number masked anew, as for a period nobody looked at lately
        r = build_report(reader, "2026-H2", now, viewer)
        assert int(r.tables["summary"]["calls"].iloc[0]) > 0.8 * n

    def report_page():
        tables = period_tables(reader, "2026-H2", TREND_PERIODS)  # what the page shows, uncached
        assert int(tables["summary"]["calls"].iloc[0]) > 0.8 * n and len(tables["agent"]) == AGENTS

    month = Period.of("2026-09", reader.tz)

    def first_page():
        page = reader.calls_page(viewer=viewer, limit=100)
        assert page.total == n and len(page.rows) == 100

    def filtered_page():
        f = CallFilter(since=month.start, until=month.end, team="Team 3", outcome="abandoned")
        page = reader.calls_page(f, viewer, sort=[("ring_seconds", True), ("arrived_at", True)], offset=200, limit=100)
        assert page.total > 0

    out = {"fill": filled, "live": timed(live, repeat), "report page": timed(report_page, repeat),
           "report": timed(report, repeat),
           "grid first page": timed(first_page, repeat), "grid filtered page": timed(filtered_page, repeat)}
    if breakdown:
        out["parts"] = report_parts(reader, now)
    reader.close()
    return out


def report_parts(reader: Reader, now: float) -> dict[str, float]:
    """The half-year report's reads one after the other (the report runs some of them at once):
    where its time goes."""
    from callmon.read import period_tables as pt
    from callmon.reporting import report as rp

    period = reader.period("2026-H2")
    s, pbx, a, b = reader.store, reader.pbx, period.start, period.end
    offset = pt.fixed_offset(reader.tz, a, b)
    parts = {}

    def part(name, fn):
        t = time.perf_counter()
        value = fn()
        parts[name] = time.perf_counter() - t
        return value

    from callmon.read.callbacks import obligations_at

    part("callbacks derived again (all numbers)", lambda: obligations_at(
        s, pbx, reader.ruleset, reader.config.directory, now, since=a, until=b, derive=True))
    cbs = part("callbacks at now (stored, later derived)", lambda: rp.callback_rows(reader, period, now))
    mask.cache_clear()
    part("masking the callbacks' numbers", lambda: [reader.viewer("bench", "viewer").number(r["number"]) for r in cbs])
    if part("rollups cover the period?", lambda: pt.use_rollups(s, pbx, a, b, offset)):
        part("customer cube per day and hour (rollup)", lambda: [s.rollup_customer_cube(pbx, a, b, offset, by)
                                                                 for by in ("day", "hour")])
        part("ring-seconds histograms (rollup)", lambda: [s.rollup_answered_ring_seconds(pbx, a, b, offset, by)
                                                          for by in ("day", "hour")])
        part("agent cube + credited calls (rollup)", lambda: s.rollup_agent_cube(pbx, a, b))
        part("agent ring-seconds histogram (rollup)", lambda: s.rollup_agent_ring_seconds(pbx, a, b))
    else:
        part("customer cube (calls)", lambda: s.customer_cube(pbx, a, b, offset))
        part("ring-seconds histogram (calls)", lambda: s.answered_ring_seconds(pbx, a, b, offset))
        part("credited calls (calls)", lambda: s.credited_calls(pbx, a, b))
        part("agent cube (agent_results)", lambda: s.agent_cube(pbx, a, b))
        part("agent ring-seconds histogram", lambda: s.agent_ring_seconds(pbx, a, b))
    part("report tables (all of the above + pandas)", lambda: reader.report_tables(a, b, _callbacks_frame(cbs)))
    part("training list (rollup, else the warnings read)", lambda: rp.training_rows(reader, period, now, cbs))
    part("trends (6 half-years, 2 queries each)", lambda: rp._trends(reader, period, rp.TREND_PERIODS))
    return parts


def _callbacks_frame(rows):
    import json

    import pandas as pd

    return pd.DataFrame([{**r, "missed_call_ids": json.loads(r["missed_call_ids"])} for r in rows])


def pg_schema_url(base: str, schema: str | None = None) -> tuple[str, str]:
    schema = schema or f"bench_{uuid.uuid4().hex[:10]}"
    store = Store(base, migrate=False)
    with store.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    store.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--breakdown", action="store_true", help="also time the report's reads one by one")
    parser.add_argument("--keep", metavar="DIR", help="keep the filled databases (SQLite file in DIR, PostgreSQL "
                        "schema bench_keep_N) and reuse them on the next run (a fill of a million calls takes minutes)")
    parser.add_argument("--pg", default=os.environ.get("CALLMON_TEST_PG_URL"), help="PostgreSQL URL (a schema is made and dropped)")
    args = parser.parse_args()
    targets = {"live": 1.5, "report page": 1.5, "report": 1.5, "grid first page": 0.5, "grid filtered page": 0.5}
    runs = []
    if args.only in (None, "sqlite"):
        runs.append("sqlite")
    if args.only in (None, "postgresql") and args.pg:
        runs.append("postgresql")
    for which in runs:
        with tempfile.TemporaryDirectory(prefix="callmon-bench-") as tmp:
            schema = None
            if which == "sqlite":
                url = f"sqlite:///{Path(args.keep or tmp) / f'bench_{args.calls}.db'}"
            else:
                url, schema = pg_schema_url(args.pg, f"bench_keep_{args.calls}" if args.keep else None)
            try:
                figures = measure(url, args.calls, args.repeat, args.breakdown, reuse=bool(args.keep))
            finally:
                if schema and not args.keep:
                    store = Store(args.pg, migrate=False)
                    with store.begin() as conn:
                        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                    store.dispose()
        print(f"{which}: {args.calls:,} calls (filled in {figures.pop('fill'):.1f} s)")
        parts = figures.pop("parts", {})
        for name, (seconds, cpu) in figures.items():
            mark = "ok" if seconds <= targets[name] else f"over the {targets[name]} s target"
            print(f"  {name:<20} {seconds:7.3f} s  (CPU {cpu:6.3f} s)  {mark}")
        if parts:
            print("  the report's reads, one by one:")
            for name, seconds in parts.items():
                print(f"    {name:<40} {seconds:7.3f} s")


if __name__ == "__main__":
    main()
