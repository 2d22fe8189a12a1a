"""Warnings per employee and the CS-training list: the 3rd warning in a half-year (Asia/Seoul)."""

from __future__ import annotations


import pytest

from callmon.core.config import Employee
from callmon.metrics.callbacks import Callback
from callmon.metrics.rules import RuleSet
from callmon.metrics.warnings import (
    RuleWarning,
    period_bounds,
    period_of,
    training_list,
    warnings_by_period,
    warnings_for_call,
    warnings_for_callback,
)
from tests.conftest import truth
from tests.metrics.conftest import at, call_from_truth, kst, make_call, staff_leg

DIRECTORY = {"2001": Employee("2001", "Kim Agent", "민원팀"), "2002": Employee("2002", "Lee Agent", "민원팀")}
HANGUP = "agent_hangs_up_last"


def w(call_id: str, when: float, employee: str = "Kim Agent", rule: str = HANGUP) -> tuple:
    return (employee, rule, call_id, when)


# --- periods ----------------------------------------------------------------------------------

def test_half_year_turns_at_midnight_seoul_time():
    """30 June 23:59 KST is H1 and 1 July 00:00 KST is H2 (in UTC both are still 30 June)."""
    assert period_of(at(2026, 6, 30, 23, 59)) == "2026-H1"
    assert period_of(at(2026, 7, 1, 0, 0)) == "2026-H2"


@pytest.mark.parametrize("period, label", [("quarter", "2026-Q3"), ("month", "2026-08"), ("year", "2026"), ("half-year", "2026-H2")])
def test_other_periods_label_the_moment(period, label):
    """Quarter, month and year periods, for 2026-08-15."""
    assert period_of(at(2026, 8, 15, 12), period) == label


def test_unknown_period_is_refused():
    """Only the four period kinds exist."""
    with pytest.raises(ValueError):
        period_of(at(2026, 8, 15), "week")


@pytest.mark.parametrize("label, start, end", [
    ("2026-H1", kst(2026, 1, 1), kst(2026, 7, 1)),
    ("2026-H2", kst(2026, 7, 1), kst(2027, 1, 1)),
    ("2026-Q4", kst(2026, 10, 1), kst(2027, 1, 1)),
    ("2026-12", kst(2026, 12, 1), kst(2027, 1, 1)),
    ("2026", kst(2026, 1, 1), kst(2027, 1, 1)),
])
def test_period_bounds_for_report_labels(label, start, end):
    """``--period 2026-H1`` and friends give local [start, end)."""
    assert period_bounds(label) == (start, end)


@pytest.mark.parametrize("label", ["2026-H3", "2026-13", "26-H1", "H1"])
def test_bad_period_labels_are_refused(label):
    """A label that names no period is an error."""
    with pytest.raises(ValueError):
        period_bounds(label)


# --- the training list ------------------------------------------------------------------------

def test_two_warnings_do_not_put_anyone_on_the_list():
    """Below the threshold nobody is listed."""
    assert training_list([w("c1", at(2026, 3, 2, 10)), w("c2", at(2026, 3, 3, 10))]) == []


def test_third_warning_in_the_half_year_puts_the_employee_on_the_list():
    """The 3rd warning's time is when the employee reached the list."""
    ws = [w("c1", at(2026, 2, 2, 10)), w("c2", at(2026, 4, 1, 10), rule="answer_before_ring"), w("c3", at(2026, 6, 30, 17))]
    (entry,) = training_list(ws)
    assert (entry.employee, entry.period, entry.warnings, entry.reached_at) == ("Kim Agent", "2026-H1", 3, at(2026, 6, 30, 17))
    assert entry.call_ids == ("c1", "c2", "c3")


def test_warnings_do_not_carry_over_into_the_next_half_year():
    """Two in H1 and one in H2 are not three."""
    ws = [w("c1", at(2026, 5, 2, 10)), w("c2", at(2026, 6, 3, 10)), w("c3", at(2026, 7, 1, 9))]
    assert training_list(ws) == []


def test_same_rule_failing_twice_in_one_call_is_one_warning():
    """Re-counting a call (or two legs of one phone) does not add warnings."""
    ws = [w("c1", at(2026, 3, 2, 10)), w("c1", at(2026, 3, 2, 10)), w("c2", at(2026, 3, 3, 10))]
    assert training_list(ws) == []


