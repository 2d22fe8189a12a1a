"""Callback obligations from missed calls, memos and cancellations, as of a frozen "now".

The story: 010-1234-5678 calls Wed 2026-11-18 15:00 and nobody answers; by DESIGN.md's first
example the callback is due Thu 2026-11-19 15:00. Kim Agent (2001) tries Thu 10:00 (no answer),
then gets through Thu 14:00 (met) or Thu 16:00 (late).
"""

from __future__ import annotations


import pytest

from callmon.core.config import Employee
from callmon.core.errors import ConfigError
from callmon.metrics.callbacks import Callback, CallbackPolicy, Cancellation, Memo, derive_callbacks
from tests.metrics.conftest import at, make_call

DIRECTORY = {"2001": Employee("2001", "Kim Agent", "민원팀")}
MISSED_AT = at(2026, 11, 18, 15)
DUE = at(2026, 11, 19, 15)


def miss(call_id="m1", when=MISSED_AT, caller="010-1234-5678", outcome="abandoned"):
    return make_call(call_id, caller=caller, arrived_at=when, outcome=outcome, ended_at=when + 20)


def dial_out(call_id, when, number="01012345678", answered=True, extension="2001"):
    return make_call(call_id, direction="outbound", caller=extension, called=number, arrived_at=when,
                     outcome="answered" if answered else "no_answer", ring=5.0 if answered else None,
                     ended_at=when + 60)


ATTEMPT = dial_out("o1", at(2026, 11, 19, 10), answered=False)


def only(callbacks: list[Callback]) -> Callback:
    assert len(callbacks) == 1, callbacks
    return callbacks[0]


def test_missed_call_opens_an_obligation_due_one_working_day_later():
    """Right after the miss: open, due Thu 15:00, the number in E.164, the missed call listed."""
    cb = only(derive_callbacks([miss()], now=at(2026, 11, 18, 16)))
    assert (cb.status, cb.number, cb.missed_call_ids) == ("open", "+821012345678", ("m1",))
    assert (cb.first_missed_at, cb.due_at) == (MISSED_AT, DUE)
    assert cb.key == "+821012345678/m1"
    assert cb.callback_id is None


def test_failed_callback_attempt_does_not_meet_it():
    """An unanswered outbound call is recorded as an attempt; the obligation stays open."""
    cb = only(derive_callbacks([miss(), ATTEMPT], now=at(2026, 11, 19, 10, 30)))
    assert (cb.status, cb.attempt_call_ids, cb.fulfilled_at) == ("open", ("o1",), None)


def test_answered_callback_in_time_meets_it():
    """Miss, failed attempt, answered callback at Thu 14:00: met, by that call and agent."""
    answered = dial_out("o2", at(2026, 11, 19, 14))
    cb = only(derive_callbacks([miss(), ATTEMPT, answered], now=at(2026, 11, 19, 14, 30), agent_of=DIRECTORY))
    assert cb.status == "met"
    assert (cb.fulfilled_at, cb.fulfilled_by_call_id, cb.fulfilled_by_agent) == (at(2026, 11, 19, 14, 0, 5), "o2", "Kim Agent")
    assert cb.attempt_call_ids == ("o1",)


def test_unanswered_past_due_is_overdue():
    """At Thu 15:30 with only the failed attempt: overdue."""
    cb = only(derive_callbacks([miss(), ATTEMPT], now=at(2026, 11, 19, 15, 30)))
    assert cb.status == "overdue"


def test_callback_after_the_due_time_is_late():
    """Answered callback Thu 16:00, after the 15:00 due time: late."""
    answered = dial_out("o2", at(2026, 11, 19, 16))
    cb = only(derive_callbacks([miss(), ATTEMPT, answered], now=at(2026, 11, 20, 9)))
    assert (cb.status, cb.fulfilled_by_call_id, cb.fulfilled_by_agent) == ("late", "o2", "2001")


def test_events_after_now_are_not_seen():
    """Asked as of Thu 11:00, the Thu 14:00 callback has not happened yet."""
    answered = dial_out("o2", at(2026, 11, 19, 14))
    cb = only(derive_callbacks([miss(), ATTEMPT, answered], now=at(2026, 11, 19, 11)))
    assert (cb.status, cb.fulfilled_at) == ("open", None)


def test_several_misses_from_one_number_are_one_obligation_due_after_the_first():
    """A second miss (dialled another way) joins the open obligation; the due time stays."""
    second = miss("m2", at(2026, 11, 19, 9, 30), caller="+82 10 1234 5678")
    cb = only(derive_callbacks([miss(), second], now=at(2026, 11, 19, 10)))
    assert (cb.missed_call_ids, cb.due_at) == (("m1", "m2"), DUE)


