"""Queries the dashboard's reports page needs on a long period, aggregated by the database: the
period's per-agent table on the agents' view of the rules (each phone of theirs that rang), as
:func:`callmon.metrics.aggregates.agent_view` defines it, without reading every call.

The statement is plain SQL run on the read-only handle's connection (this package imports no
SQLAlchemy); it belongs with the other read queries in ``callmon.storage.reads`` and can move
there unchanged.

>>> import tempfile, os
>>> from callmon.core.config import Config
>>> from callmon.storage import Store
>>> from callmon.read import Reader
>>> url = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "q.db")
>>> Store(url).dispose()
>>> list(agent_table(Reader.open(url, Config()), 0.0, 1e10).columns)[:4]
['agent', 'team', 'rang', 'answered']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from callmon.read import Reader

RING_RULE = "answer_before_ring"
HANGUP_RULE = "agent_hangs_up_last"
COLUMNS = ["agent", "team", "rang", "answered", "ring_pass", "ring_fail", "ring_rate", "avg_ring_seconds",
           "agent_first_hangups"]

_AGENTS = """
SELECT COALESCE(r.agent, r.extension) AS agent,
       MAX(r.team) AS team,
       SUM(CASE WHEN r.rule = {ring} THEN 1 ELSE 0 END) AS rang,
       SUM(CASE WHEN r.rule = {ring} AND r.answered THEN 1 ELSE 0 END) AS answered,
       SUM(CASE WHEN r.rule = {ring} AND r.result = 'pass' THEN 1 ELSE 0 END) AS ring_pass,
       SUM(CASE WHEN r.rule = {ring} AND r.result = 'fail' THEN 1 ELSE 0 END) AS ring_fail,
       AVG(CASE WHEN r.rule = {ring} AND r.answered AND r.rings IS NOT NULL THEN r.ring_seconds END)
           AS avg_ring_seconds,
       SUM(CASE WHEN r.rule = {hangup} AND r.result = 'fail' THEN 1 ELSE 0 END) AS agent_first_hangups
FROM agent_results r
WHERE r.pbx = {pbx} AND r.at >= {since} AND r.at < {until}
GROUP BY COALESCE(r.agent, r.extension)
ORDER BY COALESCE(r.agent, r.extension)
"""


def _placeholders(dialect: str) -> dict[str, str]:
    """Named parameters as the driver spells them (sqlite3 ``:name``, psycopg ``%(name)s``)."""
    names = ("ring", "hangup", "pbx", "since", "until", "start", "end")
    if dialect == "sqlite":
        return {n: f":{n}" for n in names}
    return {n: f"%({n})s" for n in names}


def agent_table(reader: Reader, since: float, until: float, rolled: bool | None = None) -> pd.DataFrame:
    """Per agent (the directory's name, else the extension) over the agents' verdicts of the
    calls of [since, until): ``rang`` their phones that rang, ``answered`` those they answered,
    ``ring_pass``/``ring_fail``/``ring_rate`` the ring rule on those legs, ``avg_ring_seconds``
    over the answered ones, ``agent_first_hangups``; the same figures as the report's agent
    table (one pass over the agents' verdicts, no join). ``rolled``: from the write-side
    rollups (None: when they cover the span), else from the verdicts (the same rows, tested)."""
    import pandas as pd

    store = reader.store
    if rolled is None:
        rolled = store.rollups_cover(reader.pbx, since, until)
    if rolled:  # a half-year's verdicts by the million: their per-hour (per-day ...) sums instead
        rows = store.rollup_agent_totals(reader.pbx, since, until)
        for r in rows:
            total, n = r.pop("rs_sum"), r.pop("rs_n")
            r["avg_ring_seconds"] = total / n if n else None
    else:
        sql = _AGENTS.format(**_placeholders(store.engine.dialect.name))
        params = {"ring": RING_RULE, "hangup": HANGUP_RULE, "pbx": reader.pbx, "since": since, "until": until}
        with store.engine.connect() as conn:
            rows = [dict(r) for r in conn.exec_driver_sql(sql, params).mappings().all()]
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "ring_rate"])
    judged = frame["ring_pass"] + frame["ring_fail"]
    frame["ring_rate"] = (frame["ring_pass"] / judged).where(judged > 0)
    return frame[COLUMNS]


_FINGERPRINT = """
SELECT COUNT(*) AS n, MAX(id) AS last FROM calls WHERE pbx = {pbx} AND arrived_at >= {since} AND arrived_at < {until}
"""


def period_fingerprint(reader: Reader, since: float, until: float) -> tuple[int, int | None]:
    """(how many calls, the newest row id) of [since, until), read from the arrival index alone:
    it changes when calls of the period are added or removed, and mostly when one is derived
    again (delete + insert; SQLite may give the newest row its id back), so a cache keyed by it
    also needs an age limit."""
    engine = reader.store.engine
    sql = _FINGERPRINT.format(**_placeholders(engine.dialect.name))
    with engine.connect() as conn:
        n, last = conn.exec_driver_sql(sql, {"pbx": reader.pbx, "since": since, "until": until}).one()
    return int(n), last
