"""The read side of monitoring sessions: the rows the CLI, the dashboard and the report show.

Numbers are shown masked (DESIGN.md's one rule, :func:`callmon.metrics.numbers.mask`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from itertools import combinations
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from callmon.core.config import Config
from callmon.core.errors import CallmonError
from callmon.metrics.numbers import mask
from callmon.monitoring.scoring import SCORE_RULE, calibration
from callmon.monitoring.session import SessionScores, facts_of, score_session, span_of
from callmon.monitoring.template import Template, template_from_toml
from callmon.storage.monitoring import MonitoringQueries


class MonitoringView:
    """The monitoring sessions of one PBX as stored, and their scores (read only).

    ``store`` is a :class:`~callmon.storage.Store`; ``config`` gives the zone.
    """

    def __init__(self, store: Any, config: Config, pbx: str | None = None):
        self.q = MonitoringQueries(store)
        self.config = config
        self.pbx = pbx or config.pbx
        self.tz: ZoneInfo = config.tz

    def sessions(self) -> list[dict[str, Any]]:
        return self.q.sessions(self.pbx)

    def session(self, ref: str) -> dict[str, Any]:
        """A session by id or name (a CallmonError when there is none)."""
        s = self.q.session(self.pbx, str(ref))
        if s is None:
            raise CallmonError(f"no monitoring session {ref!r} (see: callmon monitor list)")
        return s

    def template(self, session: Mapping[str, Any]) -> Template:
        """The template version the session was created with."""
        return template_from_toml(self.q.template_body(session["template_id"]))

    def plan(self, ref: str) -> list[dict[str, Any]]:
        return self.q.plan(self.session(ref)["id"])

    def history(self, ref: str) -> list[dict[str, Any]]:
        """Every version of every evaluation of the session (corrections included)."""
        return self.q.evaluations(self.session(ref)["id"], latest=False)

    def scores(self, ref: str, now: float) -> SessionScores:
        """The session's latest evaluations matched to their call records and scored, as of ``now``."""
        session = self.session(ref)
        evaluations = self.q.evaluations(session["id"])
        numbers, since, until = span_of(evaluations, session["window_s"])
        calls, callbacks = self.q.scoring_rows(self.pbx, numbers, since, until)
        facts = facts_of(calls, callbacks, session["window_s"], now)
        planned = {str(p["seq"]): p for p in self.q.plan(session["id"])}
        return score_session(session, self.template(session), evaluations, planned, facts, now,
                             iso=lambda t: None if t is None else datetime.fromtimestamp(t, self.tz).isoformat(timespec="seconds"))


def session_rows(mon: MonitoringView) -> list[dict[str, Any]]:
    """Every session with its template version and how far it got."""
    out = []
    for s in mon.sessions():
        out.append({
            "session_id": s["id"], "name": s["name"], "period": s["period"],
            "template": f"{s['template_name']} v{s['template_version']}",
            "teams": s["teams"], "extensions": s["extensions"],
            "evaluators": [f"{ev} ({', '.join(mask(n) for n in nums)})" for ev, nums in sorted(s["evaluators"].items())],
            "planned": len(mon.q.plan(s["id"])), "evaluations": len(mon.q.evaluations(s["id"])),
            "created_at": s["created_at"], "created_by": s["created_by"],
        })
    return out


def plan_rows(mon: MonitoringView, ref: str) -> list[dict[str, Any]]:
    return [{k: p[k] for k in ("seq", "team", "extension", "agent", "evaluator", "seed")}
            for p in mon.plan(ref)]


def marks_text(marks: Mapping[str, float | None]) -> str:
    return " ".join(f"{k}={'NA' if v is None else f'{v:g}'}" for k, v in marks.items())


def evaluation_rows(scores: SessionScores) -> list[dict[str, Any]]:
    """One row per latest evaluation: its match, the matched record's evidence, its score."""
    out = []
    for s in scores.evaluations:
        e = s.evaluation
        items = {r.key: r for r in s.score.items}
        out.append({
            "test_call": e["test_call"], "evaluator": e["evaluator"], "version": e["version"],
            "called_at": e["called_at"], "number": mask(e["number"]), "match": s.match.status,
            "call_id": s.match.call_id, "candidates": list(s.match.candidates),
            "person": s.person, "team": s.team, "score": s.score.score, "grade": s.score.grade,
            "status": s.score.status, "provisional": s.score.provisional, "missing": list(s.score.missing),
            "marks": marks_text(e["marks"]),
            "not_applicable": [r.key for r in s.score.items if not r.counted],
            "evidence": {k: r.evidence for k, r in items.items()
                         if scores.template.item(k).automatic and r.evidence},
            "reason": e["reason"], "author": e["author"],
        })
    return out


def test_call_rows(scores: SessionScores) -> list[dict[str, Any]]:
    return [{"test_call": cs.key, "person": person, "team": team, "score": cs.score, "grade": cs.grade,
             "status": cs.status, "provisional": cs.provisional}
            for cs, person, team in sorted(scores.test_calls, key=lambda t: _seq(t[0].key))]


def group_rows(scores: SessionScores, group: str | None = None) -> list[dict[str, Any]]:
    """Person, team and institution scores (``group``: only that kind)."""
    return [{"group": g.group, "name": g.name, "team": g.team, "calls": g.calls, "score": g.score, "grade": g.grade}
            for g in scores.groups if group is None or g.group == group]


def history_rows(mon: MonitoringView, ref: str) -> list[dict[str, Any]]:
    """Every version of every evaluation: nothing is silently changed."""
    return [{"test_call": e["test_call"], "evaluator": e["evaluator"], "version": e["version"],
             "marks": marks_text(e["marks"]), "reason": e["reason"], "author": e["author"], "source": e["source"],
             "created_at": e["created_at"]} for e in mon.history(ref)]


def calibration_rows(mon: MonitoringView, ref: str, test_call: str | None = None) -> list[dict[str, Any]]:
    """Where two evaluators of one test call differ, item by item (every pair of evaluators)."""
    session = mon.session(ref)
    template = mon.template(session)
    by_call: dict[str, list[dict]] = defaultdict(list)
    for e in mon.q.evaluations(session["id"]):
        if test_call is None or e["test_call"] == str(test_call):
            by_call[e["test_call"]].append(e)
    out = []
    for key in sorted(by_call, key=_seq):
        for a, b in combinations(sorted(by_call[key], key=lambda e: e["evaluator"]), 2):
            for row in calibration(template, a["marks"], b["marks"]):
                out.append({"test_call": key, "first_evaluator": a["evaluator"], "second_evaluator": b["evaluator"],
                            **row})
    return out


def _seq(key: str):
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


__all__ = ["SCORE_RULE", "MonitoringView", "calibration_rows", "evaluation_rows", "group_rows", "history_rows", "plan_rows",
           "session_rows", "test_call_rows"]
