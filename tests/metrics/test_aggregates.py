"""Aggregates on small frames written out by hand: each column's definition, the two views of the
ring rule, local hours and days, callbacks by status, empty periods."""

from __future__ import annotations


import pandas as pd
import pytest

from callmon.metrics.aggregates import agent_view, customer_view, report_tables
from tests.metrics.conftest import at

CALLS = pd.DataFrame([
    # call_id, direction, queue, arrived_at, outcome, agent, team, ring_seconds, rings, ring_rule, hangup_rule
    ("a", "inbound", "support", at(2026, 11, 23, 9, 5), "answered", "Kim", "민원팀", 2.0, 1, "pass", "fail"),
    ("b", "inbound", "support", at(2026, 11, 23, 9, 40), "answered", "Lee", "민원팀", 13.0, 5, "fail", "pass"),
    ("c", "inbound", None, at(2026, 11, 23, 10, 0), "abandoned", None, None, None, None, "fail", "na"),
    ("d", "inbound", None, at(2026, 11, 24, 14, 0), "answered", "Park", "요금팀", 4.0, 2, "pass", "pass"),
    ("e", "outbound", None, at(2026, 11, 24, 15, 0), "answered", "Kim", "민원팀", 3.0, None, "na", "fail"),
], columns=["call_id", "direction", "queue", "arrived_at", "outcome", "agent", "team", "ring_seconds", "rings",
            "ring_rule", "hangup_rule"])

AGENT_RESULTS = pd.DataFrame([
    # call_id, rule, extension, agent, team, result, rings, ring_seconds, answered
    ("a", "answer_before_ring", "2001", "Kim", "민원팀", "pass", 1, 2.0, True),
    ("a", "agent_hangs_up_last", "2001", "Kim", "민원팀", "fail", None, None, False),
    ("b", "answer_before_ring", "2001", "Kim", "민원팀", "fail", 3, 8.0, False),  # rang out
    ("b", "answer_before_ring", "2002", "Lee", "민원팀", "pass", 2, 4.0, True),   # answered in time
    ("b", "agent_hangs_up_last", "2002", "Lee", "민원팀", "pass", None, None, False),
    ("c", "answer_before_ring", "2003", "Park", "요금팀", "fail", 7, 20.0, False),
    ("d", "answer_before_ring", "2003", "Park", "요금팀", "pass", 2, 4.0, True),
    ("e", "agent_hangs_up_last", "2001", "Kim", "민원팀", "fail", None, None, False),
    ("c", "answer_before_ring", "2009", None, None, "na", 1, 1.0, False),       # not in the directory
], columns=["call_id", "rule", "extension", "agent", "team", "result", "rings", "ring_seconds", "answered"])

CALLBACKS = pd.DataFrame([
    {"status": "met", "first_missed_at": at(2026, 11, 23, 10, 0), "agent": "Park", "team": "요금팀", "missed_call_ids": ["c"]},
    {"status": "late", "first_missed_at": at(2026, 11, 23, 11, 0), "agent": None, "team": None, "missed_call_ids": []},
    {"status": "cancelled", "first_missed_at": at(2026, 11, 23, 12, 0), "agent": None, "team": None, "missed_call_ids": []},
])


def test_institution_uses_the_customer_view():
    """One row: inbound calls only, ring rate over pass+fail, rings by answered call, p90 interpolated."""
    (row,) = customer_view(CALLS, CALLBACKS).to_dict("records")
    assert row["scope"] == "institution"
    assert (row["calls"], row["answered"], row["abandoned"], row["outbound"]) == (4, 3, 1, 1)
    assert row["abandonment_rate"] == 0.25
    assert (row["ring_pass"], row["ring_fail"], row["ring_rate"]) == (2, 2, 0.5)
    assert [row[f"rings_{k}"] for k in range(1, 6)] + [row["rings_6plus"]] == [1, 1, 0, 0, 1, 0]
    assert row["avg_ring_seconds"] == pytest.approx((2 + 13 + 4) / 3)
    assert row["p90_ring_seconds"] == pytest.approx(4 + 0.8 * (13 - 4))  # sorted 2, 4, 13: position 1.8
    assert row["agent_first_hangups"] == 2  # inbound a and outbound e
    assert (row["callbacks_due"], row["callbacks_met"], row["callbacks_late"]) == (2, 1, 1)  # cancelled not due


def test_per_agent_uses_the_agents_view():
    """Kim: answered a in time, rang out on b (a fail the customer view gives Lee's call), hung up first twice."""
    rows = {r["agent"]: r for r in agent_view(CALLS, AGENT_RESULTS, CALLBACKS).to_dict("records")}
    kim, lee, park = rows["Kim"], rows["Lee"], rows["Park"]
    assert (kim["team"], kim["calls"], kim["rang"], kim["answered"]) == ("민원팀", 2, 2, 1)
    assert (kim["ring_pass"], kim["ring_fail"], kim["ring_rate"]) == (1, 1, 0.5)
    assert (kim["agent_first_hangups"], kim["warnings"]) == (2, 3)
    assert (lee["ring_pass"], lee["ring_fail"], lee["ring_rate"], lee["rings_2"]) == (1, 0, 1.0, 1)
    assert (park["abandoned"], park["avg_ring_seconds"], park["callbacks_met"]) == (1, 4.0, 1)
    assert rows["2009"]["rang"] == 1 and pd.isna(rows["2009"]["ring_rate"])  # na only: no rate


def test_tables_by_team_queue_hour_and_day_in_local_time():
    tables = report_tables(CALLS, AGENT_RESULTS, CALLBACKS, "Asia/Seoul")
    assert set(tables) == {"summary", "agent", "team", "queue", "hour", "day"}
    team = tables["team"].set_index("team")
    assert team.loc["민원팀", "calls"] == 2 and team.loc["(none)", "abandoned"] == 1
    assert team.loc["민원팀", "outbound"] == 1
    queue = tables["queue"].set_index("queue")
    assert queue.loc["support", "ring_rate"] == 0.5 and queue.loc["(none)", "callbacks_met"] == 1  # c had no queue
    assert tables["hour"]["hour"].tolist() == [9, 10, 11, 14, 15]  # 11: the late callback; the cancelled one counts nowhere
    assert tables["hour"].set_index("hour").loc[9, "calls"] == 2
    day = tables["day"].set_index("day")
    assert day.loc["2026-11-23", "calls"] == 3 and day.loc["2026-11-24", "calls"] == 1


def test_an_empty_period_still_has_the_institution_row():
    empty = report_tables(CALLS.iloc[0:0], AGENT_RESULTS.iloc[0:0], CALLBACKS.iloc[0:0], "Asia/Seoul")
    (row,) = empty["summary"].to_dict("records")
    assert row["calls"] == 0 and pd.isna(row["ring_rate"])
    assert empty["agent"].empty and empty["hour"].empty
