"""The read side: everything the read-only commands, the reports and the dashboard show, read
from the database without a Pipeline, without migrating and without writing.

    reader = Reader.open(url, config)          # StoreError: no database / schema missing or too old
    viewer = reader.viewer("kim", "viewer")    # who reads: numbers masked unless they may and asked
    reader.data_version()                      # changes when anything shown changes; poll it (cheap)
    reader.tiles(now)                          # today's tiles (Tiles), aggregates computed in SQL
    reader.ringing_now(now, viewer)            # calls in progress with their ring count at `now`
    reader.span_tables(since, until, now)      # summary/team/agent/queue/hour/day tables of a span (in SQL)
    reader.report_tables(since, until, cbs)    # the same tables aggregated by the database (long periods)
    reader.hourly(since, until)                # calls per hour stacked by ring count (DataFrame)
    reader.calls_page(CallFilter(...), viewer, sort=[("arrived_at", True)], offset=0, limit=100)
    reader.call(call_id, viewer)               # one call with its legs (dict) or None
    reader.callback_backlog(now, viewer)       # unmet obligations, overdue first, working time left
    reader.callback_history(since, until, viewer)
    reader.callbacks_at(now, viewer)           # obligations as they stood at `now` (callmon callbacks)
    reader.trend(kind, now, n, by=None|'team') # the last n periods' figures (DataFrame), in SQL
    reader.access_log(viewer)                  # admins: who saw or exported full numbers

The period report itself (tables, writers) is :func:`callmon.reporting.report.build_report`
(reader, label, now, viewer). Times are epoch seconds; the configured zone is ``reader.tz``.
Every method returns plain frozen records, dicts or DataFrames; numbers pass through the
viewer's mask (:mod:`callmon.read.privacy`). Rows are as the ``calls``/``callbacks`` tables hold
them (``callmon calls --format json`` renders the same rows).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from callmon.core.config import Config
from callmon.metrics.rules import RuleSet
from callmon.read.callbacks import obligations_at, status_at
from callmon.read.periods import Period
from callmon.read.privacy import OPERATOR, Viewer
from callmon.storage.readonly import ReadStore, open_readonly
from callmon.storage.reads import GRID_COLUMNS, MAX_PAGE, CallFilter

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

__all__ = ["CallFilter", "CallPage", "GRID_COLUMNS", "LiveCall", "MAX_PAGE", "Reader", "Tiles"]

RING_BUCKETS = 5  # rings_1 .. rings_5, rings_6plus (as the report's aggregates)
# the headline figures of a period (Reader.period_summary)
SUMMARY = ("calls", "answered", "abandoned", "ring_rate", "avg_ring_seconds", "p90_ring_seconds", "outbound",
           "agent_first_hangups")


@dataclass(frozen=True)
class Tiles:
    """Today's (or any span's) headline figures; inbound calls unless said otherwise.

    ``ring_rate`` = answered before the limit ring / calls the ring rule judged (None: none);
    ``avg_rings``/``p90_rings`` and ``avg_ring_seconds``/``p90_ring_seconds`` over the answered
    calls (p90 by linear interpolation, as the report); ``agent_first_hangups`` any direction;
    ``callbacks_open``/``callbacks_overdue`` the unmet obligations at ``at`` not yet due / past
    due (``callbacks_waiting`` both)."""

    since: float
    until: float
    at: float
    calls: int
    answered: int
    abandoned: int
    ring_pass: int
    ring_fail: int
    ring_rate: float | None
    avg_rings: float | None
    p90_rings: float | None
    avg_ring_seconds: float | None
    p90_ring_seconds: float | None
    outbound: int
    agent_first_hangups: int
    callbacks_open: int
    callbacks_overdue: int

    @property
    def callbacks_waiting(self) -> int:
        """Every obligation still unmet at ``at``: the open ones plus the overdue ones (a subset
        of the waiting, not a separate pile)."""
        return self.callbacks_open + self.callbacks_overdue


@dataclass(frozen=True)
class LiveCall:
    """A call in progress as the listener last wrote it, and its ring count at ``at``:
    ``rings`` = ring bursts started since ``first_ring_at`` (0 while queued, frozen at the
    answer). The UI may climb it itself with :meth:`Reader.rings_after`."""

    call_id: str
    state: str  # ringing | queued | talking
    caller: str | None
    called: str | None
    queue: str | None
    arrived_at: float | None
    first_ring_at: float | None
    answered_at: float | None
    answered_by: str | None
    updated_at: float
    at: float
    rings: int
    ring_seconds: float | None


@dataclass(frozen=True)
class CallPage:
    """One page of the calls grid: rows (dicts, :data:`GRID_COLUMNS` plus ``pbx``), the total
    the filter matches, and where the page starts."""

    rows: tuple[dict[str, Any], ...]
    total: int
    offset: int
    limit: int


class Reader:
    """The read side of one PBX in one database, under one configuration (directory merged with
    the imported one, as the writers do)."""

    def __init__(self, store: ReadStore, config: Config, pbx: str | None = None):
        self.store = store
        self.pbx = pbx or config.pbx
        imported = store.load_directory(self.pbx)
        self.config = replace(config, directory={**config.directory, **imported}) if imported else config
        self.ruleset = RuleSet.from_config(self.config)

    @classmethod
    def open(cls, url: str | None, config: Config, pbx: str | None = None) -> Reader:
        """Open ``url`` read-only (:func:`callmon.storage.readonly.open_readonly`)."""
        return cls(open_readonly(url), config, pbx)

    def close(self) -> None:
        self.store.dispose()

    # -- who reads ---------------------------------------------------------------------------------
    @property
    def tz(self):
        return self.config.tz

    def viewer(self, user: str | None, role: str, reveal: bool = False) -> Viewer:
        """A :class:`Viewer` with this configuration's mask style and region."""
        return Viewer(user, role, reveal, self.config.mask_style, self.config.region)

    # -- following the database -------------------------------------------------------------------
    def data_version(self) -> tuple:
        """Changes whenever a call, a live call, an obligation, a memo or a cancellation changes."""
        return self.store.data_version(self.pbx)

    def today(self, now: float) -> Period:
        """The day holding ``now`` in the PBX's zone."""
        return Period.containing("day", now, self.tz)

    # -- the live page -------------------------------------------------------------------------------
    def tiles(self, now: float, since: float | None = None, until: float | None = None) -> Tiles:
        """The headline figures of [since, until) (default: today up to ``now``), in SQL."""
        if since is None or until is None:
            day = self.today(now)
            since, until = day.start if since is None else since, min(day.end, now) if until is None else until
        t = self.store.inbound_totals(self.pbx, since, until)
        n = int(t["answered_rung"])
        judged = t["ring_pass"] + t["ring_fail"]
        cb = self.store.callback_counts(self.pbx, now)
        return Tiles(
            since=since, until=until, at=now, calls=int(t["calls"]), answered=int(t["answered"]),
            abandoned=int(t["abandoned"]), ring_pass=int(t["ring_pass"]), ring_fail=int(t["ring_fail"]),
            ring_rate=t["ring_pass"] / judged if judged else None,
            avg_rings=_f(t["avg_rings"]), p90_rings=self.store.answered_quantile(self.pbx, since, until, "rings", 0.9, n),
            avg_ring_seconds=_f(t["avg_ring_seconds"]),
            p90_ring_seconds=self.store.answered_quantile(self.pbx, since, until, "ring_seconds", 0.9, n),
            outbound=int(t["outbound"]), agent_first_hangups=int(t["agent_first_hangups"]),
            callbacks_open=int(cb["open"]), callbacks_overdue=int(cb["overdue"]),
        )

    def period_summary(self, since: float, until: float, rolled: bool | None = None) -> dict[str, Any]:
        """The headline figures of [since, until) the reports page shows (:data:`SUMMARY`, as
        :meth:`tiles` has them; p90 by the report's histogram): from the write-side rollups
        (``rolled`` None: when they cover the span), else as :meth:`tiles` (the same figures, tested)."""
        import pandas as pd

        from callmon.read.period_tables import histogram_quantile

        if rolled is None:
            rolled = self.store.rollups_cover(self.pbx, since, until)
        if not rolled:
            tiles = self.tiles(until, since, until)
            return {k: getattr(tiles, k) for k in SUMMARY}
        (t,) = self.store.rollup_inbound_totals_by(self.pbx, since, until, None)
        histogram = pd.DataFrame(self.store.rollup_ring_seconds(self.pbx, since, until), columns=["rs", "n"])
        p90 = histogram_quantile(histogram.assign(_k=0).astype({"rs": float, "n": "int64"}), 0.9)
        judged = t["ring_pass"] + t["ring_fail"]
        return {"calls": int(t["calls"]), "answered": int(t["answered"]), "abandoned": int(t["abandoned"]),
                "ring_rate": t["ring_pass"] / judged if judged else None, "avg_ring_seconds": _f(t["avg_ring_seconds"]),
                "p90_ring_seconds": float(p90[0]) if len(p90) else None, "outbound": int(t["outbound"]),
                "agent_first_hangups": int(t["agent_first_hangups"])}

    def rings_after(self, seconds: float) -> int:
        """Ring bursts started ``seconds`` after ringing began, by the configured cadence."""
        return self.ruleset.ring.cadence.rings_at(max(0.0, seconds))

    @property
    def ring_limit(self) -> int:
        """The ring the answer must come before (amber the ring before it, red from it)."""
        return self.ruleset.ring.limit

    def ringing_now(self, now: float, viewer: Viewer = OPERATOR) -> list[LiveCall]:
        """The calls in progress (ringing, queued, talking), oldest first, with their ring count
        at ``now``."""
        out = []
        for r in self.store.live_rows(self.pbx):
            r = viewer.row(r)
            start = r["first_ring_at"]
            end = r["answered_at"] if r["answered_at"] is not None else now
            seconds = None if start is None else max(0.0, end - start)
            out.append(LiveCall(r["call_id"], r["state"], r["caller"], r["called"], r["queue"], r["arrived_at"],
                                start, r["answered_at"], r["answered_by"], r["updated_at"], now,
                                0 if seconds is None else self.rings_after(seconds), seconds))
        return out

    def span_tables(self, since: float, until: float, now: float) -> dict[str, pd.DataFrame]:
        """The report's tables (``summary``, ``agent``, ``team``, ``queue``, ``hour``, ``day``;
        :func:`callmon.metrics.aggregates.report_tables`) of the calls of [since, until), with
        the stored obligations opened in it (unmet ones open or overdue at ``now``), aggregated
        by the database as :meth:`report_tables` (the live page asks on every change: pandas
        over a busy day's rows took longer than the queries)."""
        import pandas as pd

        rows = self.store.callbacks_where(self.pbx, since=since, until=until)
        cbs = pd.DataFrame([_cb_status(r, now) for r in rows], columns=_CB_FRAME)
        return self.report_tables(since, until, cbs)

    def prefetch_tables(self, since: float, until: float) -> dict[str, Any] | None:
        """What :meth:`report_tables` of [since, until) reads from the rollups, read ahead (it
        needs no obligations: the report reads it while it derives them); None if the span is
        not read from the rollups."""
        from callmon.read.period_tables import prefetch

        return prefetch(self.store, self.pbx, since, until, self.tz)

    def report_tables(self, since: float, until: float, callbacks: pd.DataFrame,
                      prefetched: dict[str, Any] | None = None) -> dict[str, pd.DataFrame]:
        """The report's tables of [since, until) (:func:`callmon.metrics.aggregates.report_tables`)
        with these obligations (a frame as the report makes it), aggregated by the database
        (:mod:`callmon.read.period_tables`), from the write-side rollups where they cover the span
        (``prefetched``: :meth:`prefetch_tables`): a half-year of a million calls is not read row by row.
        A zone whose offset changes within the span is read row by row instead."""
        from callmon.metrics.aggregates import report_tables
        from callmon.read.period_tables import period_tables

        tables = period_tables(self.store, self.pbx, since, until, callbacks, self.tz, prefetched)
        if tables is None:
            calls = self.store.calls_frame(self.pbx, since, until)
            agent_results = self.store.agent_results_frame(self.pbx, since, until)
            tables = report_tables(calls, agent_results, callbacks, self.tz)
        return tables

    def hourly(self, since: float, until: float) -> pd.DataFrame:
        """Inbound calls per local hour of [since, until), by the ring they were answered in:
        columns ``hour``, ``rings_1`` .. ``rings_5``, ``rings_6plus``, ``unanswered``, ``calls``
        (every hour 0-23 present); the report's ``hour`` table's figures."""
        import pandas as pd

        from callmon.metrics.aggregates import customer_view, with_local_time
        from callmon.read.period_tables import CUSTOMER_COUNTS, fixed_offset

        cols = [f"rings_{k}" for k in range(1, RING_BUCKETS + 1)] + [f"rings_{RING_BUCKETS + 1}plus"]
        out = pd.DataFrame({"hour": range(24)})
        offset = fixed_offset(self.tz, since, until)
        if offset is not None:  # the database's per-hour counts (as the report's hour table)
            cube = pd.DataFrame(self.store.customer_cube(self.pbx, since, until, offset),
                                columns=["team", "queue", "lh", *CUSTOMER_COUNTS])
            counts = cube[["calls", *cols]].astype("float64")
            table = counts.assign(hour=cube["lh"].astype("int64") % 24).groupby("hour")[["calls", *cols]].sum()
            table = table.reset_index()
        else:
            calls = self.store.calls_frame(self.pbx, since, until)
            table = customer_view(with_local_time(calls, "arrived_at", self.tz), key="hour")
            if len(table):
                table = table[table["hour"] != "(none)"].astype({"hour": int})
        if len(table):
            out = out.merge(table[["hour", "calls", *cols]], on="hour", how="left")
        for c in ["calls", *cols]:
            out[c] = out[c].fillna(0).astype("int64") if c in out else 0
        out["unanswered"] = out["calls"] - out[cols].sum(axis=1)
        return out[["hour", *cols, "unanswered", "calls"]]

    # -- the calls grid -------------------------------------------------------------------------------
    def calls_page(self, f: CallFilter = CallFilter(), viewer: Viewer = OPERATOR,
                   sort: Sequence[tuple[str, bool]] = (("arrived_at", True),), offset: int = 0,
                   limit: int = 100) -> CallPage:
        """One page of the filtered, sorted calls and the filter's total (both in SQL).
        ``sort``: ``(column, descending)`` pairs of :data:`GRID_COLUMNS`; ``limit`` <= 1000."""
        rows = self.store.calls_page(self.pbx, f, sort, offset, limit)
        return CallPage(tuple(viewer.rows(rows)), self.store.count_calls(self.pbx, f), offset, min(limit, MAX_PAGE))

    def call(self, call_id: str, viewer: Viewer = OPERATOR) -> dict[str, Any] | None:
        """One call with its ``legs`` (each: channel, endpoint, party, created/ring/answer/end
        times, dial status, hang-up cause), or None."""
        row = self.store.call_with_legs(self.pbx, call_id)
        return None if row is None else viewer.row(row)

    def calls(self, f: CallFilter = CallFilter(), viewer: Viewer = OPERATOR, *, all_pbx: bool = False,
              with_legs: bool = True) -> Iterator[dict[str, Any]]:
        """Every call of the filter, oldest first, with legs (``callmon calls``), streamed."""
        for row in self.store.iter_calls(None if all_pbx else self.pbx, f, with_legs):
            yield viewer.row(row)

    def filter_options(self) -> dict[str, list[str]]:
        """The teams, agents and queues the grid's filters offer."""
        return {c: self.store.distinct_values(self.pbx, c) for c in ("team", "agent", "queue")}

    # -- callbacks -------------------------------------------------------------------------------------
    def callbacks_at(self, now: float, viewer: Viewer = OPERATOR, *, since: float | None = None,
                     until: float | None = None) -> list[dict[str, Any]]:
        """The obligations as they stood at ``now``: what ``callmon callbacks --at`` lists; those
        opened in [since, until) when given (a report's period). As stored when ``now`` is at or
        after everything they come from (:func:`callmon.read.callbacks.obligations_at`)."""
        return viewer.rows(obligations_at(self.store, self.pbx, self.ruleset, self.config.directory, now,
                                          since=since, until=until))

    def callback_backlog(self, now: float, viewer: Viewer = OPERATOR) -> list[dict[str, Any]]:
        """The unmet obligations at ``now``, overdue first, then by due time; each with
        ``status`` (open | overdue), ``seconds_left`` (clock) and ``working_seconds_left``
        (counted by the callback rule's calendar; negative once overdue)."""
        policy = self.ruleset.policy
        whole_day = policy.rule == "clock_hours"
        out = []
        for r in self.store.callbacks_where(self.pbx, unmet=True, until=math.nextafter(now, math.inf)):
            row = _cb_status(r, now)
            row["seconds_left"] = r["due_at"] - now
            row["working_seconds_left"] = policy.calendar.working_seconds_between(now, r["due_at"], whole_day=whole_day)
            out.append(row)
        out.sort(key=lambda r: (r["status"] != "overdue", r["due_at"], r["callback_id"]))
        return viewer.rows(out)

    def callback_history(self, since: float | None = None, until: float | None = None, viewer: Viewer = OPERATOR,
                         limit: int | None = 500) -> list[dict[str, Any]]:
        """Closed obligations (met, late, resolved by the customer, cancelled), latest first,
        closed in [since, until)."""
        return viewer.rows(self.store.callbacks_where(self.pbx, unmet=False, since=since, until=until, limit=limit))

    # -- the access log (admins) ----------------------------------------------------------------------
    def access_log(self, viewer: Viewer, since: float | None = None, until: float | None = None,
                   limit: int | None = 1000) -> list[dict[str, Any]]:
        """Who saw or exported full numbers, when, what, why (newest first); admins only
        (:class:`~callmon.read.privacy.NotAllowed` otherwise)."""
        from callmon.read.privacy import MAY_READ_ACCESS_LOG, NotAllowed
        from callmon.storage.users import access_rows

        if viewer.role not in MAY_READ_ACCESS_LOG:
            raise NotAllowed(f"a {viewer.role} may not read the access log")
        return access_rows(self.store.engine, since, until, limit)

    # -- reports ----------------------------------------------------------------------------------------
    def period(self, label: str) -> Period:
        """A period by its label (``2026-12-06``, ``2026-W49``, ``2026-12``, ``2026-Q4``, ``2026-H2``, ``2026``)."""
        return Period.of(label, self.tz)

    def trend(self, kind: str, now: float, n: int = 6, by: str | None = None) -> pd.DataFrame:
        """The figures of the last ``n`` periods of ``kind`` up to the one holding ``now``
        (oldest first), in SQL: ``period``, (``by``'s value: ``team``, ``agent``, ``queue``),
        ``calls``, ``answered``, ``abandoned``, ``ring_rate``, ``abandonment_rate``,
        ``avg_ring_seconds``, ``agent_first_hangups``. ``by`` None: the institution."""
        import pandas as pd

        rows = []
        for p in Period.containing(kind, now, self.tz).back(n):
            # a period's bounds are local midnights: whole UTC hours in a zone of whole-hour offsets
            rolled = by != "agent" and self.store.rollups_cover(self.pbx, p.start, p.end)
            totals = self.store.rollup_inbound_totals_by if rolled else self.store.inbound_totals_by
            for t in totals(self.pbx, p.start, p.end, by):
                if by is not None and not (t["calls"] or t["outbound"]):
                    continue
                judged = t["ring_pass"] + t["ring_fail"]
                rows.append({"period": p.label, **({by: t[by]} if by else {}), "calls": int(t["calls"]),
                             "answered": int(t["answered"]), "abandoned": int(t["abandoned"]),
                             "ring_rate": t["ring_pass"] / judged if judged else None,
                             "abandonment_rate": t["abandoned"] / t["calls"] if t["calls"] else None,
                             "avg_ring_seconds": _f(t["avg_ring_seconds"]),
                             "agent_first_hangups": int(t["agent_first_hangups"])})
        columns = ["period", *([by] if by else []), "calls", "answered", "abandoned", "ring_rate",
                   "abandonment_rate", "avg_ring_seconds", "agent_first_hangups"]
        return pd.DataFrame(rows, columns=columns)


_CB_FRAME = ["callback_id", "number", "missed_call_ids", "first_missed_at", "due_at", "status", "fulfilled_at",
             "fulfilled_by_call_id", "fulfilled_by_agent", "agent", "team", "name", "purpose", "cancel_reason"]


def _cb_status(row: dict[str, Any], now: float) -> dict[str, Any]:
    """A stored obligation with its status at ``now`` (an unmet one is open or overdue) and its
    missed calls as a list."""
    import json

    out = dict(status_at(row, now))
    if isinstance(out.get("missed_call_ids"), str):
        out["missed_call_ids"] = json.loads(out["missed_call_ids"])
    return out


def _f(v) -> float | None:
    return None if v is None else float(v)
