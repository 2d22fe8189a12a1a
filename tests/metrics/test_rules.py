"""The charter's rules on calls: answer before ring N (customer and agent views), the customer
hangs up first, callback kept, and the rule set the configuration asks for.

With the Korean cadence (1 s on, 2 s off) ring k starts (k-1)*3 s after the first ring, so
"before ring 3" means under 6.0 s (DESIGN.md, "Ring counting")."""

from __future__ import annotations

import dataclasses


import pytest

from callmon.sources.ami.framing import read_capture
from callmon.calls.tracker import track_events
from callmon.core.config import Config, Employee, config_from_dict
from callmon.core.cadence import KR, US
from callmon.metrics.callbacks import Callback
from callmon.metrics.rules import (
    AgentHangsUpLast,
    AnswerBeforeRing,
    CallbackKept,
    RuleSet,
    agent_ring_results,
    hangup_extension,
    score,
)
from tests.conftest import SAMPLES, truth
from tests.metrics.conftest import call_from_truth, make_call, staff_leg

RING = AnswerBeforeRing(limit=3, cadence=KR)
HANGUP = AgentHangsUpLast()
DIRECTORY = {"2001": Employee("2001", "Kim Agent", "민원팀"), "2002": Employee("2002", "Lee Agent", "민원팀")}


# --- the real captures: what their truth.json implies -----------------------------------------

CAPTURES = [
    # scenario, ring rule, rings, hang-up rule
    ("a_direct_fast_caller_hangs_up", "pass", 1, "pass"),   # 2.5 s: ring 1
    ("b_direct_late_agent_hangs_up", "fail", 3, "fail"),    # 7.5 s: ring 3 had started at 6 s
    ("c_direct_abandon", "fail", 7, "na"),                  # rang 20 s unanswered
    ("d_queue_rna_then_answer", "fail", 5, "pass"),         # 13.0 s from the first phone ringing
    ("e_queue_abandon", "fail", 4, "na"),                   # 2001 then 2002 rang, 11.5 s in all
    ("f_outbound_callback", "na", None, "pass"),            # outbound: the customer hung up first
    ("g_direct_busy", "na", None, "na"),                    # no phone rang
    ("h_blind_transfer", "pass", 1, "pass"),                # 2.0 s, then a transfer
    ("i_ring_group", "pass", 2, "pass"),                    # 3.2 s: ring 2
    ("k_internal_call", "na", None, "na"),                  # internal calls are not judged
    ("l_direct_ring_timeout", "fail", 14, "na"),            # rang 40 s until the Dial timeout
]


@pytest.mark.parametrize("scenario, ring, rings, hangup", CAPTURES)
def test_captures_give_the_rule_results_their_truth_implies(scenario, ring, rings, hangup):
    """Each single-call capture, from the phones' own SIP traces: ring rule, rings, hang-up rule."""
    (t,) = truth(scenario)
    call = call_from_truth(t)
    result = RING(call)
    assert (result.result, result.value) == (ring, rings), result.reason
    assert HANGUP(call).result == hangup


@pytest.mark.parametrize("scenario, ring, rings, hangup", CAPTURES)
def test_tracked_captures_give_the_same_rule_results(scenario, ring, rings, hangup):
    """The same captures replayed through the real AMI tracker: the rules judge them alike."""
    events, _ = read_capture(SAMPLES / scenario / "ami.raw")
    (call,) = track_events(events, Config())
    assert (RING(call).result, RING(call).value, HANGUP(call).result) == (ring, rings, hangup)


def test_load_capture_answers_pass_exactly_when_under_six_seconds():
    """j_load: every answered call passes iff answered under 6.0 s of ringing (ring 3 not begun)."""
    for i, t in enumerate(truth("j_load")):
        if t["ring_seconds"] is not None:
            assert RING(call_from_truth(t, f"j{i}")).result == ("pass" if t["ring_seconds"] < 6.0 else "fail")


