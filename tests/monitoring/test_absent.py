"""The person asked for was absent: the agent who answered took a memo, so the test call opened a
callback obligation; the callback item applies and is judged from the callback record (real
captures: a_direct_fast_caller_hangs_up, and f_outbound_callback renumbered to the evaluator)."""

from __future__ import annotations

from datetime import datetime

from callmon.core.config import Config, Employee
from callmon.read.monitoring import MonitoringView
from callmon.service.monitoring import Monitoring
from callmon.service.pipeline import Pipeline
from callmon.storage import Store
from tests.callback_story import callback, kst
from tests.conftest import SAMPLES, truth

EVALUATOR = "01010000001"


def view(mon: Monitoring) -> MonitoringView:
    return MonitoringView(mon.pipeline.store, mon.pipeline.config)  # a_direct_fast_caller_hangs_up's caller


def _session(db_url, tmp_path, callback_at):
    cfg = Config(timezone="Asia/Seoul", directory={"2001": Employee("2001", "Kim Agent", "민원팀")})
    store = Store(db_url)
    pipeline = Pipeline(store, cfg)
    pipeline.ingest_ami_file(SAMPLES / "a_direct_fast_caller_hangs_up" / "ami.raw")
    t = truth("a_direct_fast_caller_hangs_up")[0]
    pipeline.obligations.add_memo(EVALUATOR, t["answered_at"] + 3, name="평가자", purpose="담당자 부재", agent="2001")
    pipeline.ingest_ami_file(callback(tmp_path, callback_at, number=EVALUATOR))
    mon = Monitoring(pipeline)
    mon.create("s", "2026-H2", evaluators={"e": [EVALUATOR]}, extensions=["2001"])
    mon.plan("s", seed=1)
    called = datetime.fromtimestamp(t["invite_at"], kst(2026, 1, 1).tzinfo).isoformat()
    marks = dict.fromkeys(("greeting", "listening", "explanation", "attitude", "closing", "name_again"), "Y")
    mon.evaluate("s", {"test_call": "1", "evaluator": "e", "called_at": called, "marks": marks}, author="e")
    return store, mon


def test_memo_on_the_test_call_makes_the_callback_item_count_and_a_timely_callback_passes(db_url, tmp_path):
    store, mon = _session(db_url, tmp_path, kst(2026, 11, 23, 10))  # Monday 10:00, due the same day
    s = view(mon).scores("s", now=kst(2026, 12, 1).timestamp()).evaluations[0]
    cb = next(r for r in s.score.items if r.key == "callback")
    assert cb.applies and cb.mark == 1.0 and "status=met" in cb.evidence
    assert s.score.score == 100.0
    store.dispose()


def test_a_late_callback_fails_the_item_with_its_due_and_met_times(db_url, tmp_path):
    store, mon = _session(db_url, tmp_path, kst(2026, 11, 25, 10))  # Wednesday: past the working day
    s = view(mon).scores("s", now=kst(2026, 12, 1).timestamp()).evaluations[0]
    cb = next(r for r in s.score.items if r.key == "callback")
    assert cb.applies and cb.mark == 0.0 and "status=late" in cb.evidence and "met=2026-11-25T10:00" in cb.evidence
    weights = {i.key: i.weight for i in mon.template(mon.session("s")).items}
    applied = [k for k in weights if k not in ("apology", "transfer")]
    assert s.score.score == round(100 * (sum(weights[k] for k in applied) - weights["callback"])
                                  / sum(weights[k] for k in applied), 2)
    store.dispose()


def test_scored_before_the_callback_was_made_the_item_is_open_and_provisional(db_url, tmp_path):
    """As of Monday 09:30 the callback (made at 10:00, due that evening) is still open: left out, provisional."""
    store, mon = _session(db_url, tmp_path, kst(2026, 11, 23, 10))
    s = view(mon).scores("s", now=kst(2026, 11, 23, 9, 30).timestamp()).evaluations[0]
    cb = next(r for r in s.score.items if r.key == "callback")
    assert cb.applies and cb.mark is None and "status=open" in cb.evidence and s.score.provisional
    store.dispose()


def test_preview_scores_an_evaluation_without_storing_it(db_url, tmp_path):
    """The form's running score: the same score an import would give, and nothing is written."""
    store, mon = _session(db_url, tmp_path, kst(2026, 11, 23, 10))
    now = kst(2026, 12, 1).timestamp()
    stored = view(mon).scores("s", now).evaluations[0]
    raw = {"test_call": "1", "evaluator": "e", "marks": {**{k: "Y" for k in stored.evaluation["marks"]}, "closing": "N"}}
    p = mon.preview("s", raw, now)
    weights = {i.key: i.weight for i in mon.template(mon.session("s")).items}
    applied = [k for k in weights if k not in ("apology", "transfer")]
    assert p.match.status == "matched" and p.score.score == round(
        100 * (1 - weights["closing"] / sum(weights[k] for k in applied)), 2)
    assert len(mon.history("s")) == 1
    store.dispose()
