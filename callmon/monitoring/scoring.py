"""Scores of test calls, people, teams and the institution, and their grades.

The rule (stated in every report): a call's score is

    100 × Σ weight × mark / Σ weight,   both sums over the items that apply to the call,

where a mark is 0..1 (evaluator: 1 = done, 0 = not done, or a fraction; automatic items: 1 pass,
0 fail). An item that does not apply (``applies`` not met, an automatic rule with no verdict, or
the evaluator's "NA") leaves both sums: its weight is redistributed over the applicable items in
proportion to their weights. A person's, team's and the institution's score is the mean of
their scored test calls; grades come from the template's bands.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import fmean
from typing import Iterable, Mapping, Sequence

from callmon.monitoring.matching import CallFacts
from callmon.monitoring.template import Item, Template

SCORE_RULE = ("점수 = 100 × Σ(가중치 × 평점) / Σ(가중치), 해당 항목만 합산 (해당 없음 항목의 가중치는 나머지 항목에 비례 배분); "
              "개인·팀·기관 점수는 해당 시험통화 점수의 평균 / score = 100 × Σ weight × mark / Σ weight over the items that "
              "apply; non-applicable weight is redistributed pro rata; people, teams and the institution: the mean of their calls")


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One item of one test call: whether it applies, its mark (0..1) and why."""

    key: str
    weight: float
    applies: bool
    mark: float | None
    evidence: str = ""

    @property
    def counted(self) -> bool:
        return self.applies and self.mark is not None


@dataclass(frozen=True, slots=True)
class CallScore:
    """A scored test call. ``score`` is None when it cannot be scored (``status`` says why)."""

    key: str
    score: float | None
    grade: str | None
    status: str  # scored | unmatched | incomplete
    items: tuple[ItemResult, ...] = ()
    provisional: bool = False  # a callback still open, not yet due
    missing: tuple[str, ...] = ()  # applicable evaluator items without a mark


def _applies(item: Item, facts: CallFacts) -> bool:
    if item.applies == "always":
        return True
    if item.applies == "answered":
        return facts.answered
    if item.applies == "late":
        return facts.answered and facts.ring_rule == "fail"
    if item.applies == "transferred":
        return facts.transferred
    if item.applies == "absent":
        return facts.callback is not None
    raise ValueError(item.applies)


def _fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}s"


def automatic(item: Item, facts: CallFacts, now: float, iso=str) -> tuple[float | None, str, bool]:
    """An automatic item's mark (1 pass, 0 fail, None no verdict), its evidence, and whether it is
    provisional (a callback not due yet)."""
    if item.source == "auto:ring":
        ev = f"rings={facts.rings if facts.rings is not None else '-'} ring_seconds={_fmt_s(facts.ring_seconds)} rule={facts.ring_rule}"
        return {"pass": 1.0, "fail": 0.0}.get(facts.ring_rule), ev, False
    if item.source == "auto:hangup":
        ev = f"hangup_by={facts.hangup_by or '-'} rule={facts.hangup_rule}"
        return {"pass": 1.0, "fail": 0.0}.get(facts.hangup_rule), ev, False
    if item.source == "auto:callback":
        cb = facts.callback
        if cb is None:
            return None, "no callback obligation", False
        ev = (f"callback #{cb.callback_id} status={cb.status} due={iso(cb.due_at)} "
              f"met={iso(cb.fulfilled_at) if cb.fulfilled_at is not None else '-'}")
        if cb.status == "met":
            return 1.0, ev, False
        if cb.status in ("late", "overdue"):
            return 0.0, ev, False
        if cb.status == "open" and cb.due_at > now:
            return None, ev + " (not due yet)", True
        if cb.status == "open":
            return 0.0, ev, False
        return None, ev, False  # resolved by the customer calling again, or cancelled
    raise ValueError(item.source)