def test_two_rules_failing_in_one_call_are_two_warnings():
    """Late answer and agent-first hang-up on the same call both count."""
    ws = [w("c1", at(2026, 3, 2, 10)), w("c1", at(2026, 3, 2, 10), rule="answer_before_ring"), w("c2", at(2026, 3, 3, 10))]
    assert [e.employee for e in training_list(ws)] == ["Kim Agent"]


def test_threshold_and_period_are_configurable():
    """Threshold 2 per quarter: two warnings in Q1 list the employee."""
    ws = [w("c1", at(2026, 1, 5, 10)), w("c2", at(2026, 3, 31, 10))]
    assert [e.period for e in training_list(ws, threshold=2, period="quarter")] == ["2026-Q1"]


def test_warnings_are_counted_per_employee():
    """Each employee has their own count; the list is in the order they reached it."""
    ws = [w(f"k{i}", at(2026, 3, 2 + i, 10)) for i in range(3)] + [w(f"l{i}", at(2026, 3, 1 + i, 9), "Lee Agent") for i in range(3)]
    assert [e.employee for e in training_list(ws)] == ["Lee Agent", "Kim Agent"]
    counts = {k: len(v) for k, v in warnings_by_period(ws).items()}
    assert counts == {("Kim Agent", "2026-H1"): 3, ("Lee Agent", "2026-H1"): 3}


# --- warnings from calls and callbacks --------------------------------------------------------

def test_queue_call_warns_the_agent_whose_phone_rang_out_not_the_one_who_answered():
    """d_queue_rna_then_answer: 2001 rang 8 s unanswered is a warning; 2002 answered in 4 s is not."""
    (t,) = truth("d_queue_rna_then_answer")
    ws = warnings_for_call(call_from_truth(t, "d1"), RuleSet(), DIRECTORY)
    assert [(x.employee, x.rule, x.call_id) for x in ws] == [("Kim Agent", "answer_before_ring", "d1")]


def test_late_answer_and_agent_first_hangup_are_two_warnings():
    """b_direct_late_agent_hangs_up: 2001 answered at ring 3 and hung up first."""
    (t,) = truth("b_direct_late_agent_hangs_up")
    ws = warnings_for_call(call_from_truth(t, "b1"), RuleSet(), DIRECTORY)
    assert sorted(x.rule for x in ws) == ["agent_hangs_up_last", "answer_before_ring"]
    assert {x.employee for x in ws} == {"Kim Agent"}
    assert ws[0].at == t["invite_at"]


def test_transferer_gets_no_hangup_warning():
    """After a transfer, an agent-first hang-up with no known channel warns nobody."""
    call = make_call(arrived_at=0.0, ring=2.0, hangup_by="agent", transferred=True,
                     legs=(staff_leg("2001", 0.0, answered_at=2.0), staff_leg("2002", 5.0, answered_at=7.0)))
    assert warnings_for_call(call, RuleSet(), DIRECTORY) == []


def test_extension_outside_the_directory_is_warned_by_extension():
    """An unknown phone is still accountable, under its extension."""
    call = make_call(called="2009", arrived_at=0.0, ring=1.0, hangup_by="agent",
                     legs=(staff_leg("2009", 0.0, answered_at=1.0),))
    assert [x.employee for x in warnings_for_call(call, RuleSet(), DIRECTORY)] == ["2009"]


def test_late_callback_warns_the_agent_who_took_the_memo():
    """A memo's obligation called back late counts against the memo's agent."""
    cb = Callback(key="+8221234567/memo@1", number="+8221234567", first_missed_at=0.0, due_at=100.0,
                  status="late", fulfilled_at=200.0, agent="2001")
    assert [(x.employee, x.rule) for x in warnings_for_callback(cb, 300.0, RuleSet(), DIRECTORY)] == [("Kim Agent", "callback_kept")]


def test_overdue_missed_call_without_an_owner_warns_nobody():
    """A plain missed call belongs to the team, not to one employee."""
    cb = Callback(key="k", number="+821012345678", first_missed_at=0.0, due_at=100.0, status="overdue")
    assert warnings_for_callback(cb, 300.0, RuleSet(), DIRECTORY) == []


def test_rule_warning_is_a_plain_tuple():
    """Warnings unpack as (employee, rule, call_id, at, reason)."""
    employee, rule, call_id, when, reason = RuleWarning("Kim Agent", HANGUP, "c1", 1.0)
    assert (employee, rule, call_id, when, reason) == ("Kim Agent", HANGUP, "c1", 1.0, "")
