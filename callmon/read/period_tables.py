"""A period's report tables aggregated by the database: the same tables, columns and figures as
:func:`callmon.metrics.aggregates.report_tables` (the pure definition, which reads every row),
from a few GROUP BY queries, the 90th percentiles from histograms of the ring seconds
(GROUP BY value: the same quantile as from the values, without reading every one).

The local hour and day are computed in SQL from a fixed UTC offset, so this path is taken for a
period in which the zone's offset does not change (Asia/Seoul: always); otherwise the caller
falls back to the rows (:func:`fixed_offset` returns None).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from callmon.metrics.aggregates import AGENT_ORDER, CALLBACK_STATUSES, CUSTOMER_ORDER, NONE, RING_BUCKETS
from callmon.storage.readonly import ReadStore

RING_COLUMNS = [f"rings_{k}" for k in range(1, RING_BUCKETS + 1)] + [f"rings_{RING_BUCKETS + 1}plus"]
CUSTOMER_COUNTS = ["calls", "answered", "abandoned", "ring_pass", "ring_fail", *RING_COLUMNS, "rs_sum", "rs_n",
                   "outbound", "agent_first_hangups"]
AGENT_COUNTS = ["rang", "answered", "abandoned", "ring_pass", "ring_fail", *RING_COLUMNS, "rs_sum", "rs_n",
                "warnings", "agent_first_hangups"]
RATIOS = {"ring_rate", "abandonment_rate", "avg_ring_seconds", "p90_ring_seconds", "team"}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def fixed_offset(tz: ZoneInfo, start: float, end: float) -> int | None:
    """The zone's UTC offset in seconds if it is the same through [start, end), else None."""
    offsets = set()
    t = start
    while t < end:
        offsets.add(datetime.fromtimestamp(t, tz).utcoffset())
        t += 6 * 3600
    offsets.add(datetime.fromtimestamp(max(start, end - 1), tz).utcoffset())
    if len(offsets) != 1:
        return None
    seconds = offsets.pop().total_seconds()
    return int(seconds) if seconds == int(seconds) and seconds % 900 == 0 else None