def score_call(template: Template, key: str, marks: Mapping[str, float | None], facts: CallFacts | None,
               now: float, iso=str) -> CallScore:
    """Score one test call from the evaluator's marks and its matched record (None: unmatched).

    Evaluator marks of automatic items are ignored (the record decides), and so are marks of
    items that do not apply to this call.
    """
    if facts is None:
        return CallScore(key, None, None, "unmatched")
    results: list[ItemResult] = []
    missing: list[str] = []
    provisional = False
    for item in template.items:
        applies = _applies(item, facts)
        if item.automatic:
            mark, evidence, later = automatic(item, facts, now, iso)
            provisional = provisional or (applies and later)
        else:
            evidence = "evaluator"
            if applies and item.key not in marks:
                missing.append(item.key)
            mark = marks.get(item.key)
        results.append(ItemResult(item.key, item.weight, applies, mark if applies else None, evidence))
    if missing:
        return CallScore(key, None, None, "incomplete", tuple(results), provisional, tuple(missing))
    counted = [r for r in results if r.counted]
    total = sum(r.weight for r in counted)
    score = round(100.0 * sum(r.weight * r.mark for r in counted) / total, 2) if total else None
    return CallScore(key, score, template.grade(score), "scored", tuple(results), provisional)


@dataclass(frozen=True, slots=True)
class GroupScore:
    """The mean score of a group of test calls (a person, a team, the institution)."""

    group: str
    name: str
    team: str | None
    calls: int
    score: float | None
    grade: str | None


def group_scores(template: Template, scored: Iterable[tuple[CallScore, str | None, str | None]]) -> list[GroupScore]:
    """Per person, per team and the institution, from (call score, person, team) triples; only
    scored calls count. Rows: persons (by team, name), then teams, then the institution."""
    people: dict[tuple[str | None, str], list[float]] = defaultdict(list)
    teams: dict[str, list[float]] = defaultdict(list)
    everyone: list[float] = []
    for cs, person, team in scored:
        if cs.score is None:
            continue
        people[(team, person or "?")].append(cs.score)
        teams[team or "?"].append(cs.score)
        everyone.append(cs.score)

    def row(group: str, name: str, team: str | None, values: Sequence[float]) -> GroupScore:
        s = round(fmean(values), 2) if values else None
        return GroupScore(group, name, team, len(values), s, template.grade(s))

    out = [row("person", p, t, v) for (t, p), v in sorted(people.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))]
    out += [row("team", t, t, v) for t, v in sorted(teams.items())]
    out.append(row("institution", "기관 전체", None, everyone))
    return out


def compare(first: Sequence[GroupScore], second: Sequence[GroupScore]) -> list[dict]:
    """Two sessions side by side (H1 against H2): teams and the institution, with the change."""
    def index(rows):
        return {(r.group, r.name): r for r in rows if r.group in ("team", "institution")}

    a, b = index(first), index(second)
    out = []
    for k in sorted(set(a) | set(b), key=lambda k: (k[0] == "institution", k[1])):
        sa, sb = (a[k].score if k in a else None), (b[k].score if k in b else None)
        out.append({"group": k[0], "name": k[1], "first": sa, "second": sb,
                    "change": round(sb - sa, 2) if sa is not None and sb is not None else None})
    return out


def calibration(template: Template, first: Mapping[str, float | None], second: Mapping[str, float | None]) -> list[dict]:
    """Two evaluators' marks of one test call, item by item, with where they differ."""
    out = []
    for item in template.items:
        if item.automatic:
            continue
        a, b = first.get(item.key, "missing"), second.get(item.key, "missing")
        out.append({"item": item.key, "label": item.label, "first": a, "second": b, "differs": a != b})
    return out


_YES = {"y", "yes", "o", "○", "예", "1", "pass", "ok", "true"}
_NO = {"n", "no", "x", "×", "아니오", "0", "fail", "false"}
_NA = {"na", "n/a", "-", "해당없음", "해당 없음"}


def parse_mark(text: object) -> float | None:
    """An evaluator's mark as 0..1, or None for "does not apply".

    Y/O/예 = 1, N/X/아니오 = 0, NA/-/해당없음 = None, or a number from 0 to 1 (0.5 = half).

    >>> parse_mark("Y"), parse_mark("x"), parse_mark("NA"), parse_mark("0.5")
    (1.0, 0.0, None, 0.5)
    """
    s = str(text).strip().lower() if text is not None else ""
    if s in _YES:
        return 1.0
    if s in _NO:
        return 0.0
    if s in _NA:
        return None
    try:
        v = float(s)
    except ValueError:
        raise ValueError(f"not a mark: {text!r} (Y, N, NA or a number from 0 to 1)") from None
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"a mark is from 0 to 1, got {text!r}")
    return v
