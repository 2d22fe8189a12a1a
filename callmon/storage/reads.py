"""The read side's queries (SQLAlchemy Core): aggregates computed by the database, pages of
calls, one call with its legs, the callback backlog, the live calls and a cheap data version.

Rows come back as plain dicts or pandas DataFrames with the numbers as stored (unmasked):
masking is the read side's (:mod:`callmon.read`), which knows who is reading.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Float, Integer, and_, case, cast, exists, func, or_, select, union
from sqlalchemy.engine import Connection

from callmon.storage.callbacks import CallbackQueries
from callmon.storage.directory import DirectoryQueries
from callmon.storage.frames import FrameQueries
from callmon.storage.lists import one_of
from callmon.storage.schema import (
    agent_results,
    callbacks,
    calls,
    cancellations,
    legs,
    live_calls,
    memos,
    rollup_agent_rs,
    rollup_agents,
    rollup_customer,
    rollup_customer_rs,
    rollup_dirty,
    rollup_warnings,
)

if TYPE_CHECKING:
    import pandas as pd

# the columns of the calls grid and of ``callmon calls`` (legs aside)
GRID_COLUMNS = ("call_id", "direction", "caller", "called", "queue", "arrived_at", "first_ring_at", "answered_at",
                "ended_at", "outcome", "answered_by", "agent", "team", "ring_seconds", "rings", "wait_seconds",
                "talk_seconds", "hangup_by", "transferred", "incomplete", "ring_rule", "hangup_rule", "callback_id")
SORTABLE = frozenset(GRID_COLUMNS)
MAX_PAGE = 1000


@dataclass(frozen=True)
class CallFilter:
    """What the calls grid (and ``callmon calls``) asks for; None = no condition.

    ``since``/``until`` bound ``arrived_at`` ([since, until), epoch seconds); ``ring_rule`` and
    ``hangup_rule`` are ``pass``/``fail``/``na``; ``rule_failed`` keeps calls failing either rule.
    """

    since: float | None = None
    until: float | None = None
    team: str | None = None
    agent: str | None = None
    outcome: str | None = None
    direction: str | None = None
    ring_rule: str | None = None
    hangup_rule: str | None = None
    rule_failed: bool | None = None


def _where(pbx: str | None, f: CallFilter) -> list:
    conds = [] if pbx is None else [calls.c.pbx == pbx]
    if f.since is not None:
        conds.append(calls.c.arrived_at >= f.since)
    if f.until is not None:
        conds.append(calls.c.arrived_at < f.until)
    for name in ("team", "agent", "outcome", "direction", "ring_rule", "hangup_rule"):
        value = getattr(f, name)
        if value is not None:
            conds.append(calls.c[name] == value)
    if f.rule_failed is True:
        conds.append(or_(calls.c.ring_rule == "fail", calls.c.hangup_rule == "fail"))
    elif f.rule_failed is False:
        conds.append(and_(calls.c.ring_rule != "fail", calls.c.hangup_rule != "fail"))
    return conds


def _n(expr):
    """``sum(CASE WHEN expr THEN 1 ELSE 0 END)``."""
    return func.coalesce(func.sum(case((expr, 1), else_=0)), 0)


class ReadQueries(FrameQueries, DirectoryQueries, CallbackQueries):
    """Mixin of :class:`~callmon.storage.readonly.ReadStore`: needs ``self.engine``. The frames,
    the directory and the callback inputs are read by the same queries the writers use."""

    # -- following the database ------------------------------------------------------------------
    def data_version(self, pbx: str) -> tuple:
        """A value that changes whenever calls, live calls, callbacks, memos or cancellations of
        the database change: a handful of index look-ups (max of primary keys), cheap to poll.

        Calls and callbacks are replaced by delete + insert, so a new version has a larger id."""
        q = select(
            select(func.max(calls.c.id)).scalar_subquery(),
            select(func.count()).where(live_calls.c.pbx == pbx).scalar_subquery(),
            select(func.max(live_calls.c.updated_at)).where(live_calls.c.pbx == pbx).scalar_subquery(),
            select(func.max(callbacks.c.callback_id)).scalar_subquery(),
            select(func.count()).select_from(callbacks).scalar_subquery(),
            select(func.max(memos.c.id)).scalar_subquery(),
            select(func.max(cancellations.c.id)).scalar_subquery(),
        )
        with self.engine.connect() as conn:
            return tuple(conn.execute(q).one())

    # -- aggregates --------------------------------------------------------------------------------
    def inbound_totals(self, pbx: str, since: float, until: float) -> dict[str, Any]:
        """The customer's view of one span in SQL: inbound calls, answered, abandoned, ring rule
        passes and failures, average ring seconds and rings of the answered ones; outbound calls
        and agent-first hang-ups (any direction)."""
        (row,) = self.inbound_totals_by(pbx, since, until, None)
        return row

    def inbound_totals_by(self, pbx: str, since: float, until: float, by: str | None) -> list[dict[str, Any]]:
        """:meth:`inbound_totals` per value of ``by`` (``team``, ``agent``, ``queue``; None: one
        row), with the key under its name (a call without one: None)."""
        inbound = calls.c.direction == "inbound"
        answered = and_(inbound, calls.c.outcome == "answered", calls.c.rings.is_not(None))
        figures = [
            _n(inbound).label("calls"),
            _n(and_(inbound, calls.c.outcome == "answered")).label("answered"),
            _n(and_(inbound, calls.c.outcome == "abandoned")).label("abandoned"),
            _n(and_(inbound, calls.c.ring_rule == "pass")).label("ring_pass"),
            _n(and_(inbound, calls.c.ring_rule == "fail")).label("ring_fail"),
            _n(answered).label("answered_rung"),
            func.avg(case((answered, calls.c.ring_seconds))).label("avg_ring_seconds"),
            func.avg(case((answered, cast(calls.c.rings, Float)))).label("avg_rings"),
            _n(calls.c.direction == "outbound").label("outbound"),
            _n(calls.c.hangup_rule == "fail").label("agent_first_hangups"),
        ]
        where = (calls.c.pbx == pbx, calls.c.arrived_at >= since, calls.c.arrived_at < until)
        if by is None:
            q = select(*figures).where(*where)
        elif by in ("team", "agent", "queue"):
            q = select(calls.c[by], *figures).where(*where).group_by(calls.c[by]).order_by(calls.c[by])
        else:
            raise ValueError(f"cannot group by {by!r}")
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def answered_quantile(self, pbx: str, since: float, until: float, column: str, q: float, n: int) -> float | None:
        """The ``q`` quantile (linear interpolation, as pandas) of ``column`` (``ring_seconds`` or
        ``rings``) over the ``n`` answered inbound calls with rings of [since, until): the two
        neighbouring values are read by ORDER BY ... LIMIT 2 OFFSET k, not every value."""
        if n <= 0:
            return None
        pos = q * (n - 1)
        k = int(pos)
        col = calls.c[column]
        sel = (select(cast(col, Float)).where(
            calls.c.pbx == pbx, calls.c.arrived_at >= since, calls.c.arrived_at < until,
            calls.c.direction == "inbound", calls.c.outcome == "answered", calls.c.rings.is_not(None))
            .order_by(col).limit(2).offset(k))
        with self.engine.connect() as conn:
            values = [v for (v,) in conn.execute(sel)]
        if not values:
            return None
        lo = values[0]
        hi = values[1] if len(values) > 1 else lo
        return lo + (hi - lo) * (pos - k)

    def callback_counts(self, pbx: str, now: float) -> dict[str, int]:
        """Obligations still unmet now: ``open`` (not yet due) and ``overdue``."""
        unmet = and_(callbacks.c.pbx == pbx, callbacks.c.status == "open", callbacks.c.first_missed_at <= now)
        q = select(_n(callbacks.c.due_at >= now).label("open"), _n(callbacks.c.due_at < now).label("overdue")).where(unmet)
        with self.engine.connect() as conn:
            return dict(conn.execute(q).one()._mapping)

    # -- the calls grid ----------------------------------------------------------------------------
    def count_calls(self, pbx: str | None, f: CallFilter) -> int:
        q = select(func.count()).select_from(calls).where(*_where(pbx, f))
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one()

    def calls_page(self, pbx: str | None, f: CallFilter, sort: Sequence[tuple[str, bool]] = (("arrived_at", True),),
                   offset: int = 0, limit: int = 100, columns: Sequence[str] = GRID_COLUMNS) -> list[dict[str, Any]]:
        """One page of calls: ``sort`` is ``(column, descending)`` pairs (then pbx, call_id for a
        stable order); at most :data:`MAX_PAGE` rows."""
        order = []
        for name, desc in sort:
            if name not in SORTABLE:
                raise ValueError(f"cannot sort by {name!r}; one of {', '.join(sorted(SORTABLE))}")
            order.append(calls.c[name].desc() if desc else calls.c[name].asc())
        order += [calls.c.pbx, calls.c.call_id]
        q = (select(calls.c.pbx, *(calls.c[c] for c in columns)).where(*_where(pbx, f)).order_by(*order)
             .offset(max(0, int(offset))).limit(max(0, min(int(limit), MAX_PAGE))))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def iter_calls(self, pbx: str | None, f: CallFilter, with_legs: bool = True, chunk: int = 5000):
        """Every call of the filter, oldest first (``callmon calls``), as the dicts
        ``Store.query_calls`` gives, streamed; legs attached per chunk."""
        q = select(calls).where(*_where(pbx, f)).order_by(calls.c.arrived_at, calls.c.pbx, calls.c.call_id)
        with self.engine.connect() as conn:
            batch: list[dict[str, Any]] = []
            for r in conn.execute(q).yield_per(chunk):
                batch.append(dict(r._mapping))
                if len(batch) >= chunk:
                    yield from self._with_legs(conn, batch, with_legs)
                    batch = []
            if batch:
                yield from self._with_legs(conn, batch, with_legs)

    def _with_legs(self, conn: Connection, rows: list[dict[str, Any]], with_legs: bool) -> list[dict[str, Any]]:
        if with_legs:
            by_key = {(r["pbx"], r["call_id"]): r for r in rows}
            for r in rows:
                r["legs"] = []
            lq = select(legs).where(one_of(legs.c.call_id, {r["call_id"] for r in rows})).order_by(
                legs.c.created_at, legs.c.id)
            for leg in conn.execute(lq):
                parent = by_key.get((leg.pbx, leg.call_id))
                if parent is not None:
                    parent["legs"].append(dict(leg._mapping))
        for r in rows:
            r["uniqueids"] = json.loads(r["uniqueids"])
        return rows

    def call_with_legs(self, pbx: str, call_id: str) -> dict[str, Any] | None:
        """One stored call with its legs (oldest first), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(calls).where(calls.c.pbx == pbx, calls.c.call_id == call_id)).first()
            if row is None:
                return None
            return self._with_legs(conn, [dict(row._mapping)], True)[0]

    def distinct_values(self, pbx: str, column: str) -> list[str]:
        """The values a grid filter offers (teams, agents, queues), sorted."""
        if column not in ("team", "agent", "queue"):
            raise ValueError(f"no filter values for {column!r}")
        col = calls.c[column]
        q = select(col).where(calls.c.pbx == pbx, col.is_not(None)).distinct().order_by(col)
        with self.engine.connect() as conn:
            return [v for (v,) in conn.execute(q)]

    # -- callbacks ---------------------------------------------------------------------------------
    def callbacks_where(self, pbx: str, *, unmet: bool | None = None, since: float | None = None,
                        until: float | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored obligations: ``unmet`` True = still open (oldest due first), False = closed
        (met, late, resolved, cancelled; latest closed first), None = all; ``since``/``until``
        bound ``first_missed_at`` for open ones and ``closed_at`` for closed ones."""
        q = select(callbacks).where(callbacks.c.pbx == pbx)
        when = callbacks.c.closed_at if unmet is False else callbacks.c.first_missed_at
        if unmet is True:
            q = q.where(callbacks.c.status == "open").order_by(callbacks.c.due_at, callbacks.c.callback_id)
        elif unmet is False:
            q = q.where(callbacks.c.status != "open").order_by(callbacks.c.closed_at.desc(), callbacks.c.callback_id)
        else:
            q = q.order_by(callbacks.c.first_missed_at, callbacks.c.callback_id)
        if since is not None:
            q = q.where(when >= since)
        if until is not None:
            q = q.where(when < until)
        if limit is not None:
            q = q.limit(limit)
        names = [c.name for c in callbacks.columns]
        return [dict(zip(names, r)) for r in self._raw(q)]  # through the driver: a year's by the ten thousand

    def numbers_changed_after(self, pbx: str, now: float) -> set[str]:
        """The numbers with an input of their obligations later than ``now``: a call that takes
        part in one of their obligations (its ``callback_id``, as
        :meth:`~callmon.storage.callbacks.CallbackQueries.callback_calls` reads them) arriving,
        answered or ending after ``now``, a memo or a cancellation after ``now``. Every other
        number's obligations at ``now`` are the stored ones (unmet ones open or overdue by the
        clock): later events never change what was decided before them."""
        c, cb = calls.c, callbacks.c
        later = or_(c.arrived_at > now, c.answered_at > now, c.ended_at > now)
        q = union(
            select(cb.number).select_from(calls.join(callbacks, cb.callback_id == c.callback_id))
            .where(c.pbx == pbx, c.callback_id >= 1, later),  # a range of ix_calls_callback
            select(memos.c.number).where(memos.c.pbx == pbx, memos.c.at > now),
            select(cancellations.c.number).where(cancellations.c.pbx == pbx, cancellations.c.at > now),
        )
        with self.engine.connect() as conn:
            return {n for (n,) in conn.execute(q)}

    # -- live ----------------------------------------------------------------------------------------
    def live_rows(self, pbx: str) -> list[dict[str, Any]]:
        """The calls in progress the listener keeps (ringing, queued, talking), oldest first."""
        q = select(live_calls).where(live_calls.c.pbx == pbx).order_by(live_calls.c.arrived_at, live_calls.c.call_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def _frame(self, table, when, columns, pbx, since, until, condition=None) -> pd.DataFrame:
        """:class:`~callmon.storage.frames.FrameQueries`' frames, read through the driver's
        cursor into columns (no row objects: a report reads its period's calls by the hundred
        thousand). The same rows, columns and order."""
        import pandas as pd

        q = select(*(table.c[c] for c in columns)).where(table.c.pbx == pbx)
        if since is not None:
            q = q.where(when >= since)
        if until is not None:
            q = q.where(when < until)
        if condition is not None:
            q = q.where(condition)
        rows = self._raw(q.order_by(when, table.c.id))
        frame = pd.DataFrame.from_records(rows, columns=list(columns), coerce_float=True)
        if not len(frame):
            return pd.DataFrame(columns=list(columns))
        for name in ("answered",):
            if name in frame and frame[name].dtype != bool:
                frame[name] = frame[name].astype(bool)
        return frame

    # -- a period's report, aggregated by the database --------------------------------------------
    def _hour(self, column, offset: int):
        """The local hour since the epoch of an epoch column, for a zone ``offset`` seconds east."""
        x = (column + offset) / 3600.0
        if self.engine.dialect.name == "postgresql":
            return cast(func.floor(x), BigInteger)
        return cast(x, Integer)  # SQLite truncates toward zero: the floor of a positive number

    def customer_cube(self, pbx: str, since: float, until: float, offset: int) -> list[dict[str, Any]]:
        """The customer's view of [since, until) per (team, queue, local hour ``lh``): the counts
        of :func:`callmon.metrics.aggregates.customer_view`, and ``rs_sum``/``rs_n`` for the
        average ring seconds of the answered calls."""
        c = calls.c
        inbound = c.direction == "inbound"
        answered = and_(inbound, c.outcome == "answered")
        rung = and_(answered, c.rings.is_not(None))
        timed = and_(rung, c.ring_seconds.is_not(None))
        lh = self._hour(c.arrived_at, offset).label("lh")
        q = select(
            c.team, c.queue, lh,
            _n(inbound).label("calls"), _n(answered).label("answered"),
            _n(and_(inbound, c.outcome == "abandoned")).label("abandoned"),
            _n(and_(inbound, c.ring_rule == "pass")).label("ring_pass"),
            _n(and_(inbound, c.ring_rule == "fail")).label("ring_fail"),
            *[_n(and_(rung, c.rings == k)).label(f"rings_{k}") for k in range(1, 6)],
            _n(and_(rung, c.rings >= 6)).label("rings_6plus"),
            func.coalesce(func.sum(case((timed, c.ring_seconds))), 0.0).label("rs_sum"), _n(timed).label("rs_n"),
            _n(c.direction == "outbound").label("outbound"), _n(c.hangup_rule == "fail").label("agent_first_hangups"),
        ).where(c.pbx == pbx, c.arrived_at >= since, c.arrived_at < until).group_by(c.team, c.queue, lh)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def answered_ring_seconds(self, pbx: str, since: float, until: float, offset: int) -> list[tuple]:
        """(team, queue, lh, ring_seconds, n): the histogram of the ring seconds of the answered
        inbound calls with rings of [since, until) per group (the p90 per group is taken from it:
        one row per distinct value, not one per call), read through the driver."""
        c = calls.c
        lh = self._hour(c.arrived_at, offset)
        q = select(c.team, c.queue, lh, c.ring_seconds, func.count()).where(
            c.pbx == pbx, c.arrived_at >= since, c.arrived_at < until, c.direction == "inbound",
            c.outcome == "answered", c.rings.is_not(None), c.ring_seconds.is_not(None)).group_by(
            c.team, c.queue, lh, c.ring_seconds)
        return self._raw(q)

    def agent_cube(self, pbx: str, since: float, until: float) -> list[dict[str, Any]]:
        """The agents' view of [since, until) per agent (the directory's name, else the
        extension) and team: the counts of :func:`callmon.metrics.aggregates.agent_view`."""
        a = agent_results.c
        agent = func.coalesce(a.agent, a.extension).label("agent")
        ring = a.rule == "answer_before_ring"
        took = a.answered.is_(True)
        rung = and_(ring, took, a.rings.is_not(None))
        timed = and_(rung, a.ring_seconds.is_not(None))
        abandoned = exists().where(calls.c.pbx == a.pbx, calls.c.call_id == a.call_id,
                                   calls.c.outcome == "abandoned", calls.c.arrived_at >= since,
                                   calls.c.arrived_at < until)
        q = select(
            agent, a.team,
            func.count().label("rows"),
            _n(ring).label("rang"), _n(and_(ring, took)).label("answered"),
            func.coalesce(func.sum(case((and_(ring, ~took), case((abandoned, 1), else_=0)), else_=0)), 0)
            .label("abandoned"),
            _n(and_(ring, a.result == "pass")).label("ring_pass"), _n(and_(ring, a.result == "fail")).label("ring_fail"),
            *[_n(and_(rung, a.rings == k)).label(f"rings_{k}") for k in range(1, 6)],
            _n(and_(rung, a.rings >= 6)).label("rings_6plus"),
            func.coalesce(func.sum(case((timed, a.ring_seconds))), 0.0).label("rs_sum"), _n(timed).label("rs_n"),
            _n(a.result == "fail").label("warnings"),
            _n(and_(a.rule == "agent_hangs_up_last", a.result == "fail")).label("agent_first_hangups"),
        ).where(a.pbx == pbx, a.at >= since, a.at < until).group_by(agent, a.team)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def agent_ring_seconds(self, pbx: str, since: float, until: float) -> list[tuple]:
        """(agent, ring_seconds, n): the histogram of the ring seconds of the answered rings of
        [since, until) per agent, through the driver."""
        a = agent_results.c
        agent = func.coalesce(a.agent, a.extension)
        q = select(agent, a.ring_seconds, func.count()).where(
            a.pbx == pbx, a.at >= since, a.at < until, a.rule == "answer_before_ring", a.answered.is_(True),
            a.rings.is_not(None), a.ring_seconds.is_not(None)).group_by(agent, a.ring_seconds)
        return self._raw(q)

    def credited_calls(self, pbx: str, since: float, until: float) -> list[dict[str, Any]]:
        """Calls of [since, until) credited to an agent, per (agent, team): ``calls``."""
        c = calls.c
        q = select(c.agent, c.team, func.count().label("calls")).where(
            c.pbx == pbx, c.arrived_at >= since, c.arrived_at < until, c.agent.is_not(None)).group_by(c.agent, c.team)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # -- the same, from the write-side rollups (storage/rollups.py) ----------------------------------
    def rollups_cover(self, pbx: str, since: float, until: float) -> bool:
        """Whether the rollups hold [since, until) exactly: its bounds are whole UTC hours and no
        hour in it is marked stale (a write made outside the Store's transactions)."""
        if since % 3600 or until % 3600:
            return False
        d = rollup_dirty.c
        q = select(func.count()).where(d.pbx == pbx, d.hour >= int(since // 3600), d.hour < int(until // 3600))
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one() == 0

    @staticmethod
    def _hours(table, pbx: str, since: float, until: float) -> tuple:
        return table.c.pbx == pbx, table.c.hour >= int(since // 3600), table.c.hour < int(until // 3600)

    @staticmethod
    def _spans(table, pbx: str, since: float, until: float) -> tuple:
        """The rows of a leveled rollup (spans of 1, 24, 384 hours; the warnings' 1 and 24) that
        make up [since, until)."""
        from callmon.storage.rollups import LEVELS, WARNING_LEVELS, pieces

        t = table.c
        levels = WARNING_LEVELS if table is rollup_warnings else LEVELS
        parts = [and_(t.span == s, t.hour >= a, t.hour < b)
                 for s, a, b in pieces(int(since // 3600), int(until // 3600), levels)]
        return (t.pbx == pbx, or_(*parts) if parts else t.span < 0)

    def rollup_customer_cube(self, pbx: str, since: float, until: float, offset: int, by: str) -> list[tuple]:
        """:meth:`customer_cube`'s counts (tuples) from ``rollup_customer`` per team, queue and
        ``by``: ``day`` (``lh`` = the local day's first hour) or ``hour`` (``lh`` = the local
        hour of the day, 0-23), ``offset`` a whole number of hours; through the driver."""
        r = rollup_customer.c
        lh = self._local_key(r.hour, offset, by)
        counts = [func.sum(c) for c in rollup_customer.columns if c.name not in ("pbx", "hour", "team", "queue")]
        q = select(r.team, r.queue, lh, *counts).where(*self._hours(rollup_customer, pbx, since, until)).group_by(
            r.team, r.queue, lh)
        return self._raw(q)

    def rollup_answered_ring_seconds(self, pbx: str, since: float, until: float, offset: int, by: str) -> list[tuple]:
        """:meth:`answered_ring_seconds` from ``rollup_customer_rs``, per ``by`` as
        :meth:`rollup_customer_cube`."""
        r = rollup_customer_rs.c
        lh = self._local_key(r.hour, offset, by)
        q = select(r.team, r.queue, lh, r.ring_seconds, func.sum(r.n)).where(
            *self._hours(rollup_customer_rs, pbx, since, until)).group_by(r.team, r.queue, lh, r.ring_seconds)
        return self._raw(q)

    @staticmethod
    def _local_key(hour, offset: int, by: str):
        local = hour + offset // 3600
        if by == "day":
            return ((local // 24) * 24).label("lh")  # the day's first hour
        if by == "hour":
            return (local - (local // 24) * 24).label("lh")  # no %: the driver reads the text unparsed
        raise ValueError(f"by day or hour, not {by!r}")

    def rollup_agent_cube(self, pbx: str, since: float, until: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(:meth:`agent_cube`, :meth:`credited_calls`) from ``rollup_agents``."""
        r = rollup_agents.c
        counts = [c.name for c in rollup_agents.columns if c.name not in ("pbx", "span", "hour", "agent", "team")]
        q = select(r.agent, r.team, *(func.sum(r[c]).label(c) for c in counts)).where(
            *self._spans(rollup_agents, pbx, since, until)).group_by(r.agent, r.team)
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(q)]
        cube = [{k: v for k, v in row.items() if k != "credited"} for row in rows if row["rows"]]
        credited = [{"agent": row["agent"], "team": row["team"], "calls": row["credited"]} for row in rows
                    if row["credited"]]
        return cube, credited

    def rollup_agent_ring_seconds(self, pbx: str, since: float, until: float) -> list[tuple]:
        """:meth:`agent_ring_seconds` from ``rollup_agent_rs``."""
        r = rollup_agent_rs.c
        q = select(r.agent, r.ring_seconds, func.sum(r.n)).where(
            *self._spans(rollup_agent_rs, pbx, since, until)).group_by(r.agent, r.ring_seconds)
        return self._raw(q)

    def rollup_warnings(self, pbx: str, since: float, until: float) -> list[tuple]:
        """(employee, hour, span, n, call ids joined by ``rollups.WARNING_SEP``) of the failed
        verdicts of [since, until), by employee then time (see ``rollup_warnings``)."""
        r = rollup_warnings.c
        q = select(r.employee, r.hour, r.span, r.n, r.call_ids).where(
            *self._spans(rollup_warnings, pbx, since, until)).order_by(r.employee, r.hour)
        return self._raw(q)

    def warning_times(self, pbx: str, call_ids: Sequence[str]) -> dict[str, float]:
        """call_id -> ``at`` of the agent results of some calls (one moment per call)."""
        if not call_ids:
            return {}
        a = agent_results.c
        q = select(a.call_id, a.at).where(a.pbx == pbx, one_of(a.call_id, set(call_ids)))
        with self.engine.connect() as conn:
            return {cid: at for cid, at in conn.execute(q)}

    def rollup_ring_seconds(self, pbx: str, since: float, until: float) -> list[tuple]:
        """(ring_seconds, n): the histogram of the ring seconds of the answered inbound calls
        with rings of [since, until) (:meth:`answered_ring_seconds` of the whole span), from
        ``rollup_customer_rs``; through the driver."""
        r = rollup_customer_rs.c
        q = select(r.ring_seconds, func.sum(r.n)).where(*self._hours(rollup_customer_rs, pbx, since, until)).group_by(
            r.ring_seconds)
        return self._raw(q)

    def rollup_agent_totals(self, pbx: str, since: float, until: float) -> list[dict[str, Any]]:
        """Per agent (the directory's name, else the extension; by name) with a verdict in
        [since, until), from ``rollup_agents``: ``team`` the largest team name among their
        verdicts (as ``MAX(team)`` over them), ``rang``, ``answered``, ``ring_pass``,
        ``ring_fail``, ``rs_sum``/``rs_n`` (the ring seconds of the answered rings) and
        ``agent_first_hangups``."""
        r = rollup_agents.c
        sums = [func.sum(r[c]).label(c) for c in
                ("rang", "answered", "ring_pass", "ring_fail", "rs_sum", "rs_n", "agent_first_hangups")]
        # a row of credited calls alone (no verdict: ``rows`` 0) names no team of the verdicts
        team = func.max(case((r.rows > 0, r.team))).label("team")
        q = select(r.agent, team, *sums).where(*self._spans(rollup_agents, pbx, since, until)).group_by(
            r.agent).having(func.sum(r.rows) > 0).order_by(r.agent)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(q)]

    def rollup_inbound_totals_by(self, pbx: str, since: float, until: float, by: str | None) -> list[dict[str, Any]]:
        """:meth:`inbound_totals_by` (``by`` None, ``team`` or ``queue``) from ``rollup_customer``,
        without ``answered_rung`` and ``avg_rings`` (the trends do not show them)."""
        r = rollup_customer.c
        sums = [func.coalesce(func.sum(r[c]), 0).label(c) for c in
                ("calls", "answered", "abandoned", "ring_pass", "ring_fail", "outbound", "agent_first_hangups")]
        avg = (func.sum(r.rs_sum) / func.nullif(func.sum(r.rs_n), 0)).label("avg_ring_seconds")
        where = self._hours(rollup_customer, pbx, since, until)
        if by is None:
            q = select(*sums, avg).where(*where)
        elif by in ("team", "queue"):
            q = select(r[by], *sums, avg).where(*where).group_by(r[by]).order_by(r[by])
        else:
            raise ValueError(f"the rollups are not kept by {by!r}")
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(q)]

    def failed_results(self, pbx: str, since: float, until: float) -> pd.DataFrame:
        """The agents' failed verdicts of [since, until) (the warnings), as the agent-results frame."""
        from callmon.storage.frames import AGENT_FRAME_COLUMNS

        return self._frame(agent_results, agent_results.c.at, AGENT_FRAME_COLUMNS, pbx, since, until,
                           agent_results.c.result == "fail")

    def failed_warnings(self, pbx: str, since: float, until: float, employee: str | None = None) -> pd.DataFrame:
        """The agents' failed verdicts of [since, until) as warnings: ``employee`` (the agent,
        else the extension), ``rule``, ``call_id``, ``at``, ``reason`` ('' for none), in the order
        of :meth:`failed_results` (the time, then the row). Only these columns are read: a
        half-year of a million calls has them by the hundred thousand."""
        import pandas as pd

        a = agent_results.c
        q = select(func.coalesce(a.agent, a.extension), a.rule, a.call_id, a.at, func.coalesce(a.reason, "")).where(
            a.pbx == pbx, a.at >= since, a.at < until, a.result == "fail").order_by(a.at, a.id)
        if employee is not None:
            q = q.where(func.coalesce(a.agent, a.extension) == employee)
        columns = ["employee", "rule", "call_id", "at", "reason"]
        frame = pd.DataFrame.from_records(self._raw(q), columns=columns, coerce_float=True)
        return frame.astype({"at": float}) if len(frame) else pd.DataFrame(columns=columns)

    def queues_of(self, pbx: str, call_ids: Sequence[str]) -> dict[str, str | None]:
        """call_id -> queue of some calls that take part in an obligation (a ``callback_id``,
        as the obligations' missed calls have): read along ix_calls_callback, where a
        half-year's 10,000 ids looked up by call_id made PostgreSQL scan every call (1M calls:
        245 ms against 10 ms)."""
        if not call_ids:
            return {}
        q = select(calls.c.call_id, calls.c.queue).where(calls.c.pbx == pbx, calls.c.callback_id >= 1,
                                                         one_of(calls.c.call_id, set(call_ids)))
        with self.engine.connect() as conn:
            return dict(conn.execute(q).all())

    def _raw(self, q) -> list[tuple]:
        with self.engine.connect() as conn:
            compiled = q.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            cursor = conn.connection.driver_connection.cursor()
            try:
                cursor.execute(str(compiled))  # literal values, no parameters to parse
                return cursor.fetchall()
            finally:
                cursor.close()

    def connect(self):
        """A connection for several reads in one snapshot: ``with store.connect() as conn``."""
        return self.engine.connect()


__all__ = ["CallFilter", "GRID_COLUMNS", "MAX_PAGE", "ReadQueries"]
