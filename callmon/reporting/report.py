"""The period report: what the store holds for a period, aggregated, named by its rule set.

:func:`build_report` reads one PBX's calls, agent results and callback obligations of a period
(``2026-H1``, ``2026-Q3``, ``2026-05``, ``2026``, ``2026-W49``, ``2026-12-06``) through the read
side (:class:`callmon.read.Reader`: no Pipeline, nothing written) and makes the tables of
:mod:`callmon.metrics.aggregates`, the callback list and the CS-training list, plus the trends
(the institution and each team over the periods before); :mod:`callmon.reporting.writers`
writes them. Numbers pass through the viewer's mask. Warnings (every failed rule for an
employee) and the training list are here too, for ``callmon training``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from callmon.metrics.warnings import RuleWarning, TrainingEntry, period_of, warnings_for_callback
from callmon.read import OPERATOR, Period, Reader, Viewer, period_kind
from callmon.reporting.render import iso
from callmon.storage.callbacks import callback_from_row

log = logging.getLogger(__name__)

__all__ = ["Period", "Report", "build_report", "callback_rows", "period_kind", "period_warnings", "training_rows"]

TREND_PERIODS = 6
TRAINING_KINDS = ("month", "quarter", "half-year", "year")


def callback_rows(reader: Reader, period: Period, now: float) -> list[dict[str, Any]]:
    """The obligations opened in the period, with their status as of ``now`` (unmasked)."""
    return reader.callbacks_at(now, since=period.start, until=period.end)


def period_warnings(reader: Reader, period: Period, now: float,
                    callbacks: list[dict[str, Any]] | None = None,
                    agent_results: pd.DataFrame | None = None) -> list[RuleWarning]:
    """Every failed rule for an employee in the period: the agents' verdicts on calls (read, or
    the period's ``agent_results`` frame already read), and failed callbacks of memos they took
    (as of ``now``, counted at the due time)."""
    frame = _warnings_frame(reader, period, now, callbacks, agent_results)
    return list(map(RuleWarning._make, frame.itertuples(index=False)))


def _warnings_frame(reader: Reader, period: Period, now: float, callbacks: list[dict[str, Any]] | None,
                    agent_results: pd.DataFrame | None, fails: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`period_warnings` as a frame of :class:`RuleWarning`'s fields, in the same order.
    ``fails``: the period's failed verdicts already read as warnings
    (:meth:`~callmon.storage.readonly.ReadStore.failed_warnings`); else from ``agent_results``;
    else read (only the warnings' columns)."""
    if fails is not None:
        frame = fails
    elif agent_results is None:
        frame = reader.store.failed_warnings(reader.pbx, period.start, period.end)
    else:
        failed = agent_results[agent_results["result"] == "fail"]
        employee = failed["agent"].where(failed["agent"].map(lambda a: isinstance(a, str)), failed["extension"])
        frame = pd.DataFrame({"employee": employee.to_numpy(), "rule": failed["rule"].to_numpy(),
                              "call_id": failed["call_id"].to_numpy(), "at": failed["at"].astype(float).to_numpy(),
                              "reason": failed["reason"].fillna("").to_numpy()}, columns=list(RuleWarning._fields))
    frame = frame[list(RuleWarning._fields)]
    more = _callback_warnings(reader, period, now, callbacks)
    if more:
        extra = pd.DataFrame(more, columns=list(RuleWarning._fields))
        frame = pd.concat([frame, extra], ignore_index=True) if len(frame) else extra
    return frame


def _callback_warnings(reader: Reader, period: Period, now: float,
                       callbacks: list[dict[str, Any]] | None) -> list[RuleWarning]:
    """The failed callbacks of the period (as of ``now``) that are warnings for the memo's taker."""
    # only an obligation opened by a memo can be a warning (warnings_for_callback): the others are
    # not parsed
    return [w for row in (callbacks if callbacks is not None else callback_rows(reader, period, now))
            if row.get("memo_agent") for w in warnings_for_callback(callback_from_row(row), now, reader.ruleset, reader.config.directory)
            if period.start <= w.at < period.end]


