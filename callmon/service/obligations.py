"""Callback obligations kept in the store: re-derived per number after every write, viewed at any
moment, opened by memos and closed by cancellations.

The derivation (:func:`callmon.metrics.callbacks.derive_callbacks`) is an online process per
outside number: at any moment a number has at most one obligation open, and what happens after a
moment never changes what was decided before it. So after a write only the numbers it touched are
derived again, and only from the start of the obligation that was open at the earliest touched
moment (or from that moment): the obligations closed before it stay as stored. A chronological
import therefore reads each call back about once, however often a number calls.

The stored table holds the derivation over everything known (unmet obligations as ``open``);
:meth:`Obligations.at` gives the obligations as they stood at any moment (``--at``), derived
again from the calls that take part in one (those that carry a ``callback_id``), the memos and
the cancellations up to that moment.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from callmon.core.errors import InputError
from callmon.metrics.callbacks import CLOSED, Callback, Cancellation, Memo, derive_callbacks, is_miss, miss_of
from callmon.metrics.numbers import normalize
from callmon.metrics.rules import RuleSet
from callmon.core.model import Call
from callmon.metrics.scoring import ScoredCall
from callmon.storage import Store
from callmon.storage.callbacks import callback_row
from callmon.storage.schema import callbacks as callbacks_table
from callmon.storage.jsontext import json_list

log = logging.getLogger(__name__)

NEVER = float("inf")
# the columns :meth:`Obligations.open_single_calls` fills (the others of an open obligation are NULL)
_ALONE_COLUMNS = ("callback_id", "pbx", "key", "number", "missed_call_ids", "attempt_call_ids", "first_missed_at",
                  "due_at", "status", "agent", "team")
ALWAYS = float("-inf")
# numbers per derivation when every number's obligations are derived again (``rebuild``)
REFRESH_CHUNK = 20_000


def callback_moment(call: Call) -> float | None:
    """The moment the derivation places a call at: an unanswered inbound call at its arrival,
    any other at its answer (else its end, else its arrival)."""
    if call.direction == "inbound" and call.answered_at is None:
        return call.arrived_at if call.arrived_at is not None else call.ended_at
    for t in (call.answered_at, call.ended_at, call.arrived_at):
        if t is not None:
            return t
    return None


def touched_by(pairs: Iterable[tuple[str | None, Any]]) -> dict[str, float]:
    """``number -> earliest moment`` of ``(customer number, call)`` pairs (a call: anything with
    the fields :func:`callback_moment` reads)."""
    return earliest((number, callback_moment(call)) for number, call in pairs)


def earliest(moments: Iterable[tuple[str | None, float | None]]) -> dict[str, float]:
    """``number -> earliest moment`` of ``(number, moment)`` pairs (no number or no moment: left out)."""
    touched: dict[str, float] = {}
    for number, when in moments:
        if number and when is not None:
            touched[number] = min(when, touched.get(number, NEVER))
    return touched


def _callback_moment_or_always(call: Call) -> float:
    when = callback_moment(call)
    return ALWAYS if when is None else when


class Obligations:
    """The callback obligations of one PBX in one store, under one rule set and directory."""

    def __init__(self, store: Store, pbx: str, ruleset: RuleSet, directory: Mapping[str, Any] | None = None):
        self.store = store
        self.pbx = pbx
        self.ruleset = ruleset
        self.directory = dict(directory or {})
        # (the connection whose writes wait, the calls' highest id then, number -> moment touched otherwise)
        self._deferred: tuple[Any, int, dict[str, float]] | None = None

    # -- keeping the table up to date -----------------------------------------------------------
    def touched(self, conn, scored: Iterable[ScoredCall]) -> dict[str, float]:
        """``number -> earliest moment`` a write of these calls changes (their stored versions too)."""
        scored = list(scored)
        pairs = [(s.customer_number, s.call) for s in scored]
        return touched_by(pairs + self.store.calls_by_id(conn, self.pbx, [s.call.call_id for s in scored]))

    def refresh(self, conn, touched: Mapping[str, float]) -> None:
        """Derive the obligations of the touched numbers again from their earliest touched moment
        (every number from the beginning: :meth:`refresh_all`).

        A number that has no obligation to redo and no unanswered inbound call or memo in that
        span cannot open one: it is skipped (most calls are answered calls of such numbers).
        """
        if not touched:
            return
        if self._defers(conn):
            kept = self._deferred[2]
            for number, when in touched.items():
                kept[number] = min(when, kept.get(number, NEVER))
            return
        start = dict(touched)
        # the obligations closed before the earliest touched moment cannot change
        stored = self.store.stored_callbacks(conn, self.pbx, start, min(start.values()))
        for row in stored:
            number = row["number"]
            t0, closed = start.get(number, ALWAYS), row["closed_at"]
            if number in start and row["first_missed_at"] <= t0 and (closed is None or closed >= t0):
                start[number] = min(start[number], row["first_missed_at"])

        def begin(number: str) -> float:
            return start.get(number, NEVER)

        numbers = set(start)
        lo = min(start.values())
        memos = [m for m in self.store.memos_of(conn, self.pbx, numbers, since=lo) if m.at >= begin(m.number)]
        redo = {r["number"] for r in stored if r["first_missed_at"] >= begin(r["number"])}
        redo |= {m.number for m in memos}
        # read back only the calls of numbers that may have something to derive
        maybe = redo | self.store.numbers_with_unanswered(conn, self.pbx, numbers, lo)
        loaded = [(n, c) for n, c in self.store.calls_of_numbers(conn, self.pbx, maybe, lo) if _callback_moment_or_always(c) >= begin(n)]
        redo |= {n for n, c in loaded if is_miss(c)}
        calls = [c for n, c in loaded if n in redo]
        cancels = [c for n, c in self.store.cancellations_of(conn, self.pbx, numbers, since=lo)
                   if n in redo and c.at >= begin(n)]
        derived = self._derive(calls, NEVER, memos, cancels)
        by_id = {c.call_id: c for c in calls}
        self.store.replace_callbacks(conn, self.pbx, {n: begin(n) for n in redo},
                                     [callback_row(self.pbx, cb, *self.owner(cb, by_id)) for cb in derived])
        log.debug("callbacks of %d number(s) derived again: %d obligation(s)", len(redo), len(derived))

    def open_single_calls(self, conn, call_ids: Sequence[str], numbers: Sequence[str | None], moments: Sequence[float | None],
                          missed: Sequence[bool], called: Sequence[str]) -> tuple[list[int | None], dict[str, float]]:
        """The obligations of calls about to be stored for the first time, the common case at once.

        A number with nothing stored (no call, no memo) and just one of these calls needs no
        derivation: a missed call (``missed``: inbound, unanswered, from outside) opens an
        obligation of its own, anything else opens none. Those obligations are stored here, with
        ids reserved up front so each call's row can carry its ``callback_id``. Returns the
        ``callback_id`` per call (None for the others) and ``number -> earliest moment`` of every
        other number, for :meth:`refresh` once the calls are stored.
        """
        if self._defers(conn):  # the calls are new: settle() finds their numbers
            return [None] * len(call_ids), {}
        per_number = Counter(n for n in numbers if n)
        single = {n for n, k in per_number.items() if k == 1}
        if single:
            single -= self.store.numbers_with_history(conn, self.pbx, single)
        ids: list[int | None] = [None] * len(call_ids)
        touched = earliest((n, t) for n, t in zip(numbers, moments) if n not in single)
        opening = [i for i, n in enumerate(numbers) if n in single and missed[i] and moments[i] is not None]
        opened = self._open(conn, [call_ids[i] for i in opening], [numbers[i] for i in opening],
                            [moments[i] for i in opening], [called[i] for i in opening])
        for i, callback_id in zip(opening, opened):
            ids[i] = callback_id
        return ids, touched

    def _open(self, conn, call_ids: Sequence[str], numbers: Sequence[str], at: Sequence[float],
              called: Sequence[str], *, again: bool = False) -> list[int]:
        """Store the obligation each of these misses opens on its own (its number has no other call,
        memo or obligation: nothing to derive); return their ``callback_id``.

        ``again``: the numbers may have stored obligations (``rebuild``): they are replaced, an
        obligation of the same key keeps its id."""
        if not call_ids:
            return []
        reserved = self.store.reserve_callback_ids(conn, len(call_ids))  # before any is taken (take_callbacks)
        if again:
            kept = self.store.take_callbacks(conn, self.pbx, set(numbers))
            if kept:
                fresh = iter(reserved)
                reserved = [kept.get(f"{n}/{c}") or next(fresh) for n, c in zip(numbers, call_ids)]
        rows = [(callback_id, *row) for callback_id, row in zip(reserved, self._alone_rows(call_ids, numbers, at, called))]
        self.store.insert_tuples(conn, callbacks_table, _ALONE_COLUMNS, rows)
        log.debug("callbacks: %d obligation(s) of numbers with one call each opened at once", len(rows))
        return reserved

    def _alone_rows(self, call_ids: Sequence[str], numbers: Sequence[str], at: Sequence[float],
                    called: Sequence[str]) -> list[tuple]:
        """The rows of the obligations :meth:`_open` stores, without their ``callback_id``
        (:data:`_ALONE_COLUMNS` but the first)."""
        due = self.ruleset.policy.due_at_many(list(at)).tolist()  # a miss is placed at its arrival
        rows = []
        for number, call_id, t, extension, due_at in zip(numbers, call_ids, at, called, due):
            agent, team = self._named(extension if extension in self.directory else None)
            rows.append((self.pbx, f"{number}/{call_id}", number, json_list(call_id), "[]", t, due_at, "open", agent, team))
        return rows

    # -- a large import: the obligations once, at its end ---------------------------------------
    def defer(self, conn) -> None:
        """Until :meth:`settle`, the writes on ``conn`` (a SQLite import's transaction) leave the
        callback obligations of the numbers they touch for its end instead of deriving them
        block by block: the per-block look-ups by customer number grow faster than the rows
        (2.5 s at 1M rows, 10.2 s at 3M), and ``ix_calls_customer`` need not exist meanwhile
        (:meth:`~callmon.storage.Store.load_first`). The numbers of the calls stored meanwhile
        are found at the end (their ids are higher); the others touched (the earlier versions of
        calls replaced) are kept here. The derivation is an online process per number, so
        deriving each number once from its earliest touched moment gives what deriving it after
        every block gives (tested)."""
        self._deferred = (conn, self.store.top_call_id(conn), {})

    def _defers(self, conn) -> bool:
        return self._deferred is not None and self._deferred[0] is conn

    def settle(self, conn, chunk: int = REFRESH_CHUNK) -> None:
        """Derive the obligations left since :meth:`defer`, on the same connection.

        Most numbers have one call, stored meanwhile, and no memo or obligation: its miss opens
        an obligation at once (:meth:`open_single_calls`' case, found by SQL in the order the calls
        were stored). The other numbers of the calls stored meanwhile, and those kept, are
        derived again from their earliest touched moment, ``chunk`` numbers at a time
        (:meth:`refresh`)."""
        if not self._defers(conn):
            raise RuntimeError("settle() without defer() on this connection")
        _, since_id, kept = self._deferred
        self._deferred = None
        others = kept  # numbers with other calls: found before any obligation is stored
        for number, when in self.store.numbers_called_since(conn, self.pbx, since_id):
            if when is not None:
                others[number] = min(when, others.get(number, NEVER))
        if self.store.dialect == "sqlite":
            opened = self._open_singles_in_order(conn, since_id, chunk)
        else:
            opened = sum(map(len, self._open_singles(conn, since_id, chunk)))
        numbers = sorted(others)
        for i in range(0, len(numbers), chunk):
            self.refresh(conn, {n: others[n] for n in numbers[i:i + chunk]})
        log.debug("callbacks at the end of the import: %d opened at once, %d number(s) derived again",
                  opened, len(numbers))

    def abandon(self) -> None:
        """Forget a :meth:`defer` whose transaction failed (its kept numbers go with it)."""
        self._deferred = None

    def refresh_all(self, conn, *, chunk: int = REFRESH_CHUNK,
                     progress: Callable[[int, int], None] | None = None) -> None:
        """Every number, from the beginning (``rebuild``), ``chunk`` numbers at a time;
        ``progress(numbers done, numbers in all)`` after each chunk.

        A number's obligations come from its own calls, memos and cancellations only, so the
        numbers that can have any (a stored obligation, a memo or a missed inbound call) are
        derived a chunk after another: the calls in memory are a chunk's, not every missed
        number's (``rebuild`` of 961,708 calls: 427 MB at the peak, against 1.03 GB all at once,
        which grows with the database)."""
        numbers = (self.store.callback_numbers(conn, self.pbx) | self.store.memo_numbers(conn, self.pbx)
                   | self.store.numbers_with_unanswered(conn, self.pbx, None))
        numbers = {n for n in numbers if n}
        total = len(numbers)
        if self.store.dialect == "sqlite":
            numbers -= self._open_single_misses(conn, chunk, progress=progress, total=total)
        numbers = sorted(numbers)
        for i in range(0, len(numbers), chunk):
            self.refresh(conn, dict.fromkeys(numbers[i:i + chunk], ALWAYS))
            if progress:
                progress(total - len(numbers) + min(i + chunk, len(numbers)), total)

    def _open_single_misses(self, conn, chunk: int, *, progress: Callable[[int, int], None] | None = None,
                            total: int = 0) -> set[str]:
        """:meth:`refresh_all` of the numbers whose only input is one missed call (no other call,
        memo or cancellation; most numbers of a large database): the obligation it opens on its
        own, as :meth:`settle` opens it, replacing what the number had stored (its id kept while
        its key stays; the call is the number's only one, so no other call links to what is
        replaced). Returns the numbers done (SQLite: the calls are found by one SQL query)."""
        done: set[str] = set()
        for numbers in self._open_singles(conn, 0, chunk, again=True):
            done.update(numbers)
            if progress:
                progress(len(done), total)
        log.debug("callbacks of every number: %d opened by a single missed call", len(done))
        return done

    def _open_singles_in_order(self, conn, since_id: int, chunk: int) -> int:
        """:meth:`_open_singles` of :meth:`settle` on SQLite: the obligations are put aside as
        the calls are read, then stored in the order of their numbers, their ids given in that
        order, and the calls linked in the order of the table (:meth:`~callmon.storage.Store.store_opened`).
        A large import's single misses are most of its obligations: stored as the calls come,
        each would land on a random page of each index of the callbacks (their keys begin with
        the number), a cost per row that grows with the table. The number opened."""
        opened = 0
        for candidates in self.store.single_misses_since(conn, self.pbx, since_id, chunk):
            part = _opening(candidates)
            rows = self._alone_rows([m.call_id for m in part], [m.number for m in part], [m.moment for m in part],
                                    [m.called for m in part])
            self.store.put_opened(conn, _ALONE_COLUMNS[1:], [(m.id, *row) for m, row in zip(part, rows)])
            opened += len(part)
        self.store.store_opened(conn, _ALONE_COLUMNS[1:])
        return opened

    def _open_singles(self, conn, since_id: int, chunk: int, *, again: bool = False) -> Iterator[list[str]]:
        """Open the obligation of each single missed call stored after ``since_id`` (see
        :meth:`~callmon.storage.store.Store.single_misses_since`; ``again``: over the stored ones,
        keeping their ids) and link its call; yields the numbers each chunk opened."""
        for candidates in self.store.single_misses_since(conn, self.pbx, since_id, chunk, stored=again):
            part = _opening(candidates)
            ids = self._open(conn, [m.call_id for m in part], [m.number for m in part], [m.moment for m in part],
                             [m.called for m in part], again=again)
            self.store.set_call_callback_ids(conn, list(zip(ids, (m.id for m in part))))
            yield [m.number for m in part]

    def _derive(self, calls: list[Call], now: float, memos: list[Memo], cancels: list[Cancellation]) -> list[Callback]:
        # a call cut before its end (lost connection, end of file) is not known to be missed or
        # answered: it neither opens nor meets an obligation
        calls = [c for c in calls if not c.incomplete]
        return derive_callbacks(calls, now, self.ruleset.policy, memos=memos, cancellations=cancels,
                                region=self.ruleset.region, agent_of=self.directory)

    def owner(self, cb: Callback, calls_by_id: Mapping[str, Call]) -> tuple[str | None, str | None]:
        """(agent, team) an obligation counts to: the memo's agent, else the direct line the first
        missed call rang (a queue or ring group has no single owner)."""
        extension = cb.agent
        if extension is None and cb.missed_call_ids:
            first = calls_by_id.get(cb.missed_call_ids[0])
            extension = first.called if first is not None and first.called in self.directory else None
        return self._named(extension)

    def _named(self, extension: str | None) -> tuple[str | None, str | None]:
        """(agent, team) of an extension: the directory's employee, else the extension itself."""
        employee = self.directory.get(extension) if extension else None
        return getattr(employee, "name", None) or extension, getattr(employee, "team", None)

    # -- reading ------------------------------------------------------------------------------
    def at(self, now: float) -> list[dict[str, Any]]:
        """The obligations as they stood at ``now`` (epoch), as rows with their stored ids."""
        with self.store.begin() as conn:
            calls = self.store.callback_calls(conn, self.pbx, until=now)
            memos = self.store.memos_of(conn, self.pbx, until=now)
            cancels = [c for _, c in self.store.cancellations_of(conn, self.pbx, until=now)]
            ids = {r["key"]: r["callback_id"] for r in self.store.stored_callbacks(conn, self.pbx)}
        by_id = {c.call_id: c for c in calls}
        rows = []
        for cb in self._derive(calls, now, memos, cancels):
            row = callback_row(self.pbx, cb, *self.owner(cb, by_id))
            rows.append({**row, "status": cb.status, "callback_id": ids.get(cb.key)})
        return rows

    # -- people's input -------------------------------------------------------------------------
    def add_memo(self, dialled: str, at: float, *, name: str | None = None, purpose: str | None = None,
                 agent: str | None = None) -> dict[str, Any]:
        """Record a memo; return the stored obligation it opened or joined."""
        number = normalize(dialled, self.ruleset.region)
        if not number:
            raise InputError(f"not a phone number: {dialled!r}")
        with self.store.begin() as conn:
            self.store.add_memo(conn, self.pbx, Memo(number, at, name, purpose, agent), dialled)
            self.refresh(conn, {number: at})
            rows = self.store.stored_callbacks(conn, self.pbx, [number])
        return next(r for r in reversed(rows) if r["first_missed_at"] <= at and (r["closed_at"] or NEVER) >= at)

    def cancel(self, callback_id: int, reason: str, at: float, by: str | None = None) -> dict[str, Any]:
        """Cancel an obligation still open at ``at``; return it as stored afterwards."""
        if not reason.strip():
            raise InputError("a cancellation needs a reason")
        with self.store.begin() as conn:
            row = self.store.callback_by_id(conn, self.pbx, callback_id)
            if row is None:
                raise InputError(f"no callback {callback_id} for PBX {self.pbx!r}")
            closed = row["closed_at"]
            if row["status"] in CLOSED and closed is not None and closed <= at:
                raise InputError(f"callback {callback_id} is already {row['status']}")
            if row["first_missed_at"] > at:
                raise InputError(f"callback {callback_id} was not open yet at that time")
            self.store.add_cancellation(conn, self.pbx, row["number"], Cancellation(row["key"], reason, at), by)
            self.refresh(conn, {row["number"]: at})
            return self.store.callback_by_id(conn, self.pbx, callback_id)


def _opening(candidates):
    """The single misses among :meth:`~callmon.storage.Store.single_misses_since`'s candidates
    that open an obligation: missed (:func:`miss_of`), complete, with a moment."""
    return [m for m in candidates if miss_of(m.direction, m.outcome, m.caller) and not m.incomplete and m.moment is not None]