def test_load_capture_gives_87_agent_first_hangups_and_33_customer_first():
    """j_load's README counts: 87 agent-first (fail), 33 customer-first (pass), 20 abandoned (na)."""
    results = [HANGUP(call_from_truth(t, f"j{i}")).result for i, t in enumerate(truth("j_load"))]
    assert (results.count("fail"), results.count("pass"), results.count("na")) == (87, 33, 20)


def test_queue_agent_view_blames_the_phone_that_rang_out_and_credits_the_one_that_answered():
    """d_queue_rna_then_answer: 2001 rang 8 s unanswered (fail), 2002 answered after 4 s (pass)."""
    (t,) = truth("d_queue_rna_then_answer")
    results = agent_ring_results(call_from_truth(t), limit=3, cadence=KR)
    assert [(ext, r.result) for ext, r in results] == [("2001", "fail"), ("2002", "pass")]


def test_ring_group_phone_that_stopped_early_is_not_judged():
    """i_ring_group: 2001 rang 3.2 s while 2002 answered: na for 2001, pass for 2002."""
    (t,) = truth("i_ring_group")
    assert [(ext, r.result) for ext, r in agent_ring_results(call_from_truth(t))] == [("2001", "na"), ("2002", "pass")]


def test_transfer_target_ringing_is_judged_for_the_target():
    """h_blind_transfer: 2001 answered in 2.0 s, 2002 (the target) in 2.5 s: both pass."""
    (t,) = truth("h_blind_transfer")
    assert [(ext, r.result) for ext, r in agent_ring_results(call_from_truth(t))] == [("2001", "pass"), ("2002", "pass")]


def test_queue_abandon_agent_view():
    """e_queue_abandon: 2001 rang out after 8 s (fail); 2002 rang 2.5 s when the caller left (na)."""
    (t,) = truth("e_queue_abandon")
    assert [(ext, r.result) for ext, r in agent_ring_results(call_from_truth(t))] == [("2001", "fail"), ("2002", "na")]


@pytest.mark.parametrize("scenario", ["f_outbound_callback", "k_internal_call"])
def test_agent_view_judges_inbound_calls_only(scenario):
    """An outbound or internal call gives no agent ring results."""
    (t,) = truth(scenario)
    assert agent_ring_results(call_from_truth(t)) == []


# --- answer before ring N, built calls ---------------------------------------------------------

@pytest.mark.parametrize("seconds, result, rings", [(0.0, "pass", 1), (2.9, "pass", 1), (3.0, "pass", 2),
                                                    (5.9, "pass", 2), (6.0, "fail", 3), (6.1, "fail", 3)])
def test_ring_three_boundary_in_the_korean_cadence(seconds, result, rings):
    """An answer exactly when ring 3 starts (6.0 s) is at ring 3: a fail."""
    r = RING(make_call(ring=seconds))
    assert (r.result, r.value) == (result, rings)


def test_us_cadence_moves_the_limit_to_twelve_seconds():
    """US ringback (2 s on, 4 s off): ring 3 starts at 12 s."""
    rule = AnswerBeforeRing(limit=3, cadence=US)
    assert rule(make_call(ring=11.0)).result == "pass"
    assert rule(make_call(ring=12.5)).result == "fail"


def test_limit_two_means_before_the_second_ring():
    """With limit 2 (Korean cadence) the answer must come before 3.0 s."""
    rule = AnswerBeforeRing(limit=2, cadence=KR)
    assert rule(make_call(ring=2.9)).result == "pass"
    assert rule(make_call(ring=3.0)).result == "fail"


def test_ring_rule_reason_says_the_ring_and_the_limit():
    """The reason names the ring answered at and when the limit ring starts."""
    reason = RING(make_call(ring=7.5)).reason
    assert "ring 3" in reason and "7.5 s" in reason and "6 s" in reason


def test_caller_who_gave_up_before_ring_three_is_not_judged():
    """An unanswered call whose phones rang only 4 s is na, not a fail."""
    call = make_call(outcome="abandoned", arrived_at=100.0, ended_at=104.0, first_ring_at=100.0,
                     legs=(staff_leg("2001", 100.0, stopped_at=104.0),))
    r = RING(call)
    assert (r.result, r.value) == ("na", 2)


