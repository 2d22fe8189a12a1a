"""What the pages read over the read side, gathered per page (no Dash, no Flask: a benchmark or
a test calls these as the pages do)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import pandas as pd

from callmon.metrics.aggregates import NONE
from callmon.read import Reader
from callmon.read.dashboard_queries import agent_table, period_fingerprint

CACHED_PERIODS = 32
CACHE_SECONDS = 300.0  # a rebuild that changes verdicts but not the calls' ids shows within 5 minutes
_cache: OrderedDict[tuple, tuple[float, dict[str, Any]]] = OrderedDict()
_lock = threading.Lock()


def period_tables_cached(reader: Reader, label: str, trends: int = 6) -> dict[str, Any]:
    """:func:`period_tables`, kept while the period's calls are unchanged, for at most
    :data:`CACHE_SECONDS` (a half-year of a busy centre takes seconds to aggregate; looking at
    it again does not)."""
    period = reader.period(label)
    key = (id(reader), period.label, trends, period_fingerprint(reader, period.start, period.end))
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            _cache.move_to_end(key)
            return hit[1]
    tables = period_tables(reader, label, trends)
    with _lock:
        _cache[key] = (now, tables)
        while len(_cache) > CACHED_PERIODS:
            _cache.popitem(last=False)
    return tables


def period_tables(reader: Reader, label: str, trends: int = 6) -> dict[str, Any]:
    """What the page shows of a period, every figure aggregated in SQL: ``summary`` (one row,
    the report's institution figures), ``team`` (the customer's view per team), ``agent`` (the
    agents' view), and the trends over the periods before (``trend`` and ``team_trend`` on the
    customer's view, ``agent_trend`` on the agents' view, as the tables)."""
    period = reader.period(label)
    summary = pd.DataFrame([reader.period_summary(period.start, period.end)])
    trend = reader.trend(period.kind, period.start, trends)
    team_trend = reader.trend(period.kind, period.start, trends, by="team")
    agent_trend = agents_over(reader, period, trends)
    team = team_trend[team_trend["period"] == period.label].drop(columns="period").reset_index(drop=True)
    team["team"] = team["team"].fillna(NONE)
    return {"label": period.label, "summary": summary, "team": team, "agent": agent_table(reader, period.start,
                                                                                          period.end),
            "trend": trend, "team_trend": team_trend, "agent_trend": agent_trend}


def agents_over(reader: Reader, period, trends: int) -> pd.DataFrame:
    """The agents' table (:func:`agent_table`) of ``period`` and the ``trends - 1`` periods
    before it, with a ``period`` column, oldest first."""
    frames = [agent_table(reader, p.start, p.end).assign(period=p.label) for p in period.back(trends)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["period", "agent", "ring_rate"])
    return pd.concat(frames, ignore_index=True)
