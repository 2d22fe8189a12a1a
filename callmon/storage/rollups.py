"""Write-side rollups: the report's additive counts per UTC hour, kept in step with the calls.

A half-year's report over a million calls cannot scan them on every view; these small tables
hold what its GROUP BY queries (:mod:`callmon.storage.reads`) compute, per PBX and UTC hour
bucket (``hour`` = floor(epoch / 3600)):

    rollup_customer      (hour, team, queue): the counts of ``customer_cube``
    rollup_customer_rs   (hour, team, queue, ring_seconds): how many answered calls rang that long
    rollup_agents        (hour, agent, team): the counts of ``agent_cube``, and ``credited`` calls
    rollup_agent_rs      (hour, agent, ring_seconds): how many answered rings lasted that long

They are a cache and never the truth: the truth is ``calls`` and ``agent_results``. Triggers on
those two tables mark the hours any INSERT, UPDATE or DELETE touches in ``rollup_dirty`` (every
write path, whoever wrote it); :func:`refresh` recomputes the marked hours from the rows
(DELETE their rollup rows, INSERT ... SELECT ... GROUP BY) and clears the marks. The Store
calls it at the end of each write transaction (:meth:`~callmon.storage.store.Store.begin`),
so a committed database has no marks; the read side still checks for marks in a period and
falls back to the rows when it finds any (a write made outside the Store).

An hour of a call is that of ``arrived_at`` (a call without one is in no period); of an agent
result, that of ``at`` (the call's arrival when it has one). A period whose bounds fall on whole
UTC hours is the sum of its hours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

ROLLUP_TABLES = ("rollup_customer", "rollup_customer_rs", "rollup_agents", "rollup_agent_rs", "rollup_warnings")
HOUR = 3600
# the spans (in hours) of the agents' rollups and the warnings: an hour, a UTC day, 16 UTC days
# (aligned on the epoch); a longer span is the sum of the shorter ones it holds
LEVELS = (1, 24, 384)
LEVELED = ("rollup_agents", "rollup_agent_rs", "rollup_warnings")
# the warnings' call ids are read whole whatever the span, and a long span's text is rewritten on
# every write in it: an hour and a day only
WARNING_LEVELS = (1, 24)
WARNING_SEP = "\x1f"  # between the call ids of rollup_warnings (a call id holds no control character)


def hour_sql(column: str, dialect: str) -> str:
    """The UTC hour bucket of an epoch column, exactly floor(column / 3600): the quotient's
    rounding can carry a time a hair before an hour into that hour, so it is corrected against
    the hour's start (an exact product)."""
    q = f"CAST(floor({column} / 3600.0) AS BIGINT)" if dialect == "postgresql" else f"CAST({column} / 3600.0 AS INTEGER)"
    return f"(CASE WHEN {q} * 3600.0 > {column} THEN {q} - 1 ELSE {q} END)"


def _n(cond: str) -> str:
    return f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"


_RING_KS = range(1, 6)


def _customer_insert(d: str) -> str:
    inbound = "direction = 'inbound'"
    answered = f"{inbound} AND outcome = 'answered'"
    rung = f"{answered} AND rings IS NOT NULL"
    timed = f"{rung} AND ring_seconds IS NOT NULL"
    rings = ", ".join(_n(f"{rung} AND rings = {k}") for k in _RING_KS)
    return f"""INSERT INTO rollup_customer (pbx, hour, team, queue, calls, answered, abandoned, ring_pass, ring_fail,
            rings_1, rings_2, rings_3, rings_4, rings_5, rings_6plus, rs_sum, rs_n, outbound, agent_first_hangups)
        SELECT pbx, {hour_sql('arrived_at', d)} AS hr, team, queue, {_n(inbound)}, {_n(answered)},
            {_n(f"{inbound} AND outcome = 'abandoned'")}, {_n(f"{inbound} AND ring_rule = 'pass'")},
            {_n(f"{inbound} AND ring_rule = 'fail'")}, {rings}, {_n(f"{rung} AND rings >= 6")},
            COALESCE(SUM(CASE WHEN {timed} THEN ring_seconds END), 0.0), {_n(timed)},
            {_n("direction = 'outbound'")}, {_n("hangup_rule = 'fail'")}
        FROM calls WHERE pbx = :pbx AND arrived_at >= :lo AND arrived_at < :hi
        GROUP BY pbx, hr, team, queue"""


