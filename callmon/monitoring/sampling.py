"""The sample of test calls: stratified by team and person, reproducible with a seed.

Every person in scope gets ``per_person`` test calls (or each team ``per_team``, spread as evenly
as possible over its people, the remainder to people drawn with the seed). Evaluators are
assigned in turn within each team from a seeded starting point, so each team is called by every
evaluator as evenly as the numbers allow; the calls are then put in a seeded random order (the
order to make them in) and numbered. The same inputs and seed give the same plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import groupby
from typing import Sequence


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in scope: their extension, name and team."""

    extension: str
    name: str
    team: str


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One test call of the plan: who is to be called, by which evaluator."""

    seq: int
    team: str
    extension: str
    agent: str
    evaluator: str


def plan(people: Sequence[Person], evaluators: Sequence[str], seed: int, *,
         per_person: int | None = None, per_team: int | None = None) -> tuple[PlannedCall, ...]:
    """Plan the test calls.

    >>> ps = [Person("2001", "김", "민원팀"), Person("2002", "이", "민원팀"), Person("2003", "박", "요금팀")]
    >>> p = plan(ps, ["평가1", "평가2"], seed=7, per_person=2)
    >>> len(p), p == plan(ps, ["평가1", "평가2"], seed=7, per_person=2)
    (6, True)
    """
    if not people:
        raise ValueError("no one in scope to plan test calls for")
    if not evaluators:
        raise ValueError("a plan needs at least one evaluator")
    if per_person is not None and per_team is not None:
        raise ValueError("give either per_person or per_team, not both")
    if per_person is None and per_team is None:
        per_person = 1
    n = per_person if per_person is not None else per_team
    if n is None or n < 1:
        raise ValueError("the number of test calls must be at least 1")
    rng = random.Random(seed)
    slots: list[tuple[str, Person, str]] = []
    ordered = sorted(set(people), key=lambda p: (p.team, p.extension))
    for team, members in groupby(ordered, key=lambda p: p.team):
        members = list(members)
        if per_person is not None:
            counts = {p: per_person for p in members}
        else:
            base, extra = divmod(per_team, len(members))
            lucky = set(rng.sample(members, extra))
            counts = {p: base + (p in lucky) for p in members}
        turn = rng.randrange(len(evaluators))
        for p in members:
            for _ in range(counts[p]):
                slots.append((team, p, evaluators[turn % len(evaluators)]))
                turn += 1
    rng.shuffle(slots)
    return tuple(PlannedCall(i, team, p.extension, p.name, ev) for i, (team, p, ev) in enumerate(slots, 1))
