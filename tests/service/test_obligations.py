"""Callback obligations kept up to date write by write: the same as deriving everything at once,
whatever the order of the writes, and each write reads back only what it can change."""

from __future__ import annotations

import random

import pytest

from callmon.core.config import Config
from callmon.metrics.callbacks import derive_callbacks
from callmon.core.model import Call
from callmon.service.pipeline import Pipeline
from callmon.storage import Store
from callmon.storage.callbacks import callback_from_row
from tests.metrics.conftest import at

START = at(2026, 11, 23, 8)


def synthetic_calls(n: int, numbers: int, seed: int) -> list[Call]:
    """Misses, callbacks (answered or not), answered calls and incomplete calls of a few numbers."""
    rng = random.Random(seed)
    calls = []
    for i in range(n):
        t = START + i * 1800 + rng.random() * 600
        number = f"0101000{rng.randrange(numbers):04d}"
        kind = rng.random()
        if kind < 0.3:
            calls.append(Call("default", f"m{i}", "inbound", number, "2001", t, "abandoned", ended_at=t + 20))
        elif kind < 0.5:
            answered = rng.random() < 0.6
            calls.append(Call("default", f"o{i}", "outbound", "2001", number, t, "answered" if answered else "no_answer",
                              first_ring_at=t, answered_at=t + 4 if answered else None, ended_at=t + 60,
                              answered_by=number if answered else None))
        elif kind < 0.95:
            calls.append(Call("default", f"a{i}", "inbound", number, "1000", t, "answered", first_ring_at=t + 1,
                              answered_at=t + 3, answered_by="2002", ended_at=t + 90, hangup_by="customer"))
        else:
            calls.append(Call("default", f"x{i}", "inbound", number, "1000", t, "abandoned", incomplete=True))
    return calls


def stored(store: Store) -> list[tuple]:
    with store.begin() as conn:
        rows = store.stored_callbacks(conn, "default")
    return sorted((cb.key, cb.status, cb.missed_call_ids, cb.attempt_call_ids, cb.fulfilled_by_call_id, cb.due_at)
                  for cb in map(callback_from_row, rows))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_writes_in_any_order_give_what_one_derivation_gives(seed):
    """120 calls of 6 numbers written in 12 shuffled batches, some written twice: the stored
    obligations are those of deriving all the (complete) calls at once."""
    calls = synthetic_calls(120, 6, seed)
    pipeline = Pipeline(Store("sqlite://"), Config())
    batches = [calls[i:i + 10] for i in range(0, len(calls), 10)]
    random.Random(seed).shuffle(batches)
    for batch in batches + batches[:3]:
        with pipeline.store.begin() as conn:
            pipeline.write(conn, batch)
    whole = derive_callbacks([c for c in calls if not c.incomplete], float("inf"), pipeline.ruleset.policy)
    want = sorted((cb.key, "open" if cb.status == "overdue" else cb.status, cb.missed_call_ids, cb.attempt_call_ids,
                   cb.fulfilled_by_call_id, cb.due_at) for cb in whole)
    assert stored(pipeline.store) == want
    ids = stored(pipeline.store)
    pipeline.rebuild()  # from the (empty) journal: no calls, so no obligations
    assert stored(pipeline.store) == [] and ids


def test_a_write_reads_back_only_what_it_can_change(monkeypatch):
    """A number that missed and was called back 40 times: the 41st write reads its own calls, not
    the history; a number with only answered calls is not derived at all."""
    pipeline = Pipeline(Store("sqlite://"), Config())
    day = 86400
    for k in range(41):
        t = START + k * day
        batch = [Call("default", f"m{k}", "inbound", "01012345678", "2001", t, "abandoned", ended_at=t + 20),
                 Call("default", f"o{k}", "outbound", "2001", "01012345678", t + 3600, "answered", first_ring_at=t + 3600,
                      answered_at=t + 3604, answered_by="01012345678", ended_at=t + 3700),
                 Call("default", f"a{k}", "inbound", "01099998888", "1000", t, "answered", first_ring_at=t,
                      answered_at=t + 2, answered_by="2002", ended_at=t + 60)]
        if k == 40:
            read, derived = [], []
            original = Store.calls_of_numbers
            monkeypatch.setattr(Store, "calls_of_numbers",
                                lambda self, *a, **kw: read.extend(original(self, *a, **kw)) or read)
            import callmon.service.obligations as obligations

            monkeypatch.setattr(obligations, "derive_callbacks",
                                lambda calls, *a, _f=obligations.derive_callbacks, **kw: derived.extend(calls) or _f(calls, *a, **kw))
        with pipeline.store.begin() as conn:
            pipeline.write(conn, batch)
    assert sorted(c.call_id for _, c in read) == ["m40", "o40"]
    assert sorted(c.call_id for c in derived) == ["m40", "o40"]
    statuses = [s for _, s, *_ in stored(pipeline.store)]
    assert statuses == ["met"] * 41