def _customer_rs_insert(d: str) -> str:
    return f"""INSERT INTO rollup_customer_rs (pbx, hour, team, queue, ring_seconds, n)
        SELECT pbx, {hour_sql('arrived_at', d)} AS hr, team, queue, ring_seconds, COUNT(*)
        FROM calls WHERE pbx = :pbx AND arrived_at >= :lo AND arrived_at < :hi AND direction = 'inbound'
            AND outcome = 'answered' AND rings IS NOT NULL AND ring_seconds IS NOT NULL
        GROUP BY pbx, hr, team, queue, ring_seconds"""


def _agents_insert(d: str) -> str:
    ring = "a.rule = 'answer_before_ring'"
    took = "a.answered = TRUE" if d == "postgresql" else "a.answered = 1"
    rung = f"{ring} AND {took} AND a.rings IS NOT NULL"
    timed = f"{rung} AND a.ring_seconds IS NOT NULL"
    hr = hour_sql("a.at", d)
    # abandoned: as agent_cube, the call abandoned and arrived in the period; a result's ``at``
    # is its call's arrival when the call has one, so: arrived in the result's hour
    abandoned = (f"CASE WHEN {ring} AND NOT ({took}) AND EXISTS (SELECT 1 FROM calls c WHERE c.pbx = a.pbx "
                 f"AND c.call_id = a.call_id AND c.outcome = 'abandoned' AND c.arrived_at >= {hr} * 3600.0 "
                 f"AND c.arrived_at < ({hr} + 1) * 3600.0) THEN 1 ELSE 0 END")

    def one(cond: str) -> str:
        return f"CASE WHEN {cond} THEN 1 ELSE 0 END"

    verdicts = {
        "rows": "1", "rang": one(ring), "answered": one(f"{ring} AND {took}"), "abandoned": abandoned,
        "ring_pass": one(f"{ring} AND a.result = 'pass'"), "ring_fail": one(f"{ring} AND a.result = 'fail'"),
        **{f"rings_{k}": one(f"{rung} AND a.rings = {k}") for k in _RING_KS},
        "rings_6plus": one(f"{rung} AND a.rings >= 6"),
        "rs_sum": f"CASE WHEN {timed} THEN a.ring_seconds ELSE 0.0 END", "rs_n": one(timed),
        "warnings": one("a.result = 'fail'"),
        "agent_first_hangups": one("a.rule = 'agent_hangs_up_last' AND a.result = 'fail'"), "credited": "0",
    }
    credited = {c: "1" if c == "credited" else "0.0" if c == "rs_sum" else "0" for c in verdicts}
    counts = list(verdicts)
    return f"""INSERT INTO rollup_agents (pbx, span, hour, agent, team, {", ".join(counts)})
        SELECT pbx, 1, hr, agent, team, {", ".join(f"SUM({c})" for c in counts)} FROM (
            SELECT a.pbx AS pbx, {hr} AS hr, COALESCE(a.agent, a.extension) AS agent, a.team AS team,
                {", ".join(f"{v} AS {c}" for c, v in verdicts.items())}
            FROM agent_results a WHERE a.pbx = :pbx AND a.at >= :lo AND a.at < :hi
            UNION ALL
            SELECT pbx, {hour_sql('arrived_at', d)}, agent, team, {", ".join(credited.values())}
            FROM calls WHERE pbx = :pbx AND arrived_at >= :lo AND arrived_at < :hi AND agent IS NOT NULL
        ) AS x GROUP BY pbx, hr, agent, team"""


def _agent_rs_insert(d: str) -> str:
    took = "answered = TRUE" if d == "postgresql" else "answered = 1"
    return f"""INSERT INTO rollup_agent_rs (pbx, span, hour, agent, ring_seconds, n)
        SELECT pbx, 1, {hour_sql('at', d)} AS hr, COALESCE(agent, extension) AS ag, ring_seconds, COUNT(*)
        FROM agent_results WHERE pbx = :pbx AND at >= :lo AND at < :hi AND rule = 'answer_before_ring'
            AND {took} AND rings IS NOT NULL AND ring_seconds IS NOT NULL
        GROUP BY pbx, hr, ag, ring_seconds"""


