"""Aggregates (pure): DataFrames of calls, agent results and callbacks in, report tables out.

Two views of the ring rule (issue 4): the institution, its teams, queues, hours and days are
measured on the customer's view (``calls.ring_rule``: from the first staff phone ringing to the
answer); each agent on the agent's view (``agent_results``: each phone of theirs that rang).

Inputs (columns as :mod:`callmon.storage.frames` reads them; times are epoch seconds):

- ``calls``: call_id, direction, queue, arrived_at, outcome, agent, team, ring_seconds, rings,
  ring_rule, hangup_rule;
- ``agent_results``: call_id, rule, extension, agent, team, result, rings, ring_seconds, answered;
- ``callbacks``: status, first_missed_at, agent, team, missed_call_ids (a list).

Definitions, per group: ``calls`` inbound calls; ``answered``/``abandoned`` among them and
``abandonment_rate`` = abandoned / calls; ``ring_pass``/``ring_fail`` the ring rule's verdicts
(na not counted) and ``ring_rate`` = pass / (pass + fail); ``rings_1`` .. ``rings_5`` and
``rings_6plus`` the answered calls by the ring they were answered in; ``avg_ring_seconds`` and
``p90_ring_seconds`` over answered calls (linear interpolation); ``outbound`` calls made;
``agent_first_hangups`` calls (any direction) where the agent hung up first; ``callbacks_due``
the obligations opened in the group (cancelled ones not counted), ``callbacks_met``/
``callbacks_late``/``callbacks_overdue``/``callbacks_open``/``callbacks_resolved`` by status.
Per agent, ``rang`` counts their phones that rang, ``answered`` those they answered, the ring
columns are over those legs, and ``abandoned`` the legs that rang while the caller gave up.

>>> import pandas as pd
>>> calls = pd.DataFrame({"call_id": ["a", "b"], "direction": ["inbound"] * 2, "queue": [None, None],
...     "arrived_at": [0.0, 60.0], "outcome": ["answered", "abandoned"], "agent": ["Kim", None],
...     "team": ["민원팀", None], "ring_seconds": [2.5, None], "rings": [1, None],
...     "ring_rule": ["pass", "fail"], "hangup_rule": ["pass", "na"]})
>>> t = customer_view(calls, key=None)
>>> t[["calls", "answered", "abandoned", "ring_rate", "rings_1"]].to_dict("records")
[{'calls': 2, 'answered': 1, 'abandoned': 1, 'ring_rate': 0.5, 'rings_1': 1}]
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import pandas as pd

log = logging.getLogger(__name__)

RING_BUCKETS = 5  # rings_1 .. rings_5, then rings_6plus
NONE = "(none)"
CALLBACK_STATUSES = {"met": "callbacks_met", "late": "callbacks_late", "overdue": "callbacks_overdue",
                     "open": "callbacks_open", "resolved_by_customer": "callbacks_resolved"}
CALLBACK_COLUMNS = ["callbacks_due", *CALLBACK_STATUSES.values()]
DIMENSIONS = ("team", "queue", "hour", "day")


def with_local_time(frame: pd.DataFrame, column: str, tz: ZoneInfo | str) -> pd.DataFrame:
    """``frame`` with ``hour`` (0-23) and ``day`` (ISO date) of the epoch column, in ``tz``."""
    out = frame.copy()
    local = pd.to_datetime(out[column], unit="s", utc=True).dt.tz_convert(str(tz))
    out["hour"] = local.dt.hour.astype("Int64")
    out["day"] = local.dt.strftime("%Y-%m-%d")
    return out


def _ring_columns(answered: pd.DataFrame, key: str) -> pd.DataFrame:
    """Answered by ring (``rings_1`` .. ``rings_6plus``), average and p90 ring seconds, per key."""
    # numbers even when the database gave no row to infer a type from
    answered = answered.astype({"rings": float, "ring_seconds": float})
    bucket = answered["rings"].clip(upper=RING_BUCKETS + 1)
    names = {k: f"rings_{k}" for k in range(1, RING_BUCKETS + 1)} | {RING_BUCKETS + 1: f"rings_{RING_BUCKETS + 1}plus"}
    dist = pd.crosstab(answered[key], bucket).reindex(columns=list(names), fill_value=0).rename(columns=names)
    seconds = answered.groupby(key)["ring_seconds"]
    return dist.join(pd.DataFrame({"avg_ring_seconds": seconds.mean(), "p90_ring_seconds": seconds.quantile(0.9)}))


def _counts(frame: pd.DataFrame, key: str, **flags: pd.Series) -> pd.DataFrame:
    """Per key: how many rows, and how many have each flag."""
    counted = pd.DataFrame({key: frame[key], **{k: v.astype("int64") for k, v in flags.items()}})
    return counted.groupby(key).sum()


def _ring_rate(table: pd.DataFrame) -> pd.Series:
    judged = table["ring_pass"] + table["ring_fail"]
    return (table["ring_pass"] / judged).where(judged > 0)


def _callback_counts(callbacks: pd.DataFrame, key: str) -> pd.DataFrame:
    live = callbacks[callbacks["status"] != "cancelled"]
    counts = pd.crosstab(live[key], live["status"]).reindex(columns=list(CALLBACK_STATUSES), fill_value=0)
    counts = counts.rename(columns=CALLBACK_STATUSES)
    counts.insert(0, "callbacks_due", counts.sum(axis=1))
    return counts


def _keyed(frame: pd.DataFrame, key: str | None, name: str) -> pd.DataFrame:
    """``frame`` with the group column ``name``: ``key``'s values (missing: NONE), or one scope."""
    if key is None:
        return frame.assign(**{name: "institution"})
    values = frame[key].astype(object)
    return frame.assign(**{name: values.where(values.notna(), NONE)})