def _training_from_rollups(reader: Reader, period: Period, now: float, callbacks: list[dict[str, Any]] | None,
                           label: str) -> list[TrainingEntry] | None:
    """:func:`training_in_period` of the period's warnings, from the warnings rollup
    (``rollup_warnings``: each employee's deduplicated failed verdicts per span of hours, call ids
    in order) instead of every failed verdict; None when the rollups do not cover the period.
    An employee with a failed callback in the period (whose warning falls between the verdicts)
    has their verdicts read and merged as the pure path does. The same entries (tested)."""
    store, pbx, threshold = reader.store, reader.pbx, reader.config.training_threshold
    if not store.rollups_cover(pbx, period.start, period.end):
        return None
    from callmon.storage.rollups import WARNING_SEP

    extra: dict[str, list[RuleWarning]] = {}
    for w in _callback_warnings(reader, period, now, callbacks):
        if isinstance(w.employee, str):
            extra.setdefault(w.employee, []).append(w)
    counts: dict[str, int] = {}
    texts: dict[str, list[str]] = {}
    for employee, _hour, _span, n, ids in store.rollup_warnings(pbx, period.start, period.end):
        counts[employee] = counts.get(employee, 0) + n
        texts.setdefault(employee, []).append(ids)
    entries = []
    for employee, more in extra.items():  # merged with the verdicts in time: read theirs
        fails = store.failed_warnings(pbx, period.start, period.end, employee=employee)
        frame = pd.concat([fails, pd.DataFrame(more, columns=list(RuleWarning._fields))], ignore_index=True) \
            if len(fails) else pd.DataFrame(more, columns=list(RuleWarning._fields))
        entries += training_in_period(frame, threshold, label)
    reached = {e: WARNING_SEP.join(texts[e]).split(WARNING_SEP) for e, n in counts.items()
               if n >= threshold and e not in extra}
    at = store.warning_times(pbx, [ids[threshold - 1] for ids in reached.values()])
    entries += [TrainingEntry(e, label, len(ids), float(at[ids[threshold - 1]]), tuple(ids)) for e, ids in reached.items()]
    return sorted(entries, key=lambda e: (e.reached_at, e.employee))