def ranges(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive hours as [first, last + 1) ranges.

    >>> ranges([5, 3, 4, 9, 7, 8, 12])
    [(3, 6), (7, 10), (12, 13)]
    """
    out: list[list[int]] = []
    for h in sorted(set(hours)):
        if out and out[-1][1] == h:
            out[-1][1] = h + 1
        else:
            out.append([h, h + 1])
    return [(a, b) for a, b in out]


def recompute(conn: Connection, pbx: str, hours: Iterable[int]) -> None:
    """Recompute the rollup rows of these hours of ``pbx`` from calls and agent_results (and
    the longer spans holding them from the hours), in the caller's transaction."""
    d = conn.dialect.name
    m = _mark(d)
    hours = set(hours)
    inserts = (_customer_insert(d), _customer_rs_insert(d), _agents_insert(d), _agent_rs_insert(d))
    for lo, hi in ranges(hours):
        params = {"pbx": pbx, "lo": lo * float(HOUR), "hi": hi * float(HOUR)}
        for table in ROLLUP_TABLES:
            span = " AND span = 1" if table in LEVELED else ""
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE pbx = {m}{span} AND hour >= {m} AND hour < {m}", (pbx, lo, hi))
        for sql in inserts:
            conn.exec_driver_sql(_bind(sql, d), _args(sql, params))
        _warnings_hours(conn, pbx, lo, hi)
    for shorter, level in zip(LEVELS, LEVELS[1:]):
        for a, b in ranges(h // level for h in hours):  # consecutive spans: one range
            lo_h, hi_h = a * level, b * level
            for table in LEVELED:
                conn.exec_driver_sql(f"DELETE FROM {table} WHERE pbx = {m} AND span = {level} AND hour >= {m} "
                                     f"AND hour < {m}", (pbx, lo_h, hi_h))
            _roll_up(conn, pbx, shorter, level, lo_h, hi_h, warnings=level in WARNING_LEVELS)


_AGENT_SUMS = ("rows", "rang", "answered", "abandoned", "ring_pass", "ring_fail", *(f"rings_{k}" for k in _RING_KS),
               "rings_6plus", "rs_sum", "rs_n", "warnings", "agent_first_hangups", "credited")


def _roll_up(conn: Connection, pbx: str, shorter: int, level: int, lo: int, hi: int, *, warnings: bool) -> None:
    """The ``level``-hour rows of [lo, hi) from the ``shorter`` ones (``warnings``: also those
    of rollup_warnings)."""
    m = _mark(conn.dialect.name)
    start = f"(hour / {level}) * {level}"
    conn.exec_driver_sql(
        f"""INSERT INTO rollup_agents (pbx, span, hour, agent, team, {", ".join(_AGENT_SUMS)})
        SELECT pbx, {level}, {start} AS st, agent, team, {", ".join(f"SUM({c})" for c in _AGENT_SUMS)}
        FROM rollup_agents WHERE pbx = {m} AND span = {shorter} AND hour >= {m} AND hour < {m}
        GROUP BY pbx, st, agent, team""", (pbx, lo, hi))
    conn.exec_driver_sql(
        f"""INSERT INTO rollup_agent_rs (pbx, span, hour, agent, ring_seconds, n)
        SELECT pbx, {level}, {start} AS st, agent, ring_seconds, SUM(n)
        FROM rollup_agent_rs WHERE pbx = {m} AND span = {shorter} AND hour >= {m} AND hour < {m}
        GROUP BY pbx, st, agent, ring_seconds""", (pbx, lo, hi))
    if not warnings:
        return
    rows = conn.exec_driver_sql(
        f"SELECT employee, hour, n, call_ids FROM rollup_warnings WHERE pbx = {m} AND span = {shorter} "
        f"AND hour >= {m} AND hour < {m}", (pbx, lo, hi)).all()
    merged: dict[tuple[int, str], list] = {}
    for employee, hour, n, ids in sorted(rows, key=lambda r: (r[0], r[1])):
        entry = merged.setdefault((hour // level * level, employee), [0, []])
        entry[0] += n
        entry[1].append(ids)
    _insert_warnings(conn, pbx, level, [(st, e, n, WARNING_SEP.join(parts)) for (st, e), (n, parts) in merged.items()])


def _warnings_hours(conn: Connection, pbx: str, lo: int, hi: int) -> None:
    """The hour rows of rollup_warnings of hours [lo, hi): each employee's failed verdicts,
    each (employee, rule, call) once, ordered by time then call id (as
    :func:`callmon.reporting.report.training_in_period` orders them)."""
    m = _mark(conn.dialect.name)
    rows = conn.exec_driver_sql(
        f"SELECT COALESCE(agent, extension), rule, call_id, at FROM agent_results WHERE pbx = {m} AND at >= {m} "
        f"AND at < {m} AND result = 'fail'", (pbx, lo * float(HOUR), hi * float(HOUR))).all()
    rows.sort(key=lambda r: (r[3], r[2]))
    seen: set[tuple] = set()
    per: dict[tuple[int, str], list[str]] = {}
    for employee, rule, call_id, at in rows:
        if (employee, rule, call_id) in seen:
            continue
        seen.add((employee, rule, call_id))
        per.setdefault((hour_of(at), employee), []).append(call_id)
    _insert_warnings(conn, pbx, 1, [(h, e, len(ids), WARNING_SEP.join(ids)) for (h, e), ids in per.items()])


def hour_of(t: float) -> int:
    """The UTC hour bucket of an epoch time (as :func:`hour_sql`).

    >>> hour_of(7199.999999), hour_of(7200.0)
    (1, 2)
    """
    import math

    h = math.floor(t / HOUR)
    return h - 1 if h * float(HOUR) > t else h


def _insert_warnings(conn: Connection, pbx: str, span: int, rows: list[tuple]) -> None:
    if rows:
        m = _mark(conn.dialect.name)
        conn.exec_driver_sql(f"INSERT INTO rollup_warnings (pbx, span, hour, employee, n, call_ids) "
                             f"VALUES ({m}, {m}, {m}, {m}, {m}, {m})", [(pbx, span, *r) for r in rows])


def pieces(since_hour: int, until_hour: int, levels: tuple[int, ...] = LEVELS) -> list[tuple[int, int, int]]:
    """[since_hour, until_hour) as the fewest leveled rows: (span, first start, end) ranges of
    aligned spans.

    >>> pieces(15, 24 * 3 + 5)
    [(1, 15, 24), (24, 24, 72), (1, 72, 77)]
    >>> pieces(0, 800), pieces(0, 800, WARNING_LEVELS)
    ([(384, 0, 768), (24, 768, 792), (1, 792, 800)], [(24, 0, 792), (1, 792, 800)])
    """
    out: list[list[int]] = []
    h = since_hour
    while h < until_hour:
        span = next(s for s in reversed(levels) if h % s == 0 and h + s <= until_hour)
        if out and out[-1][0] == span and out[-1][2] == h:
            out[-1][2] = h + span
        else:
            out.append([span, h, h + span])
        h += span
    return [(a, b, c) for a, b, c in out]


def _mark(d: str) -> str:
    return "%s" if d == "postgresql" else "?"


def _bind(sql: str, d: str) -> str:
    """``:name`` placeholders as the driver's positional ones (``%`` is none here)."""
    for name in ("pbx", "lo", "hi"):
        sql = sql.replace(f":{name}", _mark(d))
    return sql


def _args(sql: str, params: dict) -> tuple:
    import re

    return tuple(params[m] for m in re.findall(r":(pbx|lo|hi)\b", sql))


def refresh(conn: Connection, *, before: int | None = None) -> int:
    """Recompute every hour marked in ``rollup_dirty`` (``before``: every hour before that one)
    and clear their marks, in the caller's transaction; the number of hours recomputed.
    PostgreSQL: only the marks this transaction sees (its own and committed ones) are taken, and
    the recomputing of a PBX is serialised by an advisory lock held to the commit, so a
    concurrent writer of the same PBX recomputes after this one's commit and sees its rows."""
    d = conn.dialect.name
    where, args = ("", ()) if before is None else (f" WHERE hour < {_mark(d)}", (int(before),))
    if d == "postgresql":
        marked = conn.exec_driver_sql(f"DELETE FROM rollup_dirty{where} RETURNING pbx, hour", args).all()
    else:
        marked = conn.exec_driver_sql(f"SELECT DISTINCT pbx, hour FROM rollup_dirty{where}", args).all()
        if marked:
            conn.exec_driver_sql(f"DELETE FROM rollup_dirty{where}", args)
    if not marked:
        return 0
    by_pbx: dict[str, set[int]] = {}
    for pbx, hour in marked:
        by_pbx.setdefault(pbx, set()).add(int(hour))
    for pbx in sorted(by_pbx):
        if d == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", ("callmon.rollup." + pbx,))
        recompute(conn, pbx, by_pbx[pbx])
    n = sum(map(len, by_pbx.values()))
    log.debug("rollups: %d hour(s) recomputed", n)
    return n


def mark_all(conn: Connection) -> None:
    """Mark every hour that has calls or agent results (to be recomputed by :func:`refresh`)."""
    d = conn.dialect.name
    conn.exec_driver_sql(
        f"INSERT INTO rollup_dirty (pbx, hour) SELECT DISTINCT pbx, {hour_sql('arrived_at', d)} FROM calls "
        f"WHERE arrived_at IS NOT NULL UNION SELECT DISTINCT pbx, {hour_sql('at', d)} FROM agent_results "
        "WHERE at IS NOT NULL EXCEPT SELECT pbx, hour FROM rollup_dirty")


def rebuild_all(conn: Connection) -> int:
    """Mark every hour that has calls or agent results, then :func:`refresh` (the migration
    that creates the rollups fills them so)."""
    d = conn.dialect.name
    mark_all(conn)
    n = refresh(conn)
    if d == "postgresql":  # the planner's view of the tables just filled (else: one row each, sorts on disk)
        conn.exec_driver_sql(f"ANALYZE {', '.join(ROLLUP_TABLES)}")
    return n


# -- the triggers that mark the hours (created by migration 0009) ----------------------------------

def trigger_ddl(dialect: str) -> list[str]:
    """The statements creating the marking triggers. SQLite: row triggers (an INSERT OR
    IGNORE into a tiny keyed table each). PostgreSQL: statement triggers over the transition
    tables (one INSERT ... SELECT DISTINCT per statement, a COPY of a million rows included)."""
    if dialect == "postgresql":
        out = []
        for table, column in (("calls", "arrived_at"), ("agent_results", "at")):
            fn = f"rollup_mark_{table}"
            h_new = hour_sql(f"n.{column}", dialect)
            h_old = hour_sql(f"o.{column}", dialect)
            out.append(f"""CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO rollup_dirty (pbx, hour) SELECT DISTINCT n.pbx, {h_new} FROM new_rows n WHERE n.{column} IS NOT NULL;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO rollup_dirty (pbx, hour) SELECT DISTINCT o.pbx, {h_old} FROM old_rows o WHERE o.{column} IS NOT NULL;
  END IF;
  RETURN NULL;
END $$""")
            out.append(f"CREATE TRIGGER {fn}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()")
            out.append(f"CREATE TRIGGER {fn}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()")
            out.append(f"CREATE TRIGGER {fn}_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows "
                       f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {fn}()")
        return out
    out = ["CREATE UNIQUE INDEX IF NOT EXISTS ux_rollup_dirty_sqlite ON rollup_dirty (pbx, hour)"]
    for table, column in (("calls", "arrived_at"), ("agent_results", "at")):
        fn = f"rollup_mark_{table}"
        for op, rows in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)), ("UPDATE", ("OLD", "NEW"))):
            body = " ".join(f"INSERT OR IGNORE INTO rollup_dirty (pbx, hour) SELECT {r}.pbx, "
                            f"{hour_sql(f'{r}.{column}', dialect)} WHERE {r}.{column} IS NOT NULL;" for r in rows)
            # an update of what no rollup holds (the obligations set calls.callback_id) marks nothing
            what = f"UPDATE OF {', '.join(ROLLED_COLUMNS[table])}" if op == "UPDATE" else op
            out.append(f"CREATE TRIGGER {fn}_{op.lower()} AFTER {what} ON {table} BEGIN {body} END")
    return out


# the columns the rollups are computed from (SQLite's update triggers watch only these)
ROLLED_COLUMNS = {
    "calls": ("pbx", "call_id", "arrived_at", "direction", "outcome", "rings", "ring_seconds", "ring_rule",
              "hangup_rule", "team", "queue", "agent"),
    "agent_results": ("pbx", "call_id", "at", "rule", "result", "answered", "rings", "ring_seconds", "agent",
                      "extension", "team"),
}


def drop_trigger_ddl(dialect: str) -> list[str]:
    out = []
    for table in ("calls", "agent_results"):
        fn = f"rollup_mark_{table}"
        for op in ("insert", "delete", "update"):
            out.append(f"DROP TRIGGER IF EXISTS {fn}_{op}" + (f" ON {table}" if dialect == "postgresql" else ""))
        if dialect == "postgresql":
            out.append(f"DROP FUNCTION IF EXISTS {fn}()")
    if dialect != "postgresql":
        out.append("DROP INDEX IF EXISTS ux_rollup_dirty_sqlite")
    return out


__all__ = ["LEVELS", "ROLLUP_TABLES", "WARNING_LEVELS", "WARNING_SEP", "hour_of", "pieces", "drop_trigger_ddl", "hour_sql", "mark_all", "rebuild_all", "recompute", "refresh", "trigger_ddl"]