def _finish(table: pd.DataFrame, key: str, order: list[str]) -> pd.DataFrame:
    table = table.reindex(columns=[c for c in order if c != "team" or c in table.columns])
    ratios = {"ring_rate", "abandonment_rate", "avg_ring_seconds", "p90_ring_seconds", "team"}
    counts = [c for c in table.columns if c not in ratios]
    table[counts] = table[counts].fillna(0).astype("int64")
    table.index.name = key
    return table.reset_index()


CUSTOMER_ORDER = ["calls", "answered", "abandoned", "abandonment_rate", "ring_pass", "ring_fail", "ring_rate",
                  *[f"rings_{k}" for k in range(1, RING_BUCKETS + 1)], f"rings_{RING_BUCKETS + 1}plus",
                  "avg_ring_seconds", "p90_ring_seconds", "outbound", "agent_first_hangups", *CALLBACK_COLUMNS]


def customer_view(calls: pd.DataFrame, callbacks: pd.DataFrame | None = None, key: str | None = None) -> pd.DataFrame:
    """The customer's view per ``key`` column of ``calls`` (team, queue, hour, day; None: one row
    for the institution, key ``scope``)."""
    name = key or "scope"
    calls = _keyed(calls, key, name)
    inbound = calls[calls["direction"] == "inbound"]
    table = _counts(inbound, name, calls=pd.Series(True, index=inbound.index),
                    answered=inbound["outcome"] == "answered", abandoned=inbound["outcome"] == "abandoned",
                    ring_pass=inbound["ring_rule"] == "pass", ring_fail=inbound["ring_rule"] == "fail")
    answered = inbound[(inbound["outcome"] == "answered") & inbound["rings"].notna()]
    table = table.join(_ring_columns(answered, name), how="outer")
    table = table.join(_counts(calls, name, outbound=calls["direction"] == "outbound",
                               agent_first_hangups=calls["hangup_rule"] == "fail"), how="outer")
    if callbacks is not None and not callbacks.empty:
        table = table.join(_callback_counts(_keyed(callbacks, key, name), name), how="outer")
    if key is None:  # the institution has its row even in an empty period
        table = table.reindex(["institution"])
    table = table.fillna({"calls": 0, "abandoned": 0, "ring_pass": 0, "ring_fail": 0})
    table["ring_rate"] = _ring_rate(table)
    table["abandonment_rate"] = (table["abandoned"] / table["calls"]).where(table["calls"] > 0)
    return _finish(table, name, CUSTOMER_ORDER)


AGENT_ORDER = ["team", "calls", "rang", "answered", "abandoned", "ring_pass", "ring_fail", "ring_rate",
               *[f"rings_{k}" for k in range(1, RING_BUCKETS + 1)], f"rings_{RING_BUCKETS + 1}plus",
               "avg_ring_seconds", "p90_ring_seconds", "agent_first_hangups", "warnings", *CALLBACK_COLUMNS]


def agent_view(calls: pd.DataFrame, agent_results: pd.DataFrame, callbacks: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per agent (the directory's name, else the extension), on the agents' view of the rules;
    ``calls`` counts the calls credited to them (answered inbound, made outbound)."""
    ar = agent_results.assign(agent=agent_results["agent"].fillna(agent_results["extension"]))
    ar = ar.merge(calls[["call_id", "outcome"]], on="call_id", how="left")
    ring = ar[ar["rule"] == "answer_before_ring"]
    table = _counts(ring, "agent", rang=pd.Series(True, index=ring.index), answered=ring["answered"].astype(bool),
                    abandoned=ring["outcome"] == "abandoned", ring_pass=ring["result"] == "pass",
                    ring_fail=ring["result"] == "fail")
    answered = ring[ring["answered"].astype(bool) & ring["rings"].notna()]
    table = table.join(_ring_columns(answered, "agent"), how="outer")
    table = table.join(_counts(ar, "agent", warnings=ar["result"] == "fail",
                               agent_first_hangups=(ar["rule"] == "agent_hangs_up_last") & (ar["result"] == "fail")),
                       how="outer")
    credited = calls[calls["agent"].notna()]
    table = table.join(credited.groupby("agent").size().rename("calls"), how="outer")
    if callbacks is not None and not callbacks.empty:
        table = table.join(_callback_counts(callbacks[callbacks["agent"].notna()], "agent"), how="outer")
    teams = pd.concat([ar[["agent", "team"]], credited[["agent", "team"]]]).dropna()
    table["team"] = teams.groupby("agent")["team"].agg(lambda s: s.mode().iat[0])
    table = table.fillna({"ring_pass": 0, "ring_fail": 0})
    table["ring_rate"] = _ring_rate(table)
    return _finish(table, "agent", AGENT_ORDER)


def report_tables(calls: pd.DataFrame, agent_results: pd.DataFrame, callbacks: pd.DataFrame,
                  tz: ZoneInfo | str) -> dict[str, pd.DataFrame]:
    """Every table of the report: ``summary`` (the institution), ``agent``, ``team``, ``queue``,
    ``hour``, ``day``. A callback counts to the queue, hour and day of its first missed call
    (the queue), resp. of its opening."""
    calls = with_local_time(calls, "arrived_at", tz)
    if not callbacks.empty:
        queue_of = dict(zip(calls["call_id"], calls["queue"]))
        first = callbacks["missed_call_ids"].map(lambda ids: ids[0] if len(ids) else None)
        callbacks = with_local_time(callbacks.assign(queue=first.map(queue_of)), "first_missed_at", tz)
    tables = {"summary": customer_view(calls, callbacks), "agent": agent_view(calls, agent_results, callbacks)}
    for dim in DIMENSIONS:
        tables[dim] = customer_view(calls, callbacks, dim)
    return tables
