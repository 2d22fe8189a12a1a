"""Scores a call with the configured rules and the directory (the one place that reads Config
for the rules; the rules themselves take plain values)."""

from __future__ import annotations

from callmon.config import Config
from callmon.metrics.cadence import answered_before_ring
from callmon.model import Call, RuleResult, Score


def score(call: Call, config: Config) -> Score:
    cadence, limit = config.cadence, config.ring_limit
    rs = call.ring_seconds
    rings = cadence.rings_at(rs) if rs is not None else None
    if call.direction != "inbound" or rs is None:
        ring = RuleResult("answer_before_ring", "na", "not an answered inbound call")
    elif answered_before_ring(rs, limit=limit, cadence=cadence):
        ring = RuleResult("answer_before_ring", "pass", f"answered at ring {rings} ({rs:.1f} s)", rings)
    else:
        ring = RuleResult("answer_before_ring", "fail", f"answered at ring {rings} ({rs:.1f} s), limit {limit}", rings)
    if call.answered_at is None or call.direction == "internal" or call.hangup_by in (None, "system"):
        hang = RuleResult("agent_hangs_up_last", "na", "no hang-up order to judge")
    elif call.hangup_by == "agent":
        hang = RuleResult("agent_hangs_up_last", "fail", "the agent hung up first")
    else:
        hang = RuleResult("agent_hangs_up_last", "pass", "the customer hung up first")
    ext = call.caller if call.direction == "outbound" else call.answered_by
    emp = config.employee(ext)
    return Score(rings=rings, ring_rule=ring, hangup_rule=hang, agent=emp.name if emp else None, team=emp.team if emp else None)
