"""Callback obligations in the store: memos and cancellations (people's input, kept), the
derived ``callbacks`` table, and the calls the derivation reads back.

The derivation itself is pure (:func:`callmon.metrics.callbacks.derive_callbacks`); what to
re-derive and when is :mod:`callmon.service.obligations`. This module only maps rows to records.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from callmon.metrics.callbacks import MISSED_OUTCOMES, Callback, Cancellation, Memo
from callmon.core.model import Call
from callmon.storage.jsontext import json_list
from callmon.storage.lists import one_of
from callmon.storage.schema import calls, callbacks, cancellations, memos

CHUNK = 500
# what the derivation needs of a call
_CALL_COLUMNS = (calls.c.pbx, calls.c.call_id, calls.c.direction, calls.c.caller, calls.c.called, calls.c.arrived_at,
                 calls.c.outcome, calls.c.answered_at, calls.c.ended_at, calls.c.answered_by, calls.c.incomplete)


def call_from_row(row: Any) -> Call:
    """A stored call as the domain record the callback derivation reads (no legs)."""
    return Call(row.pbx, row.call_id, row.direction, row.caller, row.called, row.arrived_at, row.outcome,
                answered_at=row.answered_at, ended_at=row.ended_at, answered_by=row.answered_by,
                incomplete=bool(row.incomplete))


def callback_row(pbx: str, cb: Callback, agent: str | None, team: str | None) -> dict[str, Any]:
    """The ``callbacks`` row of an obligation; an unmet one is stored as ``open`` (see schema)."""
    return {
        "pbx": pbx, "key": cb.key, "number": cb.number, "missed_call_ids": json_list(*cb.missed_call_ids),
        "attempt_call_ids": json_list(*cb.attempt_call_ids), "first_missed_at": cb.first_missed_at,
        "due_at": cb.due_at, "status": "open" if cb.status == "overdue" else cb.status,
        "fulfilled_at": cb.fulfilled_at, "fulfilled_by_call_id": cb.fulfilled_by_call_id,
        "fulfilled_by_agent": cb.fulfilled_by_agent, "name": cb.name, "purpose": cb.purpose,
        "memo_agent": cb.agent, "agent": agent, "team": team, "cancel_reason": cb.cancel_reason,
        "cancelled_at": cb.cancelled_at,
        "closed_at": cb.fulfilled_at if cb.fulfilled_at is not None else cb.cancelled_at,
    }


def callback_from_row(row: Mapping[str, Any]) -> Callback:
    return Callback(
        key=row["key"], number=row["number"], first_missed_at=row["first_missed_at"], due_at=row["due_at"],
        status=row["status"], missed_call_ids=tuple(json.loads(row["missed_call_ids"])),
        attempt_call_ids=tuple(json.loads(row["attempt_call_ids"])), fulfilled_at=row["fulfilled_at"],
        fulfilled_by_call_id=row["fulfilled_by_call_id"], fulfilled_by_agent=row["fulfilled_by_agent"],
        name=row["name"], purpose=row["purpose"], agent=row["memo_agent"], cancel_reason=row["cancel_reason"],
        cancelled_at=row["cancelled_at"], callback_id=row["callback_id"],
    )


def _run(conn: Connection, pieces: list, column, numbers: Collection[str] | None) -> Iterable[Any]:
    """The rows of each query in ``pieces``, for these numbers of ``column`` (all when None)."""
    if numbers is not None and not numbers:
        return
    for piece in pieces:
        yield from conn.execute(piece if numbers is None else piece.where(one_of(column, numbers)))


def _by_number(conn: Connection, base, numbers: Collection[str] | None, ended_since: float) -> Iterable[Any]:
    """Rows of ``base`` (a select on calls) for these customer numbers (all when None) that ended at
    or after ``ended_since`` or have not ended. Run as two ranges of ix_calls_customer (pbx,
    customer_number, ended_at): an OR of the two would read every call of the number, and a
    number that calls every day would make each write slower than the last.

    Given numbers, no ``customer_number IS NOT NULL`` (the list implies it): with it, SQLite may
    read the index as one range of every number (``customer_number > NULL``) and test each
    entry against the list, as it did once ``ix_calls_customer`` was built after a large load
    (last in the schema): 10M calls, 3-4 s a query instead of 0.2 s."""
    if numbers is None:
        base = base.where(calls.c.customer_number.is_not(None))
    pieces = [base]
    if ended_since > float("-inf"):
        pieces = [base.where(calls.c.ended_at >= ended_since), base.where(calls.c.ended_at.is_(None))]
    return _run(conn, pieces, calls.c.customer_number, numbers)


class CallbackQueries:
    """Store mixin: memos, cancellations, derived callbacks and the calls they come from."""

    # -- inputs of the derivation ------------------------------------------------------------
    def calls_of_numbers(self, conn: Connection, pbx: str, numbers: Collection[str] | None,
                         ended_since: float = float("-inf")) -> list[tuple[str, Call]]:
        """(number, call) of the calls with these outside numbers (all when None) still going on
        or ended at or after ``ended_since`` (a superset of those placed after it)."""
        base = select(calls.c.customer_number, *_CALL_COLUMNS).where(calls.c.pbx == pbx)
        return [(r.customer_number, call_from_row(r)) for r in _by_number(conn, base, numbers, ended_since)]

    def numbers_with_unanswered(self, conn: Connection, pbx: str, numbers: Collection[str] | None,
                                ended_since: float = float("-inf")) -> set[str]:
        """Of these numbers (all when None), those with a missed inbound call (an outcome of
        ``MISSED_OUTCOMES``) still going on or ended at or after ``ended_since``: the only calls
        that can open an obligation. (The SQL narrowing of :func:`~callmon.metrics.callbacks.miss_of`,
        the one definition, which the obligations then apply to the calls read back.)"""
        base = select(calls.c.customer_number).where(
            calls.c.pbx == pbx, calls.c.direction == "inbound", calls.c.outcome.in_(MISSED_OUTCOMES)).distinct()
        return {r.customer_number for r in _by_number(conn, base, numbers, ended_since)}

    def calls_by_id(self, conn: Connection, pbx: str, call_ids: Collection[str]) -> list[tuple[str | None, Call]]:
        """(number, call) of stored calls by call_id (the versions a write is about to replace)."""
        if not call_ids:
            return []
        q = select(calls.c.customer_number, *_CALL_COLUMNS).where(calls.c.pbx == pbx, one_of(calls.c.call_id, call_ids))
        return [(r.customer_number, call_from_row(r)) for r in conn.execute(q)]

    def callback_calls(self, conn: Connection, pbx: str, until: float,
                       numbers: Collection[str] | None = None) -> list[Call]:
        """The calls that take part in an obligation (they carry a callback_id), arrived by ``until``
        (``numbers``: of these numbers' obligations only)."""
        # ``callback_id >= 1`` (ids count from 1), not ``IS NOT NULL``: a range of ix_calls_callback,
        # where SQLite took ``IS NOT NULL OR ...`` for two ranges of ix_calls_arrived, every call up to
        # ``until`` (measured on 1M calls: 0.98 s against 0.09 s)
        q = select(*_CALL_COLUMNS).where(
            calls.c.pbx == pbx, calls.c.callback_id >= 1,
            or_(calls.c.arrived_at <= until, calls.c.arrived_at.is_(None)),
        )
        if numbers is not None:
            q = q.where(calls.c.callback_id.in_(
                select(callbacks.c.callback_id).where(callbacks.c.pbx == pbx, one_of(callbacks.c.number, numbers))))
        return [call_from_row(r) for r in conn.execute(q)]

    def memos_of(self, conn: Connection, pbx: str, numbers: Collection[str] | None = None,
                 since: float = float("-inf"), until: float = float("inf")) -> list[Memo]:
        return [Memo(r.number, r.at, r.name, r.purpose, r.agent)
                for r in self._inputs(conn, memos, pbx, numbers, since, until)]

    def cancellations_of(self, conn: Connection, pbx: str, numbers: Collection[str] | None = None,
                         since: float = float("-inf"), until: float = float("inf")) -> list[tuple[str, Cancellation]]:
        """(number, cancellation) pairs."""
        return [(r.number, Cancellation(r.callback_key, r.reason, r.at))
                for r in self._inputs(conn, cancellations, pbx, numbers, since, until)]

    def _inputs(self, conn, table, pbx, numbers, since, until) -> list[Any]:
        q = select(table).where(table.c.pbx == pbx)
        if since > float("-inf"):
            q = q.where(table.c.at >= since)
        if until < float("inf"):
            q = q.where(table.c.at <= until)
        return list(_run(conn, [q.order_by(table.c.at, table.c.id)], table.c.number, numbers))

    def add_memo(self, conn: Connection, pbx: str, memo: Memo, dialled: str) -> None:
        conn.execute(insert(memos), {"pbx": pbx, "number": memo.number, "dialled": dialled, "name": memo.name,
                                     "purpose": memo.purpose, "agent": memo.agent, "at": memo.at,
                                     "created_at": time.time()})

    def add_cancellation(self, conn: Connection, pbx: str, number: str, cancellation: Cancellation,
                         by: str | None) -> None:
        conn.execute(insert(cancellations), {
            "pbx": pbx, "callback_key": cancellation.key, "number": number, "reason": cancellation.reason,
            "at": cancellation.at, "by": by, "created_at": time.time(),
        })

    # -- the derived table ---------------------------------------------------------------------
    def stored_callbacks(self, conn: Connection, pbx: str, numbers: Collection[str] | None = None,
                         since: float = float("-inf")) -> list[dict[str, Any]]:
        """Stored obligations (all, or of these numbers; ``since``: only those still open or closed
        at or after it) as row dicts, oldest first. Two ranges of ix_callbacks_closed."""
        base = select(callbacks).where(callbacks.c.pbx == pbx)
        pieces = [base]
        if since > float("-inf"):
            pieces = [base.where(callbacks.c.closed_at.is_(None)), base.where(callbacks.c.closed_at >= since)]
        rows = _run(conn, pieces, callbacks.c.number, numbers)
        return sorted((dict(r._mapping) for r in rows), key=lambda r: (r["first_missed_at"], r["key"]))

    def callback_ids(self, conn: Connection, pbx: str, numbers: Collection[str] | None = None) -> dict[str, int]:
        """key -> callback_id of the stored obligations (``numbers``: of these numbers only)."""
        q = select(callbacks.c.key, callbacks.c.callback_id).where(callbacks.c.pbx == pbx)
        if numbers is not None:
            q = q.where(one_of(callbacks.c.number, numbers))
        return dict(conn.execute(q).all())

    def callback_by_id(self, conn: Connection, pbx: str, callback_id: int) -> dict[str, Any] | None:
        q = select(callbacks).where(callbacks.c.pbx == pbx, callbacks.c.callback_id == callback_id)
        row = conn.execute(q).first()
        return dict(row._mapping) if row else None

    def memo_numbers(self, conn: Connection, pbx: str) -> set[str]:
        return set(conn.execute(select(memos.c.number).where(memos.c.pbx == pbx).distinct()).scalars())

    def callback_numbers(self, conn: Connection, pbx: str) -> set[str]:
        return set(conn.execute(select(callbacks.c.number).where(callbacks.c.pbx == pbx).distinct()).scalars())

    def numbers_with_history(self, conn: Connection, pbx: str, numbers: Collection[str]) -> set[str]:
        """Of these numbers, those with a stored call or a memo (everything else a number's
        obligations come from: a stored obligation has one or the other)."""
        q = select(calls.c.customer_number).where(calls.c.pbx == pbx, one_of(calls.c.customer_number, numbers))
        found = set(conn.execute(q.distinct()).scalars())
        with_memos = select(memos.c.number).where(memos.c.pbx == pbx)
        # most PBXs have no memo: a look first saves unnesting the numbers for nothing (SQLite:
        # 7 ms for 7,000 numbers)
        if conn.execute(with_memos.limit(1)).first() is not None:
            found.update(conn.execute(with_memos.where(one_of(memos.c.number, numbers)).distinct()).scalars())
        return found

    def take_callbacks(self, conn: Connection, pbx: str, numbers: Collection[str]) -> dict[str, int]:
        """Delete the stored obligations of these numbers; return their ``key -> callback_id``
        (an obligation derived again with the same key gets its id back). Reserve the ids of new
        obligations before (:meth:`reserve_callback_ids` counts from the largest id stored)."""
        q = select(callbacks.c.key, callbacks.c.callback_id).where(callbacks.c.pbx == pbx,
                                                                   one_of(callbacks.c.number, numbers))
        taken = dict(conn.execute(q).all())
        ids = list(taken.values())
        for i in range(0, len(ids), CHUNK):
            conn.execute(delete(callbacks).where(callbacks.c.callback_id.in_(ids[i:i + CHUNK])))
        return taken

    def reserve_callback_ids(self, conn: Connection, n: int) -> list[int]:
        """``n`` new ``callback_id`` values for rows this transaction is about to insert.

        PostgreSQL: from the column's sequence. SQLite: after the largest id, as its rowid would
        be (the transaction has already written, so it holds the database's only write lock)."""
        if n <= 0:
            return []
        if conn.dialect.name == "postgresql":
            q = "SELECT nextval(pg_get_serial_sequence('callbacks', 'callback_id')) FROM generate_series(1, %s)"
            return [v for (v,) in conn.exec_driver_sql(q, (n,))]
        top = conn.execute(select(func.max(callbacks.c.callback_id))).scalar() or 0
        return list(range(top + 1, top + 1 + n))

    def replace_callbacks(self, conn: Connection, pbx: str, start: Mapping[str, float],
                          rows: Iterable[dict[str, Any]]) -> None:
        """Replace each number's obligations opened at or after ``start[number]`` by ``rows``.

        An obligation keeps its ``callback_id`` while its natural key stays; the calls' own
        ``callback_id`` follows (missed, attempted and fulfilling calls point at it).
        """
        since = min(start.values(), default=float("-inf"))
        old = [r for r in self.stored_callbacks(conn, pbx, start, since) if r["first_missed_at"] >= start[r["number"]]]
        id_of = {r["key"]: r["callback_id"] for r in old}
        new = list(rows)
        if old:
            ids = [r["callback_id"] for r in old]
            for i in range(0, len(ids), CHUNK):
                chunk = ids[i:i + CHUNK]
                conn.execute(update(calls).where(calls.c.pbx == pbx, calls.c.callback_id.in_(chunk))
                             .values(callback_id=None))
                conn.execute(delete(callbacks).where(callbacks.c.callback_id.in_(chunk)))
        for r in new:
            if r["key"] in id_of:
                r["callback_id"] = id_of[r["key"]]
        kept = [r for r in new if "callback_id" in r]
        fresh = [r for r in new if "callback_id" not in r]
        for rows_ in (kept, fresh):  # by the driver (an import opens them by the hundred thousand)
            if rows_:
                cols = list(rows_[0])
                self.insert_tuples(conn, callbacks, cols, [tuple(r[c] for c in cols) for r in rows_])
        if fresh:  # the ids the database gave, by the natural key
            q = select(callbacks.c.key, callbacks.c.callback_id).where(
                callbacks.c.pbx == pbx, one_of(callbacks.c.key, [r["key"] for r in fresh]))
            id_of = dict(conn.execute(q).all())
            for r in fresh:
                r["callback_id"] = id_of[r["key"]]
        links = [
            (r["callback_id"], pbx, call_id)
            for r in new
            for call_id in (*json.loads(r["missed_call_ids"]), *json.loads(r["attempt_call_ids"]),
                            *([r["fulfilled_by_call_id"]] if r["fulfilled_by_call_id"] else []))
        ]
        if links:  # by the driver's executemany: an import links calls by the hundred thousand
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(f"UPDATE calls SET callback_id = {mark} WHERE pbx = {mark} AND call_id = {mark}", links)