def test_a_miss_after_the_callback_opens_a_new_obligation():
    """One obligation per number until met; then a new miss starts another."""
    calls = [miss(), dial_out("o2", at(2026, 11, 19, 14)), miss("m3", at(2026, 11, 19, 17))]
    first, second = derive_callbacks(calls, now=at(2026, 11, 19, 17, 30))
    assert (first.status, second.status, second.missed_call_ids) == ("met", "open", ("m3",))
    assert second.due_at == at(2026, 11, 20, 17)


def test_calls_are_taken_in_time_order_whatever_the_input_order():
    """The answered callback listed before the miss still meets it."""
    cb = only(derive_callbacks([dial_out("o2", at(2026, 11, 19, 14)), miss()], now=at(2026, 11, 20, 9)))
    assert cb.status == "met"


def test_callback_before_the_miss_does_not_meet_it():
    """An earlier outbound call to the number is not a callback."""
    cb = only(derive_callbacks([dial_out("o0", at(2026, 11, 18, 10)), miss()], now=at(2026, 11, 18, 16)))
    assert cb.status == "open"


def test_customer_who_calls_again_and_gets_through_resolves_it():
    """The caller rings back Thu 09:10 and is answered: resolved_by_customer."""
    again = make_call("i2", caller="01012345678", arrived_at=at(2026, 11, 19, 9, 10), ring=2.0)
    cb = only(derive_callbacks([miss(), again], now=at(2026, 11, 19, 12), agent_of=DIRECTORY))
    assert (cb.status, cb.fulfilled_by_call_id, cb.fulfilled_by_agent) == ("resolved_by_customer", "i2", "Kim Agent")


def test_customer_answered_in_a_queue_known_from_cdr_alone_resolves_it():
    """A queue call from Master.csv alone is answered without a staff answer time: the customer
    still got through (on arrival, as far as the file tells), which resolves the obligation."""
    again = make_call("i2", caller="01012345678", arrived_at=at(2026, 11, 19, 9, 10), answered_by="2001")
    assert again.answered_at is None
    cb = only(derive_callbacks([miss(), again], now=at(2026, 11, 19, 12), agent_of=DIRECTORY))
    assert (cb.status, cb.fulfilled_at, cb.fulfilled_by_call_id) == ("resolved_by_customer", again.arrived_at, "i2")


def test_callback_answered_without_a_known_answer_time_meets_it():
    """An outbound call the file calls answered, without the moment: a callback, not an attempt."""
    back = make_call("o1", direction="outbound", caller="2001", called="01012345678",
                     arrived_at=at(2026, 11, 19, 10), outcome="answered", ended_at=at(2026, 11, 19, 10) + 60)
    assert back.answered_at is None
    cb = only(derive_callbacks([miss(), back], now=at(2026, 11, 19, 12)))
    assert (cb.status, cb.fulfilled_by_call_id) == ("met", "o1")


def test_calls_at_one_instant_resolve_it_the_same_whatever_their_order():
    """Master.csv has whole seconds: two answered calls of the number at one instant. Which one
    resolves the obligation must not depend on the order the database returns them in."""
    when = at(2026, 11, 19, 9, 10)
    a = make_call("1795000502.3178", caller="01012345678", arrived_at=when, ring=2.0)
    b = make_call("1795000502.3183", caller="01012345678", arrived_at=when, ring=2.0)
    got = {only(derive_callbacks([miss(), *pair], now=at(2026, 11, 19, 12))).fulfilled_by_call_id for pair in ((a, b), (b, a))}
    assert got == {"1795000502.3178"}


def test_answered_call_from_another_number_resolves_nothing():
    """Only the same number counts."""
    other = make_call("i2", caller="01099998888", arrived_at=at(2026, 11, 19, 9, 10), ring=2.0)
    assert only(derive_callbacks([miss(), other], now=at(2026, 11, 19, 12))).status == "open"


@pytest.mark.parametrize("outcome", ["abandoned", "no_answer", "busy", "failed", "voicemail"])
def test_every_kind_of_missed_inbound_call_opens_one(outcome):
    """Abandoned, no answer, busy, failed and voicemail are all misses."""
    assert only(derive_callbacks([miss(outcome=outcome)], now=MISSED_AT + 60)).status == "open"


