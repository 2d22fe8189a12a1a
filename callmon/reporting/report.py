"""The period report: what the store holds for a period, aggregated, named by its rule set.

:func:`build_report` reads one PBX's calls, agent results and callback obligations of a period
(``2026-H1``, ``2026-Q3``, ``2026-05``, ``2026``) and makes the tables of
:mod:`callmon.metrics.aggregates`, the callback list and the CS-training list;
:mod:`callmon.reporting.writers` writes them. Warnings (every failed rule for an employee) and the
training list are here too, for ``callmon training``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from callmon.metrics.aggregates import report_tables
from callmon.metrics.warnings import RuleWarning, period_bounds, training_list, warnings_for_callback
from callmon.service.pipeline import Pipeline
from callmon.reporting.render import iso
from callmon.storage.callbacks import callback_from_row

log = logging.getLogger(__name__)

_KINDS = ((re.compile(r"^\d{4}-H[12]$"), "half-year"), (re.compile(r"^\d{4}-Q[1-4]$"), "quarter"),
          (re.compile(r"^\d{4}-\d{2}$"), "month"), (re.compile(r"^\d{4}$"), "year"))


def period_kind(label: str) -> str:
    """``2026-H1`` -> half-year, ``2026-Q3`` -> quarter, ``2026-05`` -> month, ``2026`` -> year."""
    text = label.strip().upper()
    for pattern, kind in _KINDS:
        if pattern.match(text):
            return kind
    raise ValueError(f"not a period (2026, 2026-H1, 2026-Q3, 2026-05): {label!r}")


@dataclass(frozen=True)
class Period:
    """A period label and its [start, end) in epoch seconds (the PBX's zone)."""

    label: str
    start: float
    end: float

    @classmethod
    def of(cls, label: str, tz) -> Period:
        period_kind(label)
        start, end = period_bounds(label, tz)
        return cls(label.strip().upper(), start.timestamp(), end.timestamp())


def callback_rows(pipeline: Pipeline, period: Period, now: float) -> list[dict[str, Any]]:
    """The obligations opened in the period, with their status as of ``now``."""
    return [r for r in pipeline.obligations.at(now) if period.start <= r["first_missed_at"] < period.end]


def period_warnings(pipeline: Pipeline, period: Period, now: float,
                    callbacks: list[dict[str, Any]] | None = None) -> list[RuleWarning]:
    """Every failed rule for an employee in the period: the agents' verdicts on calls, and failed
    callbacks of memos they took (as of ``now``, counted at the due time)."""
    ar = pipeline.store.agent_results_frame(pipeline.pbx, period.start, period.end)
    fails = ar[ar["result"] == "fail"]
    warnings = [RuleWarning(agent if isinstance(agent, str) else ext, rule, call_id, at, reason or "")
                for agent, ext, rule, call_id, at, reason
                in fails[["agent", "extension", "rule", "call_id", "at", "reason"]].itertuples(index=False)]
    for row in callbacks if callbacks is not None else callback_rows(pipeline, period, now):
        for w in warnings_for_callback(callback_from_row(row), now, pipeline.ruleset, pipeline.config.directory):
            if period.start <= w.at < period.end:
                warnings.append(w)
    return warnings


def training_rows(pipeline: Pipeline, period: Period, now: float,
                  callbacks: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Employees with at least the configured number of warnings in the period."""
    tz = pipeline.config.tz
    warnings = period_warnings(pipeline, period, now, callbacks)
    teams = {e.name: e.team for e in pipeline.config.directory.values()}
    entries = training_list(warnings, pipeline.config.training_threshold, period_kind(period.label), tz)
    return [{"employee": e.employee, "team": teams.get(e.employee), "period": e.period, "warnings": e.warnings,
             "reached_at": e.reached_at, "call_ids": list(e.call_ids)} for e in entries]


@dataclass(frozen=True)
class Report:
    """A period's tables and what they were made with."""

    pbx: str
    period: Period
    rule_set: str
    at: float
    generated_at: float
    timezone: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

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


def build_report(pipeline: Pipeline, label: str, now: float, generated_at: float | None = None) -> Report:
    """The report of one period; callbacks and callback warnings as they stood at ``now``."""
    tz = pipeline.config.tz
    period = Period.of(label, tz)
    calls = pipeline.store.calls_frame(pipeline.pbx, period.start, period.end)
    agent_results = pipeline.store.agent_results_frame(pipeline.pbx, period.start, period.end)
    cb_rows = callback_rows(pipeline, period, now)
    callbacks = pd.DataFrame(
        [{**r, "missed_call_ids": json.loads(r["missed_call_ids"])} for r in cb_rows],
        columns=["callback_id", "number", "missed_call_ids", "first_missed_at", "due_at", "status", "fulfilled_at",
                 "fulfilled_by_call_id", "fulfilled_by_agent", "agent", "team", "name", "purpose", "cancel_reason"],
    )
    tables = report_tables(calls, agent_results, callbacks, tz)
    listing = callbacks.assign(missed_call_ids=callbacks["missed_call_ids"].map(" ".join))
    for col in ("first_missed_at", "due_at", "fulfilled_at"):
        listing[col] = listing[col].map(lambda t: iso(t, tz) if pd.notna(t) else None)
    tables["callbacks"] = listing
    training = pd.DataFrame(training_rows(pipeline, period, now, cb_rows),
                            columns=["employee", "team", "period", "warnings", "reached_at", "call_ids"])
    training["reached_at"] = training["reached_at"].map(lambda t: iso(t, tz))
    training["call_ids"] = training["call_ids"].map(" ".join)
    tables["training"] = training
    return Report(pipeline.pbx, period, pipeline.ruleset.description, now,
                  generated_at if generated_at is not None else now, pipeline.config.timezone, tables)
