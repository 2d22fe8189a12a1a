"""A session's scores from its stored rows (pure: the rows are read by the caller).

:func:`facts_of` turns stored call and callback rows into :class:`CallFacts`; :func:`score_session`
matches the latest evaluations to them and scores them; :func:`score_one` does it for one
evaluation as entered (the form's running score). The write side (service) and the read side
(read) both feed it from storage.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any, Callable, Iterable, Mapping, Sequence

from callmon.monitoring.matching import MATCHED, CallbackFacts, CallFacts, Match, TestCall, match_all
from callmon.monitoring.scoring import CallScore, GroupScore, group_scores, score_call
from callmon.monitoring.template import Template

LOOKAROUND_S = 86400.0  # how far around the noted times stored calls are read for matching


@dataclass(frozen=True)
class ScoredTestCall:
    """One evaluation (the latest version) with its match, its record's person and its score."""

    evaluation: Mapping[str, Any]
    match: Match
    facts: CallFacts | None
    person: str | None
    team: str | None
    score: CallScore


@dataclass(frozen=True)
class SessionScores:
    """A session's scores: per evaluation, per test call (mean over evaluators), per group."""

    session: Mapping[str, Any]
    template: Template
    evaluations: tuple[ScoredTestCall, ...]
    test_calls: tuple[tuple[CallScore, str | None, str | None], ...]
    groups: tuple[GroupScore, ...] = field(default=())


def span_of(evaluations: Sequence[Mapping[str, Any]], window_s: float) -> tuple[set[str], float, float]:
    """(numbers, since, until): which stored calls the evaluations may match."""
    if not evaluations:
        return set(), 0.0, 0.0
    margin = max(float(window_s), LOOKAROUND_S)
    return ({e["number"] for e in evaluations}, min(e["called_at"] for e in evaluations) - margin,
            max(e["called_at"] for e in evaluations) + margin)


def as_of(row: Mapping[str, Any], now: float) -> dict[str, Any]:
    """A stored obligation as it stood at ``now``: closing statuses are final once they happened;
    an unmet one is open or overdue by its due time."""
    closed = row.get("closed_at")
    if row["status"] not in ("open", "overdue") and closed is not None and closed <= now:
        return dict(row)
    return {**row, "status": "overdue" if now > row["due_at"] else "open", "fulfilled_at": None}


def facts_of(call_rows: Iterable[Mapping[str, Any]], callback_rows: Iterable[Mapping[str, Any]], window_s: float,
             now: float) -> list[CallFacts]:
    """Stored inbound calls (rows of ``calls``) with the callback obligation each opened: the one
    listing the call among its misses, else one opened on its number within ``window_s`` after
    it arrived (a memo taken on the call: the person was absent)."""
    obligations = [as_of(r, now) for r in callback_rows]
    by_call = {}
    for ob in obligations:
        for cid in json.loads(ob["missed_call_ids"]):
            by_call[cid] = ob
    facts = []
    for r in call_rows:
        ob = by_call.get(r["call_id"])
        if ob is None and r["arrived_at"] is not None:
            ob = next((o for o in obligations if o["number"] == r["customer_number"]
                       and r["arrived_at"] <= o["first_missed_at"] <= r["arrived_at"] + window_s), None)
        cb = CallbackFacts(ob["callback_id"], ob["status"], ob["due_at"], ob["fulfilled_at"]) if ob else None
        facts.append(CallFacts(
            call_id=r["call_id"], number=r["customer_number"], arrived_at=r["arrived_at"],
            answered=r["outcome"] == "answered", extension=r["answered_by"], agent=r["agent"], team=r["team"],
            rings=r["rings"], ring_seconds=r["ring_seconds"], ring_rule=r["ring_rule"], hangup_by=r["hangup_by"],
            hangup_rule=r["hangup_rule"], transferred=bool(r["transferred"]), callback=cb))
    return facts


def _scored(template: Template, e: Mapping[str, Any], m: Match, facts: Mapping[str, CallFacts],
            planned: Mapping[str, Mapping[str, Any]], now: float, iso: Callable) -> ScoredTestCall:
    f = facts.get(m.call_id) if m.status == MATCHED else None
    plan_row = planned.get(e["test_call"], {})
    person = (f.agent if f and f.agent else None) or plan_row.get("agent") or (f.extension if f else None)
    team = (f.team if f and f.team else None) or plan_row.get("team")
    cs = score_call(template, e["test_call"], e["marks"], f, now, iso=iso)
    if m.status != MATCHED:
        cs = CallScore(cs.key, None, None, m.status)
    return ScoredTestCall(e, m, f, person, team, cs)


def score_session(session: Mapping[str, Any], template: Template, evaluations: Sequence[Mapping[str, Any]],
                  planned: Mapping[str, Mapping[str, Any]], facts: Sequence[CallFacts], now: float,
                  iso: Callable = str) -> SessionScores:
    """Match every latest evaluation to its record and score it; then per test call (the mean of
    its evaluators' scores), per person, team and the institution. A test call is matched once
    for all its evaluators, by the evaluation that names its call when one does."""
    by_id = {f.call_id: f for f in facts}
    tests: dict[str, TestCall] = {}
    for e in sorted(evaluations, key=lambda e: e["call_id"] is None):
        tests.setdefault(e["test_call"], TestCall(e["test_call"], e["number"], e["called_at"], e["call_id"]))
    matches = match_all(list(tests.values()), facts, session["window_s"])
    scored = [_scored(template, e, matches[e["test_call"]], by_id, planned, now, iso) for e in evaluations]
    per_call: dict[str, list[ScoredTestCall]] = defaultdict(list)
    for s in scored:
        per_call[s.evaluation["test_call"]].append(s)
    test_calls = []
    for key, group in per_call.items():
        values = [s.score.score for s in group if s.score.score is not None]
        mean = round(fmean(values), 2) if values else None
        first = group[0]
        status = "scored" if values else first.score.status
        test_calls.append((CallScore(key, mean, template.grade(mean), status,
                                     provisional=any(s.score.provisional for s in group)), first.person, first.team))
    return SessionScores(session, template, tuple(scored), tuple(test_calls), tuple(group_scores(template, test_calls)))


def score_one(session: Mapping[str, Any], template: Template, evaluation: Mapping[str, Any],
              planned: Mapping[str, Mapping[str, Any]], facts: Sequence[CallFacts], now: float,
              iso: Callable = str) -> ScoredTestCall:
    """One evaluation as entered, scored on its own (nothing stored)."""
    e = evaluation
    m = match_all([TestCall(e["test_call"], e["number"], e["called_at"], e["call_id"])], facts,
                  session["window_s"])[e["test_call"]]
    return _scored(template, e, m, {f.call_id: f for f in facts}, planned, now, iso)
