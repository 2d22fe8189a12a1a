"""The reports page's per-agent table, aggregated by the database, equals the report's agent table
(computed in pandas from every call) on the real sample calls, on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd

from callmon.core.config import load_config
from callmon.read import Reader
from callmon.read.dashboard_queries import COLUMNS, agent_table, period_fingerprint
from callmon.reporting.report import build_report
from tests.conftest import SAMPLES, run_cli

DIRECTORY = '\n[directory]\n"2001" = { name = "김민원", team = "민원팀" }\n"2003" = { name = "박안내", team = "안내팀" }\n'


def test_agent_table_in_sql_equals_the_reports_agent_view(db_url, tmp_path):
    config = tmp_path / "callmon.toml"
    config.write_text((SAMPLES / "callmon.toml").read_text(encoding="utf-8") + DIRECTORY, encoding="utf-8")
    files = [str(p) for name in ("Master.csv", "cel.csv", "queue_log") for p in sorted(SAMPLES.glob(f"*/{name}"))
             if p.stat().st_size]
    run_cli("ingest", *files, "--db", db_url, "--config", str(config))
    reader = Reader.open(db_url, load_config(config))
    try:
        period = reader.period("2026-11-23")
        report = build_report(reader, period.label, period.end, reader.viewer("t", "viewer"), trends=1)
        expected = report.tables["agent"][COLUMNS].sort_values("agent").reset_index(drop=True)
        got = agent_table(reader, period.start, period.end).sort_values("agent").reset_index(drop=True)
    finally:
        reader.close()
    assert set(got["agent"]) == {"김민원", "이상담", "박안내"} - {"이상담"} | {"2002"}
    for col in ("rang", "answered", "ring_pass", "ring_fail", "agent_first_hangups"):
        assert list(got[col].astype(int)) == list(expected[col].astype(int)), col
    pd.testing.assert_series_equal(got["ring_rate"].astype(float), expected["ring_rate"].astype(float))
    pd.testing.assert_series_equal(got["avg_ring_seconds"].astype(float), expected["avg_ring_seconds"].astype(float),
                                   rtol=1e-9)
    assert list(got["team"].fillna("-")) == list(expected["team"].fillna("-"))


def test_period_fingerprint_changes_when_calls_of_the_period_are_added(sqlite_url):
    config = SAMPLES / "callmon.toml"
    run_cli("ingest", str(SAMPLES / "a_direct_fast_caller_hangs_up" / "Master.csv"), "--db", sqlite_url,
            "--config", str(config))
    reader = Reader.open(sqlite_url, load_config(config))
    try:
        whole = (0.0, 4e9)
        before = period_fingerprint(reader, *whole)
        assert before[0] == 1 and period_fingerprint(reader, 0.0, 1.0) == (0, None)
        run_cli("ingest", str(SAMPLES / "c_direct_abandon" / "Master.csv"), "--db", sqlite_url,
                "--config", str(config))
        after = period_fingerprint(reader, *whole)
    finally:
        reader.close()
    assert after[0] == 2 and after != before