def _local(frame: pd.DataFrame) -> pd.DataFrame:
    """``hour`` and ``day`` of the local-hour column ``lh``."""
    lh = frame["lh"].astype("int64")
    days = {d: (date.fromordinal(_EPOCH_ORDINAL + int(d))).isoformat() for d in (lh // 24).unique()}
    return frame.assign(hour=lh % 24, day=(lh // 24).map(days))


def _key(frame: pd.DataFrame, key: str | None) -> pd.Series:
    if key is None:
        return pd.Series("institution", index=frame.index, dtype=object)
    values = frame[key].astype(object)
    return values.where(values.notna(), NONE)


def _callback_counts(callbacks: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    live = callbacks["status"] != "cancelled"
    counts = pd.crosstab(keys[live], callbacks.loc[live, "status"]).reindex(columns=list(CALLBACK_STATUSES),
                                                                          fill_value=0)
    counts = counts.rename(columns=CALLBACK_STATUSES)
    counts.insert(0, "callbacks_due", counts.sum(axis=1))
    return counts


def _finish(table: pd.DataFrame, key: str, order: list[str]) -> pd.DataFrame:
    table = table.reindex(columns=[c for c in order if c != "team" or c in table.columns])
    counts = [c for c in table.columns if c not in RATIOS]
    table[counts] = table[counts].infer_objects().fillna(0).astype("int64")
    table.index.name = key
    return table.reset_index()


def histogram_quantile(histogram: pd.DataFrame, q: float) -> pd.Series:
    """Per ``_k``, the ``q`` quantile of the values ``rs`` counted ``n`` times each (a histogram:
    one row per distinct value, as a GROUP BY gives it), with the linear interpolation and the
    arithmetic of pandas' ``groupby(...).quantile(q)`` on the values themselves: the same float."""
    if not len(histogram):
        return pd.Series(dtype=float)
    h = histogram.groupby(["_k", "rs"], sort=True)["n"].sum()
    out = {}
    for k, part in h.groupby(level=0, sort=False):
        values = part.index.get_level_values(1).to_numpy(dtype=float)
        cum = part.to_numpy(dtype="int64").cumsum()
        size = int(cum[-1])
        if size <= 0:
            continue
        q_val = q * (size - 1)
        idx = int(q_val)
        frac = q_val % 1
        val = values[np.searchsorted(cum, idx, side="right")]
        if frac == 0.0 or idx + 1 >= size:
            out[k] = float(val)
        else:
            nxt = values[np.searchsorted(cum, idx + 1, side="right")]
            out[k] = float(val + (nxt - val) * frac)
    return pd.Series(out, dtype=float)


def _ring_figures(table: pd.DataFrame, seconds: pd.DataFrame) -> pd.DataFrame:
    """Average (from the sums) and p90 (from the histogram of the values, linear interpolation)
    ring seconds."""
    avg = (table["rs_sum"] / table["rs_n"]).where(table["rs_n"] > 0)
    p90 = histogram_quantile(seconds, 0.9)
    return table.drop(columns=["rs_sum", "rs_n"]).assign(avg_ring_seconds=avg, p90_ring_seconds=p90)


def rolled_reads(store: ReadStore, pbx: str, since: float, until: float, offset: int) -> dict[str, Any]:
    """What the tables of [since, until) read from the rollups (nothing of the callbacks): read
    ahead by the report while it derives the obligations."""
    return {"cube_day": store.rollup_customer_cube(pbx, since, until, offset, "day"),
            "seconds_day": store.rollup_answered_ring_seconds(pbx, since, until, offset, "day"),
            "cube_hour": store.rollup_customer_cube(pbx, since, until, offset, "hour"),
            "seconds_hour": store.rollup_answered_ring_seconds(pbx, since, until, offset, "hour"),
            "agents": store.rollup_agent_cube(pbx, since, until),
            "agent_seconds": store.rollup_agent_ring_seconds(pbx, since, until)}


def prefetch(store: ReadStore, pbx: str, since: float, until: float, tz: ZoneInfo) -> dict[str, Any] | None:
    """:func:`rolled_reads` of [since, until) if it is read from the rollups, else None."""
    offset = fixed_offset(tz, since, until)
    if not use_rollups(store, pbx, since, until, offset):
        return None
    return {"span": (since, until, offset), **rolled_reads(store, pbx, since, until, offset)}


def customer_tables(store: ReadStore, pbx: str, since: float, until: float, offset: int,
                    callbacks: pd.DataFrame, tz: ZoneInfo, rolled: bool = False,
                    reads: dict[str, Any] | None = None) -> dict[str, pd.DataFrame]:
    """``summary``, ``team``, ``queue``, ``hour``, ``day`` of the customer's view; ``rolled``:
    from the rollups (:func:`use_rollups`; ``reads``: as :func:`rolled_reads` read them), else
    from the calls."""
    def frames(cube_rows, second_rows):
        cube = pd.DataFrame(cube_rows, columns=["team", "queue", "lh", *CUSTOMER_COUNTS])
        seconds = pd.DataFrame(second_rows, columns=["team", "queue", "lh", "rs", "n"])
        return _local(cube.astype({c: "float64" for c in CUSTOMER_COUNTS})), \
            _local(seconds).astype({"rs": float, "n": "int64"})

    if rolled:
        # the rollups summed per local day (each day's counts at its first hour) for every table
        # but the hours of the day, which are summed per local hour (at the epoch's first day)
        reads = reads or rolled_reads(store, pbx, since, until, offset)
        by_day = frames(reads["cube_day"], reads["seconds_day"])
        by_hour = frames(reads["cube_hour"], reads["seconds_hour"])
    else:
        by_day = by_hour = frames(store.customer_cube(pbx, since, until, offset),
                                  store.answered_ring_seconds(pbx, since, until, offset))
    if len(callbacks):
        from callmon.metrics.aggregates import with_local_time

        first = callbacks["missed_call_ids"].map(lambda ids: ids[0] if len(ids) else None)
        queue_of = store.queues_of(pbx, [i for i in first if i])
        callbacks = with_local_time(callbacks.assign(queue=first.map(queue_of)), "first_missed_at", tz)
    tables = {}
    for name, key in (("summary", None), ("team", "team"), ("queue", "queue"), ("hour", "hour"), ("day", "day")):
        label = key or "scope"
        cube, seconds = by_hour if key == "hour" else by_day
        table = cube.assign(_k=_key(cube, key)).groupby("_k")[CUSTOMER_COUNTS].sum()
        table = _ring_figures(table, seconds.assign(_k=_key(seconds, key)))
        if len(callbacks):
            table = table.join(_callback_counts(callbacks, _key(callbacks, key)), how="outer")
        if key is None:
            table = table.reindex(["institution"])
        table = table.fillna({"calls": 0, "abandoned": 0, "ring_pass": 0, "ring_fail": 0})
        judged = table["ring_pass"] + table["ring_fail"]
        table["ring_rate"] = (table["ring_pass"] / judged).where(judged > 0)
        table["abandonment_rate"] = (table["abandoned"] / table["calls"]).where(table["calls"] > 0)
        tables[name] = _finish(table, label, CUSTOMER_ORDER)
    return tables


def agent_table(store: ReadStore, pbx: str, since: float, until: float, callbacks: pd.DataFrame,
                rolled: bool = False, reads: dict[str, Any] | None = None) -> pd.DataFrame:
    """The agents' view (:func:`callmon.metrics.aggregates.agent_view`); ``rolled``: from the
    rollups (:func:`use_rollups`; ``reads`` as :func:`customer_tables`), else from the agent
    results and the calls."""
    if rolled:
        cube_rows, credited_rows = reads["agents"] if reads else store.rollup_agent_cube(pbx, since, until)
        histogram = reads["agent_seconds"] if reads else store.rollup_agent_ring_seconds(pbx, since, until)
    else:
        cube_rows, credited_rows = store.agent_cube(pbx, since, until), store.credited_calls(pbx, since, until)
        histogram = store.agent_ring_seconds(pbx, since, until)
    cube = pd.DataFrame(cube_rows, columns=["agent", "team", "rows", *AGENT_COUNTS])
    cube = cube.astype({c: "float64" for c in ["rows", *AGENT_COUNTS]})
    credited = pd.DataFrame(credited_rows, columns=["agent", "team", "calls"])
    credited = credited.astype({"calls": "float64"})
    seconds = pd.DataFrame(histogram, columns=["_k", "rs", "n"]).astype({"rs": float, "n": "int64"})
    table = cube.groupby("agent")[AGENT_COUNTS].sum()
    table = _ring_figures(table, seconds)
    table = table.join(credited.groupby("agent")["calls"].sum(), how="outer")
    if len(callbacks):
        mine = callbacks[callbacks["agent"].notna()]
        table = table.join(_callback_counts(mine, mine["agent"]), how="outer")
    # each agent's team: the most frequent among their verdicts and credited calls (ties: the first by name)
    weights = pd.concat([cube[["agent", "team", "rows"]].rename(columns={"rows": "n"}),
                         credited.rename(columns={"calls": "n"})]).dropna(subset=["team"])
    if len(weights):
        per = weights.groupby(["agent", "team"])["n"].sum().reset_index()
        per = per.sort_values(["agent", "n", "team"], ascending=[True, False, True])
        table["team"] = per.drop_duplicates("agent").set_index("agent")["team"]
    else:
        table["team"] = None
    table = table.fillna({"ring_pass": 0, "ring_fail": 0})
    judged = table["ring_pass"] + table["ring_fail"]
    table["ring_rate"] = (table["ring_pass"] / judged).where(judged > 0)
    return _finish(table, "agent", AGENT_ORDER)


def use_rollups(store: ReadStore, pbx: str, since: float, until: float, offset: int | None) -> bool:
    """Whether [since, until) is read from the write-side rollups (:mod:`callmon.storage.rollups`,
    per UTC hour): the zone's offset is a whole number of hours through it, its bounds are whole
    hours, and the rollups of its hours are up to date."""
    return offset is not None and offset % 3600 == 0 and store.rollups_cover(pbx, since, until)


def period_tables(store: ReadStore, pbx: str, since: float, until: float, callbacks: pd.DataFrame,
                  tz: ZoneInfo, prefetched: dict[str, Any] | None = None) -> dict[str, pd.DataFrame] | None:
    """Every table of :func:`callmon.metrics.aggregates.report_tables` for [since, until), or
    None when the zone's offset changes within it (then read the rows). From the rollups when
    they cover the span (:func:`use_rollups`: a report's period; ``prefetched``: what
    :func:`prefetch` read of them), else by GROUP BY over the calls and agent results (e.g.
    today up to now)."""
    offset = fixed_offset(tz, since, until)
    if offset is None:
        return None
    if prefetched is not None and prefetched["span"] != (since, until, offset):
        prefetched = None
    rolled = prefetched is not None or use_rollups(store, pbx, since, until, offset)
    if rolled:
        tables = customer_tables(store, pbx, since, until, offset, callbacks, tz, rolled=True, reads=prefetched)
        out = {"summary": tables.pop("summary"),
               "agent": agent_table(store, pbx, since, until, callbacks, rolled=True, reads=prefetched)}
        out.update(tables)
        return out
    from concurrent.futures import ThreadPoolExecutor

    # two independent scans: the database works on both at once (the driver releases the GIL)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="callmon-report") as pool:
        agents = pool.submit(agent_table, store, pbx, since, until, callbacks)
        tables = customer_tables(store, pbx, since, until, offset, callbacks, tz)
        out = {"summary": tables.pop("summary"), "agent": agents.result()}
    out.update(tables)
    return out


__all__ = ["fixed_offset", "period_tables", "prefetch", "use_rollups"]