def test_unanswered_ring_end_falls_back_to_the_call_end():
    """A leg without its own ring end rang until the call ended."""
    call = make_call(outcome="abandoned", arrived_at=100.0, ended_at=110.0, legs=(staff_leg("2001", 100.0),))
    assert RING(call).result == "fail"


def test_caller_who_left_the_queue_before_any_phone_rang_is_not_judged():
    """Queue time before a phone rings is wait time, not ring time."""
    call = make_call(outcome="abandoned", arrived_at=100.0, ended_at=160.0)
    assert RING(call).result == "na"


def test_answered_call_without_a_ring_time_is_not_judged():
    """No first ring recorded: nothing to count."""
    assert RING(make_call(answered_at=105.0, answered_by="2001")).result == "na"


@pytest.mark.parametrize("direction", ["outbound", "internal"])
def test_ring_rule_applies_to_inbound_calls_only(direction):
    """Outbound and internal calls are na under the customer view."""
    assert RING(make_call(direction=direction, caller="2001", called="01012345678", ring=9.0)).result == "na"


def test_ring_limit_below_one_is_a_config_error():
    """A limit of 0 rings is meaningless."""
    from callmon.core.errors import ConfigError

    with pytest.raises(ConfigError):
        AnswerBeforeRing(limit=0)


# --- the customer hangs up first --------------------------------------------------------------

@pytest.mark.parametrize("direction, hangup_by, result", [
    ("inbound", "customer", "pass"), ("inbound", "agent", "fail"),
    ("outbound", "customer", "pass"), ("outbound", "agent", "fail"),
    ("inbound", "system", "na"), ("inbound", None, "na"),
    ("internal", "caller", "na"), ("internal", "callee", "na"),
])
def test_hangup_rule_by_direction_and_side(direction, hangup_by, result):
    """Agent first fails (outbound too); customer first passes; PBX, unknown and internal are na."""
    call = make_call(direction=direction, caller="2001" if direction != "inbound" else "01012345678",
                     called="01012345678" if direction == "outbound" else "2001", ring=2.0, hangup_by=hangup_by)
    assert HANGUP(call).result == result


def test_answered_call_whose_staff_answer_time_is_unknown_is_called_answered():
    """A queue call from Master.csv alone: answered, but the file gives only the PBX's Answer().
    Neither rule may call it unanswered; the ring rule cannot judge it, the hang-up rule judges
    the side when it is known."""
    call = make_call(direction="inbound", outcome="answered", arrived_at=100.0, ended_at=160.0, answered_by="2001")
    ring = RING(call)
    assert ring.result == "na" and "answered" in ring.reason and "not recorded" in ring.reason
    assert HANGUP(call).reason == "who hung up first is unknown"
    assert HANGUP(dataclasses.replace(call, hangup_by="agent")).result == "fail"


def test_unanswered_call_has_no_hangup_order():
    """Nobody answered: na even if the PBX says the caller hung up."""
    assert HANGUP(make_call(outcome="abandoned", hangup_by="customer")).result == "na"


def test_transferred_call_never_blames_the_transferer():
    """After a transfer with no hang-up channel known, no extension takes the agent-first hang-up."""
    call = make_call(ring=2.0, hangup_by="agent", transferred=True,
                     legs=(staff_leg("2001", 0.0, answered_at=2.0), staff_leg("2002", 5.0, answered_at=7.0)))
    assert hangup_extension(call) is None


def test_agent_first_hangup_counts_to_the_phone_that_hung_up():
    """The leg whose channel hung up is the one to blame (the transfer target here)."""
    target = staff_leg("2002", 5.0, answered_at=7.0, channel="PJSIP/2002-00000009")
    call = make_call(ring=2.0, hangup_by="agent", transferred=True, hangup_channel="PJSIP/2002-00000009",
                     legs=(staff_leg("2001", 0.0, answered_at=2.0), target))
    assert hangup_extension(call) == "2002"
    assert "2002" in HANGUP(call).reason