def training_rows(reader: Reader, period: Period, now: float,
                  callbacks: list[dict[str, Any]] | None = None,
                  agent_results: pd.DataFrame | None = None, *,
                  fails: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Employees with at least the configured number of warnings in the period (a month,
    quarter, half-year or year). ``fails``: the period's failed verdicts already read as
    warnings (:meth:`~callmon.storage.readonly.ReadStore.failed_warnings`)."""
    kind = period_kind(period.label)
    if kind not in TRAINING_KINDS:
        raise ValueError(f"the training list is kept per {', '.join(TRAINING_KINDS)}, not per {kind}")
    tz = reader.config.tz
    label = period_of(period.start, kind, tz)
    entries = None
    if agent_results is None and fails is None:
        entries = _training_from_rollups(reader, period, now, callbacks, label)
    if entries is None:
        warnings = _warnings_frame(reader, period, now, callbacks, agent_results, fails)
        entries = training_in_period(warnings, reader.config.training_threshold, label)
    teams = {e.name: e.team for e in reader.config.directory.values()}
    return [{"employee": e.employee, "team": teams.get(e.employee), "period": e.period, "warnings": e.warnings,
             "reached_at": e.reached_at, "call_ids": list(e.call_ids)} for e in entries]


def training_in_period(warnings: list[RuleWarning] | pd.DataFrame, threshold: int, label: str) -> list[TrainingEntry]:
    """:func:`callmon.metrics.warnings.training_list` of warnings that all fall in one period
    (``label``), computed on columns: a half-year of a million calls has warnings by the hundred
    thousand. The same entries (tested against it)."""
    import numpy as np

    frame = warnings if isinstance(warnings, pd.DataFrame) else pd.DataFrame(warnings, columns=list(RuleWarning._fields))
    if frame.empty:
        return []
    # on integer codes, not strings: by time then call (stable), each (employee, rule, call) once
    calls, call_ids = pd.factorize(frame["call_id"], sort=True)
    employees, names = pd.factorize(frame["employee"])
    rules, _ = pd.factorize(frame["rule"], use_na_sentinel=False)
    at = frame["at"].to_numpy(dtype=float)
    order = np.lexsort((calls, at))
    key = (employees[order].astype("int64") * (int(rules.max()) + 1) + rules[order]) * (len(call_ids) + 1) + calls[order]
    order = order[~pd.Series(key).duplicated(keep="first").to_numpy()]
    order = order[employees[order] >= 0]  # no employee: counted for no one (as groupby drops it)
    if not len(order):
        return []
    sizes = np.bincount(employees[order], minlength=len(names))
    by_employee = order[np.argsort(employees[order], kind="stable")]
    ends = np.cumsum(sizes)
    entries = []
    for code in np.flatnonzero(sizes >= threshold):
        rows = by_employee[ends[code] - sizes[code]:ends[code]]
        ids = tuple(call_ids[calls[rows]])
        entries.append(TrainingEntry(names[code], label, len(ids), float(at[rows[threshold - 1]]), ids))
    return sorted(entries, key=lambda e: (e.reached_at, e.employee))


@dataclass(frozen=True)
class Report:
    """A period's tables and what they were made with. ``tables`` are what every format holds
    (csv, xlsx, html, pdf); ``trends`` (``institution``, ``team``: figures per period, oldest
    first) are drawn in the html and pdf; ``masked`` says whether numbers were masked."""

    pbx: str
    period: Period
    rule_set: str
    at: float
    generated_at: float
    timezone: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    trends: dict[str, pd.DataFrame] = field(default_factory=dict)
    masked: bool = False

    def meta(self) -> list[tuple[str, str, Any]]:
        """(key, heading, value) of what the report states about itself."""
        tz = ZoneInfo(self.timezone)
        return [
            ("period", "기간 period", self.period.label),
            ("rule_set", "적용 규칙 rule set", self.rule_set),
            ("pbx", "교환기 PBX", self.pbx),
            ("timezone", "시간대 time zone", self.timezone),
            ("callbacks_at", "콜백 기준 시각 callbacks as of", iso(self.at, tz)),
            ("generated_at", "작성 generated at", iso(self.generated_at, tz)),
        ]


def _trends(reader: Reader, period: Period, n: int) -> dict[str, pd.DataFrame]:
    """The institution's and each team's figures over the ``n`` periods up to this one."""
    if n <= 1:
        return {}
    return {"institution": reader.trend(period.kind, period.start, n),
            "team": reader.trend(period.kind, period.start, n, by="team")}


def build_report(reader: Reader, label: str, now: float, viewer: Viewer = OPERATOR,
                 generated_at: float | None = None, *, trends: int = TREND_PERIODS) -> Report:
    """The report of one period; callbacks and callback warnings as they stood at ``now``;
    numbers as ``viewer`` may see them. ``ValueError`` for a label that is no period."""
    from concurrent.futures import ThreadPoolExecutor

    tz = reader.config.tz
    period = reader.period(label)
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="callmon-report") as pool:
        # what does not depend on the obligations is read meanwhile
        training = period.kind in TRAINING_KINDS
        rolled = training and reader.store.rollups_cover(reader.pbx, period.start, period.end)
        fails = pool.submit(reader.store.failed_warnings, reader.pbx, period.start, period.end) \
            if training and not rolled else None
        trend = pool.submit(_trends, reader, period, trends)
        prefetched = pool.submit(reader.prefetch_tables, period.start, period.end)
        cb_rows = callback_rows(reader, period, now)
        # the training list reads the warnings while the tables are made
        rows = pool.submit(lambda: training_rows(reader, period, now, cb_rows,
                                                 fails=fails.result() if fails else None)) if training else None
        callbacks = pd.DataFrame(
            [{**r, "missed_call_ids": json.loads(r["missed_call_ids"])} for r in cb_rows],
            columns=["callback_id", "number", "missed_call_ids", "first_missed_at", "due_at", "status",
                     "fulfilled_at", "fulfilled_by_call_id", "fulfilled_by_agent", "agent", "team", "name",
                     "purpose", "cancel_reason"],
        )
        tables = reader.report_tables(period.start, period.end, callbacks, prefetched.result())
        rows = rows.result() if rows else []
        trend = trend.result()
    listing = callbacks.assign(missed_call_ids=callbacks["missed_call_ids"].map(" ".join))
    for col in ("first_missed_at", "due_at", "fulfilled_at"):
        listing[col] = listing[col].map(lambda t: iso(t, tz) if pd.notna(t) else None)
    tables["callbacks"] = viewer.frame(listing)
    columns = ["employee", "team", "period", "warnings", "reached_at", "call_ids"]
    training = pd.DataFrame(rows, columns=columns)
    training["reached_at"] = training["reached_at"].map(lambda t: iso(t, tz))
    training["call_ids"] = training["call_ids"].map(" ".join)
    tables["training"] = training
    return Report(reader.pbx, period, reader.ruleset.description, now,
                  generated_at if generated_at is not None else now, reader.config.timezone, tables, trend,
                  masked=not viewer.full_numbers)
