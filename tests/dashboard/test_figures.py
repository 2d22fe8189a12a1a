"""The figure builders over the read side's frames of the real sample calls (no browser): what
they draw is what `callmon report` and `callmon calls` say."""

from __future__ import annotations

import csv
import io
import json
from zoneinfo import ZoneInfo

import pytest

from callmon.core.config import load_config
from callmon.dashboard import figures
from callmon.dashboard.fmt import span, stamp
from callmon.read import Reader
from tests.conftest import SAMPLES, run_cli
from tests.dashboard.conftest import AT, DAY


@pytest.fixture(scope="module")
def reader(sample_db, config_file):
    r = Reader.open(sample_db, load_config(config_file))
    yield r
    r.close()


def test_calls_per_hour_stacks_the_hours_answered_calls_by_ring_as_the_report_counts_them(
        reader, sample_db, config_file, tmp_path):
    day = reader.period(DAY)
    fig = figures.calls_per_hour(reader.hourly(day.start, day.end).rename(columns={"unanswered": "abandoned"}), "ko")
    out = tmp_path / "day.csv"
    run_cli("report", "--period", DAY, "--out", str(out), "--at", AT, "--db", sample_db, "--config", str(config_file))
    hours = list(csv.DictReader(io.StringIO((tmp_path / "day-hour.csv").read_text(encoding="utf-8-sig"))))
    drawn = {tr.name: dict(zip(tr.x, tr.y)) for tr in fig.data}
    assert fig.layout.barmode == "stack"
    for row in hours:
        hour = f"{int(row['hour']):02d}"
        for k in range(1, 6):
            assert drawn[f"{k}번째 벨"][hour] == int(row[f"rings_{k}"])
        assert drawn["6+번째 벨"][hour] == int(row["rings_6plus"])
        assert sum(d[hour] for d in drawn.values()) == int(row["calls"])


def test_timeline_draws_each_leg_and_marks_who_hung_up_first(reader, sample_db, config_file):
    calls = json.loads(run_cli("calls", "--db", sample_db, "--config", str(config_file), "--format", "json").stdout)
    transferred = next(c for c in calls if c["transferred"])
    agent_first = next(c for c in calls if c["hangup_by"] == "agent" and c["direction"] == "inbound")
    for item in (transferred, agent_first):
        call = reader.call(item["call_id"], reader.viewer("t", "viewer"))
        fig = figures.timeline(call, reader.tz, "en")
        bars = [tr for tr in fig.data if tr.type == "bar"]
        rows = {tr.y[0] for tr in bars}
        rung = [leg for leg in call["legs"] if leg["ring_started_at"] is not None]
        assert len(rows) == 1 + len({(i, leg["endpoint"]) for i, leg in enumerate(call["legs"])
                                     if leg["ring_started_at"] is not None or leg["answered_at"] is not None})
        assert sum(tr.name == "ringing" for tr in bars) == len(rung)
        cross = next(tr for tr in fig.data if tr.type == "scatter")
        assert fig.layout.title.text == f"Hung up first: {item['hangup_by']}"
        ended = stamp(call["ended_at"], reader.tz)
        assert cross.x[0].strftime("%Y-%m-%d %H:%M:%S") == ended
    # the agent hung up first: the cross is on the answering phone's row, not the caller's
    call = reader.call(agent_first["call_id"])
    fig = figures.timeline(call, reader.tz, "en")
    cross = next(tr for tr in fig.data if tr.type == "scatter")
    assert cross.y[0].endswith(call["answered_by"])
    assert call["caller"] not in cross.y[0]


def test_rate_bars_and_trend_show_the_read_sides_rates_in_percent(reader):
    day = reader.period(DAY)
    tables = reader.span_tables(day.start, day.end, day.end)
    fig = figures.rate_bars(tables["team"], "team", "ko")
    shown = dict(zip(fig.data[0].y, fig.data[0].x))
    team = tables["team"].set_index("team")["ring_rate"]
    assert shown["민원팀"] == round(team["민원팀"] * 100, 1) and shown["(없음)"] == round(team["(none)"] * 100, 1)
    trend = reader.trend("day", day.start, 3)
    teams = reader.trend("day", day.start, 3, by="team")
    fig = figures.trend(trend, "en", groups=teams, by="team")
    assert list(fig.data[0].x) == list(trend["period"]) == ["2026-11-21", "2026-11-22", DAY]
    assert fig.data[0].y[-1] == round(trend["ring_rate"].iloc[-1] * 100, 1) and fig.data[0].y[0] is None
    lines = {tr.name: tr.y for tr in fig.data[1:]}
    assert lines["민원팀"][-1] == round(team["민원팀"] * 100, 1) and lines["민원팀"][0] is None


def test_times_are_shown_to_the_second_in_the_pbx_zone_and_spans_in_words():
    assert stamp(1795377344.999, ZoneInfo("Asia/Seoul")) == "2026-11-23 04:55:44"
    assert stamp(1795377344.999, ZoneInfo("UTC")) == "2026-11-22 19:55:44"
    assert span(8 * 3600, "ko") == "8시간 0분" and span(-125, "en") == "-2m 5s"



def test_a_periods_tables_are_kept_until_calls_of_the_period_change(sqlite_url, config_file):
    """The reports page's cache: the same tables while the period's calls are unchanged, new
    ones (with the new call counted) once a call of the period is added."""
    from callmon.dashboard.data import period_tables_cached

    def ingest(scenario: str) -> None:
        run_cli("ingest", str(SAMPLES / scenario / "Master.csv"), "--db", sqlite_url, "--config", str(config_file))

    ingest("a_direct_fast_caller_hangs_up")
    reader = Reader.open(sqlite_url, load_config(config_file))
    try:
        first = period_tables_cached(reader, DAY)
        assert period_tables_cached(reader, DAY) is first
        ingest("c_direct_abandon")
        second = period_tables_cached(reader, DAY)
    finally:
        reader.close()
    assert second is not first
    assert int(first["summary"]["calls"].iloc[0]) == 1 and int(second["summary"]["calls"].iloc[0]) == 2
    assert int(second["summary"]["abandoned"].iloc[0]) == 1


def test_the_agents_trend_is_on_the_agents_view_as_their_table(reader):
    """An agent's point for the period equals their rate in the period's agent table."""
    from callmon.dashboard.data import period_tables

    tables = period_tables(reader, DAY, trends=3)
    fig = figures.trend(tables["trend"], "ko", groups=tables["agent_trend"], by="agent")
    lines = {tr.name: tr.y for tr in fig.data[1:]}
    for row in tables["agent"].itertuples():
        assert lines[row.agent][-1] == round(row.ring_rate * 100, 1)
        assert lines[row.agent][0] is None  # no calls two days before