@pytest.mark.parametrize("call", [
    make_call("x1", arrived_at=MISSED_AT, ring=2.0),                                           # answered
    make_call("x2", direction="internal", caller="2002", arrived_at=MISSED_AT, outcome="no_answer"),
    make_call("x3", direction="outbound", caller="2001", called="01012345678", arrived_at=MISSED_AT, outcome="no_answer"),
    make_call("x4", caller="anonymous", arrived_at=MISSED_AT, outcome="abandoned"),            # no number to call
    make_call("x5", caller="2002", arrived_at=MISSED_AT, outcome="abandoned"),                 # an extension
])
def test_calls_that_open_no_obligation(call):
    """Answered, internal, outbound, anonymous and extension calls owe no callback."""
    assert derive_callbacks([call], now=MISSED_AT + 60) == []


def test_memo_opens_an_obligation_with_name_purpose_and_agent():
    """A memo at Wed 11:00 is due Thu 11:00 (DESIGN.md's third example) and keeps its details."""
    memo = Memo(number="02-123-4567", at=at(2026, 11, 18, 11), name="Hong Gildong", purpose="permit status", agent="2001")
    cb = only(derive_callbacks([], now=at(2026, 11, 18, 12), memos=[memo]))
    assert (cb.status, cb.number, cb.due_at, cb.missed_call_ids) == ("open", "+8221234567", at(2026, 11, 19, 11), ())
    assert (cb.name, cb.purpose, cb.agent) == ("Hong Gildong", "permit status", "2001")


def test_memo_overdue_then_late_once_called_back():
    """The memo's obligation is overdue at Thu 11:30 and late once called back Thu 13:00."""
    memo = Memo(number="02-123-4567", at=at(2026, 11, 18, 11), name="Hong Gildong", purpose="permit status", agent="2001")
    assert only(derive_callbacks([], now=at(2026, 11, 19, 11, 30), memos=[memo])).status == "overdue"
    callback = dial_out("o9", at(2026, 11, 19, 13), number="021234567")
    assert only(derive_callbacks([callback], now=at(2026, 11, 19, 14), memos=[memo])).status == "late"


def test_memo_for_a_number_already_missed_joins_that_obligation():
    """The agent notes the name and purpose of a caller whose call was missed: still one obligation."""
    memo = Memo(number="+82 10 1234 5678", at=at(2026, 11, 18, 15, 5), name="Hong Gildong", purpose="refund")
    cb = only(derive_callbacks([miss()], now=at(2026, 11, 18, 16), memos=[memo]))
    assert (cb.missed_call_ids, cb.name, cb.purpose, cb.due_at) == (("m1",), "Hong Gildong", "refund", DUE)


def test_cancellation_by_key_closes_it_with_the_reason():
    """Cancelled with a reason; a later callback does not reopen it."""
    cancel = Cancellation(key="+821012345678/m1", reason="wrong number", at=at(2026, 11, 18, 17))
    calls = [miss(), dial_out("o2", at(2026, 11, 19, 14))]
    cb = only(derive_callbacks(calls, now=at(2026, 11, 20, 9), cancellations=[cancel]))
    assert (cb.status, cb.cancel_reason, cb.cancelled_at, cb.fulfilled_at) == ("cancelled", "wrong number", cancel.at, None)


def test_cancellation_by_number_closes_the_open_one():
    """A number, however written, cancels the obligation open for it."""
    cancel = Cancellation(key="010-1234-5678", reason="handled by e-mail", at=at(2026, 11, 18, 17))
    assert only(derive_callbacks([miss()], now=at(2026, 11, 20, 9), cancellations=[cancel])).status == "cancelled"


def test_cancellation_of_nothing_open_is_ignored():
    """A cancellation that matches no open obligation changes nothing."""
    cancel = Cancellation(key="+821099998888", reason="typo", at=at(2026, 11, 18, 17))
    assert only(derive_callbacks([miss()], now=at(2026, 11, 18, 18), cancellations=[cancel])).status == "open"


def test_friday_evening_miss_under_the_clock_rule():
    """Clock rule: a miss Fri 19:00 is due Mon 19:00 (5 h Friday, 19 h Monday)."""
    policy = CallbackPolicy(rule="clock_hours")
    cb = only(derive_callbacks([miss(when=at(2026, 11, 20, 19))], now=at(2026, 11, 23, 18), policy=policy))
    assert (cb.due_at, cb.status) == (at(2026, 11, 23, 19), "open")


def test_miss_before_chuseok_is_due_after_it():
    """A miss Wed 2026-09-23 15:00 is due Mon 2026-09-28 15:00; checked Sat it is still open."""
    cb = only(derive_callbacks([miss(when=at(2026, 9, 23, 15))], now=at(2026, 9, 26, 12)))
    assert (cb.due_at, cb.status) == (at(2026, 9, 28, 15), "open")


def test_policy_refuses_an_unknown_rule():
    """A misspelt rule is a configuration error, raised when the policy is built."""
    with pytest.raises(ConfigError):
        CallbackPolicy(rule="working_days")