def _with_memos_cancellations_and_a_stale_obligation(seed: int) -> Pipeline:
    """Synthetic calls of 40 numbers, a memo of a number with no call and one of a number with
    calls, a cancelled obligation, and the calls of one number gone (as ``rebuild`` leaves an
    obligation whose calls it has not derived again)."""
    pipeline = Pipeline(Store("sqlite://"), Config())
    calls = synthetic_calls(300, 40, seed)
    with pipeline.store.begin() as conn:
        pipeline.write(conn, calls)
    pipeline.obligations.add_memo("010-7777-0000", START + 3600, name="memo only", agent="2001")
    pipeline.obligations.add_memo(calls[0].caller, START + 7200, purpose="again")
    with pipeline.store.begin() as conn:
        rows = pipeline.store.stored_callbacks(conn, "default")
    open_ = [r for r in rows if r["status"] == "open"]
    pipeline.obligations.cancel(open_[0]["callback_id"], "called in person", open_[0]["first_missed_at"] + 60)
    with pipeline.store.begin() as conn:
        memos = pipeline.store.memo_numbers(conn, "default")
        gone = next(r["number"] for r in rows if r["number"] != open_[0]["number"] and r["number"] not in memos)
        conn.exec_driver_sql("DELETE FROM calls WHERE customer_number = ?", (gone,))
    return pipeline


def _callbacks_and_links(store: Store) -> tuple[list[tuple], list[tuple]]:
    with store.begin() as conn:
        callbacks = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM callbacks ORDER BY callback_id")]
        links = [tuple(r) for r in conn.exec_driver_sql("SELECT call_id, callback_id FROM calls ORDER BY call_id")]
    return callbacks, links


@pytest.mark.parametrize("seed", [1, 2])
def test_every_number_chunk_by_chunk_gives_what_one_chunk_gives(seed):
    """``rebuild`` derives every number's obligations again a chunk of numbers at a time (the
    calls of every missed number at once outgrow the memory of a large database): the same
    obligations, ids, cancellations, memos and links of calls as every number in one chunk. The callback
    promise is shortened meanwhile, so every number's obligations change: a number a chunk
    missed would keep its old due time."""
    whole, chunked = (_with_memos_cancellations_and_a_stale_obligation(seed) for _ in range(2))
    before, _ = _callbacks_and_links(whole.store)
    shorter = Config(callback_hours=4.0)
    for pipeline, chunk in ((whole, 10**6), (chunked, 3)):  # one chunk, and many
        with pipeline.store.begin() as conn:
            Pipeline(pipeline.store, shorter).obligations.refresh_all(conn, chunk=chunk)
    after = _callbacks_and_links(whole.store)
    assert _callbacks_and_links(chunked.store) == after
    callbacks, _ = after
    unchanged = {r[3] for r in set(before) & set(callbacks)}  # number
    assert len({r[3] for r in before}) > 10 and not unchanged
    assert len(callbacks) < len(before)  # the obligations of the number whose calls went
    assert any(r[3] == "+821077770000" for r in callbacks)  # the memo's own obligation stayed
    assert any(r[17] == "called in person" for r in callbacks)  # cancel_reason


@pytest.mark.parametrize("seed", [1, 2])
def test_every_number_again_opens_a_lone_miss_as_deriving_its_number_does(seed):
    """``refresh_all`` opens the obligation of a number whose only input is one missed call at
    once (SQLite finds those calls by one query): the same obligations, ids and links of calls as
    deriving every number, beside numbers with memos, cancellations and many calls."""
    fast, derived = (_with_memos_cancellations_and_a_stale_obligation(seed) for _ in range(2))
    for pipeline in (fast, derived):  # lone misses: 12 numbers of one abandoned call each, an answered one
        lone = [Call("default", f"lone{k}", "inbound", f"0105555{k:04d}", "2001", START + 600 * k, "abandoned",
                     ended_at=START + 600 * k + 20) for k in range(12)]
        lone.append(Call("default", "lone-answered", "inbound", "01066660000", "2001", START, "answered",
                         first_ring_at=START, answered_at=START + 3, answered_by="2001", ended_at=START + 60))
        with pipeline.store.begin() as conn:
            pipeline.write(conn, lone)
    shorter = Config(callback_hours=4.0)  # every due time changes: a number left out would keep its old one
    with fast.store.begin() as conn:
        Pipeline(fast.store, shorter).obligations.refresh_all(conn)
    with derived.store.begin() as conn:
        store, obligations = derived.store, Pipeline(derived.store, shorter).obligations
        numbers = (store.callback_numbers(conn, "default") | store.memo_numbers(conn, "default")
                   | store.numbers_with_unanswered(conn, "default", None))
        obligations.refresh(conn, dict.fromkeys(numbers, float("-inf")))
    callbacks, links = _callbacks_and_links(fast.store)
    assert (callbacks, links) == _callbacks_and_links(derived.store)
    assert sum(r[3].startswith("+82105555") for r in callbacks) == 12  # number
    assert sum(c.startswith("lone") and i is not None for c, i in links) == 12
