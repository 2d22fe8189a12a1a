"""The demo's history (callmon.cli.demo_history) imported as `callmon demo` imports it, into a
real SQLite database: each block has callers of its own, and the recording's outbound call is
a callback, so the history has obligations met in time and late, not one per number for weeks."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime

from callmon.cli.demo import DEMO_CONFIG, import_history, seed_monitoring
from tests.conftest import run_cli

NOW = datetime.fromisoformat("2026-12-04T12:00:00+09:00").timestamp()  # a Friday


def test_demo_history_blocks_have_their_own_callers_and_callbacks_met_and_late(tmp_path):
    config = tmp_path / "demo.toml"
    config.write_text(DEMO_CONFIG, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    started = time.monotonic()
    calls = import_history(db, config, tmp_path, 2, NOW)
    assert time.monotonic() - started < 60 and calls >= 1000
    cbs = json.loads(run_cli("callbacks", "--format", "json", "--db", db, "--config", str(config),
                             "--at", "2026-12-04T12:00:00").stdout)
    days = Counter(datetime.fromisoformat(c["first_missed_at"]).date() for c in cbs)
    # every working day of the two weeks opens obligations of its own (no number folds across days)
    assert len(days) == 10 and min(days.values()) >= 3
    assert all(len(c["missed_call_ids"]) <= 3 for c in cbs)
    statuses = Counter(c["status"] for c in cbs)
    assert statuses["met"] >= 1 and statuses["late"] >= 1, statuses
    assert statuses["overdue"] >= 1  # and some nobody called back
    # the callbacks were made to numbers missed the same week
    for c in cbs:
        if c["status"] in ("met", "late"):
            missed, back = datetime.fromisoformat(c["first_missed_at"]), datetime.fromisoformat(c["fulfilled_at"])
            assert missed.isocalendar()[:2] == back.isocalendar()[:2] and back >= missed


def test_demo_seeds_a_monitoring_session_with_a_plan_and_evaluations_of_history_calls(tmp_path):
    """The demo's 모니터링 page has something to show: a session of the current half-year whose
    evaluations are tied to calls of the history and scored (`callmon monitor` reads it)."""
    config = tmp_path / "demo.toml"
    config.write_text(DEMO_CONFIG, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    import_history(db, config, tmp_path, 1, NOW)
    session = seed_monitoring(db, config, NOW)
    opts = ["--db", db, "--config", str(config), "--format", "json", "--at", "2026-12-04T12:00:00"]
    (listed,) = json.loads(run_cli("monitor", "list", *opts[:-2]).stdout)
    assert listed["session_id"] == session["id"] and listed["period"] == "2026-H2"
    assert listed["planned"] >= 3 and listed["evaluations"] == 2
    scored = json.loads(run_cli("monitor", "score", str(session["id"]), "--by", "evaluation", *opts).stdout)
    assert len(scored) == 2
    assert all(e["match"] == "matched" and e["status"] == "scored" and e["score"] is not None for e in scored), scored
    assert len({e["person"] for e in scored}) == 2
