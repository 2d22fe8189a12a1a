"""The scorer: the customer's view and the agents' view of one call, the outside number, and one
rule set per pipeline (not per call)."""

from __future__ import annotations


from callmon.metrics import scoring
from callmon.sources.ami.framing import read_capture
from callmon.calls.tracker import track_events
from callmon.core.config import Config, Employee
from callmon.metrics.rules import RuleSet
from callmon.metrics.warnings import warnings_for_call
from callmon.core.model import Call
from callmon.service.pipeline import Pipeline
from callmon.metrics.scoring import Scorer, customer_number
from callmon.storage import Store
from tests.conftest import SAMPLES

DIRECTORY = {"2001": Employee("2001", "Kim Agent", "민원팀"), "2002": Employee("2002", "Lee Agent", "민원팀")}


def tracked(scenario: str) -> list[Call]:
    events, _ = read_capture(SAMPLES / scenario / "ami.raw")
    return track_events(events, Config())


def test_queue_call_fails_for_the_customer_and_for_the_agent_whose_phone_rang_out():
    """d: 2001 rang 8 s unanswered (fail for Kim), 2002 answered in 4 s (pass for Lee); 13 s in all."""
    (call,) = tracked("d_queue_rna_then_answer")
    scored = Scorer(RuleSet(), DIRECTORY)(call)
    assert (scored.score.ring_rule.result, scored.score.rings, scored.score.agent) == ("fail", 5, "Lee Agent")
    ring = [(r.extension, r.agent, r.result.result, r.answered) for r in scored.agent_results
            if r.result.rule == "answer_before_ring"]
    assert ring == [("2001", "Kim Agent", "fail", False), ("2002", "Lee Agent", "pass", True)]
    legs = {r.extension: r.ring_seconds for r in scored.agent_results if r.ring_seconds is not None}
    assert 7.5 < legs["2001"] < 8.5 and 3.5 < legs["2002"] < 4.5
    (hangup,) = [r for r in scored.agent_results if r.result.rule == "agent_hangs_up_last"]
    assert (hangup.extension, hangup.result.result) == ("2002", "pass")
    assert scored.customer_number == "+821010300001" and scored.period_at == call.arrived_at


def test_the_agents_failures_are_the_warnings_module_gives():
    """j_load: the agent results that fail are exactly warnings_for_call's, call by call."""
    scorer = Scorer(RuleSet(), DIRECTORY)
    for call in tracked("j_load"):
        fails = sorted((r.agent or r.extension, r.result.rule) for r in scorer(call).agent_results
                       if r.result.result == "fail")
        assert fails == sorted((w.employee, w.rule) for w in warnings_for_call(call, scorer.ruleset, DIRECTORY))


def test_customer_number_is_the_outside_party():
    (outbound,) = tracked("f_outbound_callback")
    (internal,) = tracked("k_internal_call")
    assert customer_number(outbound) == "+821055551234" and customer_number(internal) is None


def test_the_pipeline_builds_its_rule_set_once(monkeypatch):
    built = []
    original = RuleSet.from_config.__func__
    monkeypatch.setattr(RuleSet, "from_config", classmethod(lambda cls, cfg: built.append(1) or original(cls, cfg)))
    pipeline = Pipeline(Store("sqlite://"), Config())
    pipeline.ingest_ami_file(SAMPLES / "j_load" / "ami.raw")
    assert len(built) == 1 and pipeline.scorer.ruleset is pipeline.ruleset


def test_customer_numbers_of_columns_equal_one_by_one():
    """The column-wise customer numbers (Korean mobiles at once) are customer_number_of's, for
    every direction and the odd numbers a PBX writes."""
    numbers = ["01012345678", "0101234567", "01112345678", "010-1234-5678", "+821012345678", "0212345678",
               "01012", "010123456789", "0159999999", "2001", "", "anonymous", "0505123456", "1588-1234",
               "01912345678", "0170000000"]
    directions = ["inbound", "outbound", "internal"]
    rows = [(d, n, m) for d in directions for n in numbers for m in numbers[:4]]
    got = scoring.customer_numbers([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    assert got == [scoring.customer_number_of(*r) for r in rows]
    assert got.count(None) < len(got)