def test_outbound_agent_first_hangup_counts_to_the_caller_extension():
    """On an outbound call the staff side is the caller."""
    call = make_call(direction="outbound", caller="2003", called="01012345678", ring=3.0, hangup_by="agent")
    assert hangup_extension(call) == "2003"


# --- callback kept ----------------------------------------------------------------------------

DUE = 1000.0


def _cb(status: str, fulfilled_at: float | None = None, **kw) -> Callback:
    return Callback(key="k", number="+821012345678", first_missed_at=0.0, due_at=DUE, status=status,
                    fulfilled_at=fulfilled_at, **kw)


@pytest.mark.parametrize("callback, now, result", [
    (_cb("met", 900.0), 2000.0, "pass"),
    (_cb("late", 1100.0), 2000.0, "fail"),
    (_cb("overdue"), 2000.0, "fail"),
    (_cb("open"), 500.0, "na"),
    (_cb("open"), 1500.0, "fail"),                      # due passed since it was derived
    (_cb("resolved_by_customer", 900.0), 2000.0, "na"),
    (_cb("resolved_by_customer", 1100.0), 2000.0, "fail"),  # overdue before the customer got through
    (_cb("cancelled", cancel_reason="wrong number"), 2000.0, "na"),
])
def test_callback_kept_by_status_and_now(callback, now, result):
    """Met in time passes; late or overdue fails; open, cancelled and an early customer return are na."""
    assert CallbackKept()(callback, now).result == result


def test_callback_value_is_seconds_past_due():
    """A late callback reports how late it was."""
    assert CallbackKept()(_cb("late", 1100.0), 2000.0).value == 100.0


# --- the rule set and the score ---------------------------------------------------------------

def test_default_rule_set_names_itself_for_the_report():
    """The report prints the rules applied, from the default configuration."""
    ruleset = RuleSet.from_config(config_from_dict({}))
    assert ruleset.description == ("answer before ring 3 (kr 1.0/2.0 s); agent hangs up last; "
                                   "callback within 8 working hours (09:00-12:00, 13:00-18:00, KR holidays)")


def test_configured_rule_set_follows_the_toml():
    """Cadence, ring limit and callback rule come from the config's [rules] and [callback]."""
    config = config_from_dict({"rules": {"cadence": "us", "ring_limit": 2}, "callback": {"rule": "clock_hours"}})
    ruleset = RuleSet.from_config(config)
    assert ruleset.description == ("answer before ring 2 (us 2.0/4.0 s); agent hangs up last; "
                                   "callback within 24 clock hours of working days (KR holidays)")
    assert ruleset.ring(make_call(ring=5.0)).result == "pass"
    assert ruleset.ring(make_call(ring=6.0)).result == "fail"


def test_score_fills_rings_rules_agent_and_team():
    """An inbound call is credited to the answering extension's employee and team."""
    s = score(make_call(ring=7.5, hangup_by="customer"), RuleSet(), DIRECTORY)
    assert (s.rings, s.ring_rule.result, s.hangup_rule.result, s.agent, s.team) == (3, "fail", "pass", "Kim Agent", "민원팀")


def test_score_credits_outbound_calls_to_the_calling_extension():
    """Outbound: the agent is the caller."""
    s = score(make_call(direction="outbound", caller="2002", called="01012345678", ring=3.0, hangup_by="agent"),
              RuleSet(), DIRECTORY)
    assert (s.ring_rule.result, s.hangup_rule.result, s.agent) == ("na", "fail", "Lee Agent")


def test_score_of_an_unanswered_call_has_no_rings_and_no_agent():
    """Nobody answered: rings None, no agent."""
    s = score(make_call(outcome="abandoned", ended_at=5.0), RuleSet(), DIRECTORY)
    assert (s.rings, s.agent, s.team) == (None, None, None)


def test_score_with_an_extension_missing_from_the_directory():
    """An extension the directory does not know leaves agent and team empty."""
    s = score(make_call(called="2009", ring=1.0), RuleSet(), DIRECTORY)
    assert (s.agent, s.team) == (None, None)
