"""Records assembled from Master.csv, CEL and queue_log, judged by the phones' SIP traces (truth.json)."""

from __future__ import annotations

import pytest

from tests.conftest import CEL_SCENARIOS, SCENARIOS, expected, same_fields, truth
from tests.samples import calls_from, match

FIELDS = ("caller", "direction", "outcome", "answered_by", "hangup_by", "transferred")
QUEUE_SCENARIOS = ("d_queue_rna_then_answer", "e_queue_abandon", "j_load", "p_no_did", "chansip/e_queue_abandon")
# an originate's Master.csv answer is the agent's phone's (the originate's first leg): the customer's is not in it
ORIGINATED = ("m_click_to_call_local",)


def _check(call, t, fields, ring_tolerance):
    exp = expected(t)
    got, want = same_fields(call, exp, fields)
    assert got == want, f"call {call.call_id}"
    if exp["ring_seconds"] is None:
        assert call.ring_seconds is None, f"call {call.call_id}"
    else:
        assert call.ring_seconds == pytest.approx(exp["ring_seconds"], abs=ring_tolerance), f"call {call.call_id}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_all_three_files_agree_with_truth(scenario):
    """Master.csv + CEL + queue_log (as recorded: the chan_sip PBX kept no CEL): every call, its
    outcome, answerer, hang-up side, transfer; ring within 0.3 s with CEL, 1 s without."""
    calls = calls_from(scenario, "cdr", "cel", "queue_log")
    assert len(calls) == len(truth(scenario))
    cel = scenario in CEL_SCENARIOS
    for call, t in match(calls, truth(scenario), within=0.1 if cel else 1.0):
        if cel:
            _check(call, t, FIELDS + ("called",), ring_tolerance=0.3)
            assert call.sources in (("cdr", "cel", "queue_log"), ("cdr", "cel"))
        else:
            _check(call, t, ("caller", "called", "direction", "outcome", "answered_by", "transferred"), ring_tolerance=1.0)
            assert call.sources in (("cdr", "queue_log"), ("cdr",))
        assert not call.incomplete


@pytest.mark.parametrize("scenario", CEL_SCENARIOS)
def test_cel_alone_agrees_with_truth(scenario):
    """CEL alone knows every field truth has, the hang-up side from hangupsource; ring within 0.3 s."""
    calls = calls_from(scenario, "cel")
    assert len(calls) == len(truth(scenario))
    for call, t in match(calls, truth(scenario), within=0.1):
        _check(call, t, FIELDS + ("called",), ring_tolerance=0.3)
        assert call.sources == ("cel",)


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s not in QUEUE_SCENARIOS + ORIGINATED])
def test_cdr_alone_gives_ring_seconds_within_a_second(scenario):
    """Master.csv alone, direct and ring-group calls: outcome, answerer, transfer right; ring within 1 s."""
    calls = calls_from(scenario, "cdr")
    for call, t in match(calls, truth(scenario), within=1.0):
        _check(call, t, ("caller", "direction", "outcome", "answered_by", "transferred"), ring_tolerance=1.0)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cdr_alone_knows_the_hangup_side_only_of_unanswered_calls(scenario):
    """CDR has no hang-up side of a conversation; of a missed call it does (the dialplan went on, or not)."""
    calls = calls_from(scenario, "cdr")
    for call, t in match(calls, truth(scenario), within=1.0):
        exp = expected(t)
        assert call.outcome == exp["outcome"]
        assert call.hangup_by == (None if exp["outcome"] == "answered" else exp["hangup_by"]), f"call {call.call_id}"


@pytest.mark.parametrize("scenario", QUEUE_SCENARIOS + ORIGINATED)
def test_cdr_of_a_queue_call_has_no_agent_answer_time(scenario):
    """A queue's CDR answer is the PBX's Answer() (an originate's, the agent's phone): alone it gives no
    answer time of the party that counts, so no ring seconds."""
    for call, t in match(calls_from(scenario, "cdr"), truth(scenario), within=1.0):
        assert call.answered_at is None and call.ring_seconds is None
        assert call.answered_by == expected(t)["answered_by"]


@pytest.mark.parametrize("scenario", QUEUE_SCENARIOS)
def test_queue_log_completes_cdr_for_queue_calls(scenario):
    """Master.csv + queue_log: ring within 1 s from RINGNOANSWER/CONNECT, hang-up side from COMPLETE*/ABANDON."""
    calls = calls_from(scenario, "cdr", "queue_log")
    for call, t in match(calls, truth(scenario), within=1.0):
        _check(call, t, FIELDS, ring_tolerance=1.0)
        assert call.sources == ("cdr", "queue_log")


def test_queue_call_answered_by_the_pbx_is_not_answered():
    """e_queue_abandon: the dialplan answered before Queue(); nobody on the staff did: abandoned."""
    (call,) = calls_from("e_queue_abandon", "cdr", "cel", "queue_log")
    assert truth("e_queue_abandon")[0]["pbx_answered_at"] is not None
    assert (call.outcome, call.answered_at, call.queue, call.hangup_by) == ("abandoned", None, "support", "customer")


def test_transferer_leaving_is_not_a_hangup():
    """h_blind_transfer: 2001 leaves after its blind transfer; the caller hangs up on 2002 later."""
    (call,) = calls_from("h_blind_transfer", "cel")
    assert call.transferred and call.answered_by == "2001"
    assert (call.hangup_by, call.hangup_channel) == ("customer", "PJSIP/pstn-in-00000010")
    assert [leg.endpoint for leg in call.legs] == ["2001", "2002"]


def test_busy_destination_is_ended_by_the_system():
    """g_direct_busy: 2003 answers 486; the busy leg's own hang-up is no party's; Asterisk ends the call."""
    (call,) = calls_from("g_direct_busy", "cdr", "cel")
    (leg,) = call.legs
    assert (call.outcome, call.hangup_by, call.first_ring_at) == ("busy", "system", None)
    assert (leg.dial_status, leg.ring_started_at) == ("BUSY", None)


def test_j_load_counts_match_truth():
    """j_load from all three files: 120 answered (87 agent-first, 33 customer-first) and 20 abandoned."""
    calls = calls_from("j_load", "cdr", "cel", "queue_log")
    answered = [c for c in calls if c.outcome == "answered"]
    assert len(calls) == 140 and len(answered) == 120
    assert sum(c.hangup_by == "agent" for c in answered) == 87
    assert sum(c.hangup_by == "customer" for c in answered) == 33
    assert sum(c.outcome == "abandoned" for c in calls) == 20
