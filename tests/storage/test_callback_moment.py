"""The SQL evaluation of :func:`~callmon.service.obligations.callback_moment` (the store's
``numbers_called_since``, which a large import's obligations start from) places every kind of call
where the Python definition does: inbound or outbound, answered or not, with or without an end;
on SQLite and on PostgreSQL (the same SQL, without SQLite's index hints)."""

from __future__ import annotations

import itertools

from callmon.metrics.rules import RuleSet
from callmon.metrics.scoring import Scorer
from callmon.service.obligations import callback_moment
from callmon.storage import Store
from tests.metrics.conftest import at, make_call

T0 = at(2026, 11, 23, 10)


def test_the_sql_callback_moment_is_the_python_definition(db_url):
    """Each number has one call of each shape (direction x answer x end) and a later plain call; the
    number's earliest moment, read in SQL, is the shape's callback_moment."""
    store = Store(db_url)
    scorer = Scorer(RuleSet(), {})
    shapes = list(itertools.product(("inbound", "outbound"), (None, 7.0), (None, 60.0)))
    calls, expected = [], {}
    for i, (direction, answer, end) in enumerate(shapes):
        number = f"0105555{i:04d}"
        caller, called = (number, "2001") if direction == "inbound" else ("2001", number)
        start = T0 + 3600 * i
        shape = make_call(f"s{i}", direction=direction, caller=caller, called=called, arrived_at=start,
                          outcome="answered" if answer else "abandoned",
                          answered_at=None if answer is None else start + answer,
                          ended_at=None if end is None else start + end)
        later = make_call(f"l{i}", direction=direction, caller=caller, called=called, arrived_at=start + 600,
                          outcome="abandoned", ended_at=start + 630)
        scored = [scorer(shape), scorer(later)]
        calls += scored
        expected[scored[0].customer_number] = callback_moment(shape)
    with store.begin() as conn:
        store.replace_calls(conn, "default", calls, replace=False)
        got = dict(store.numbers_called_since(conn, "default", 0))
    assert got == expected


def test_a_single_miss_is_read_with_the_python_callback_moment(db_url):
    """``single_misses_since`` gives each unanswered inbound call of a number with one call, its
    moment computed in SQL as :func:`callback_moment` computes it (with or without an arrival or
    an end; a voicemail with an answer time too); answered and outbound calls are not read."""
    store = Store(db_url)
    scorer = Scorer(RuleSet(), {})
    kinds = list(itertools.product(("abandoned", "voicemail", "answered"), (None, T0), (None, 5.0), (None, 60.0)))
    calls, expected = [], {}
    for i, (outcome, arrived, answer, end) in enumerate(kinds):
        number = f"0106666{i:04d}"
        call = make_call(f"m{i}", direction="inbound", caller=number, called="2001", arrived_at=arrived,
                         outcome=outcome, answered_at=None if answer is None or arrived is None else arrived + answer,
                         ended_at=None if end is None or arrived is None else arrived + end)
        calls.append(scorer(call))
        if outcome != "answered":
            expected[call.call_id] = (calls[-1].customer_number, callback_moment(call))
    calls.append(scorer(make_call("out", direction="outbound", caller="2001", called="01077770000", arrived_at=T0,
                                  outcome="abandoned")))
    with store.begin() as conn:
        store.replace_calls(conn, "default", calls, replace=False)
        got = {m.call_id: (m.number, m.moment) for part in store.single_misses_since(conn, "default", 0) for m in part}
    assert got == expected
    assert {m for m, _ in expected.values()} and any(m is None for _, m in expected.values())
