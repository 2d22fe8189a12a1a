"""The report's training list on columns equals the pure definition (metrics.warnings.training_list)."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

import pytest

from callmon.metrics.warnings import RuleWarning, training_list
from callmon.reporting.report import training_in_period

RULES = ("answer_before_ring", "agent_hangs_up_last", "callback_kept")
H2 = 1782831600.0  # 2026-07-01 00:00 KST


@pytest.mark.parametrize("threshold", [1, 3, 40, 10_000])
def test_training_in_period_equals_training_list(threshold):
    """Duplicates (same employee, rule, call) counted once, ties in time kept in order, the
    threshold-th warning's time, every call in order."""
    rng = random.Random(threshold)
    warnings = [RuleWarning(rng.choice(["Kim", "Lee", "2003", "Park"]), rng.choice(RULES), f"c{rng.randint(1, 400)}",
                            H2 + rng.randint(0, 2000) * 60.0, "") for _ in range(3000)]
    want = training_list(warnings, threshold, "half-year", ZoneInfo("Asia/Seoul"))
    assert training_in_period(warnings, threshold, "2026-H2") == want
    assert (len(want) > 0) == (threshold <= 1000)
