"""Stored calls and agent results as pandas DataFrames, for the aggregates and the report.

One query each, read by pandas in bulk (no per-row Python objects), so a report over a large
period stays linear in the rows it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from callmon.storage.schema import agent_results, calls

if TYPE_CHECKING:  # pandas is imported when a frame is asked for, not by every command
    import pandas as pd

CALL_FRAME_COLUMNS = ("call_id", "direction", "queue", "arrived_at", "answered_at", "ended_at", "outcome",
                      "answered_by", "agent", "team", "ring_seconds", "rings", "ring_rule", "hangup_rule",
                      "hangup_by", "callback_id")
AGENT_FRAME_COLUMNS = ("call_id", "rule", "extension", "agent", "team", "result", "reason", "rings",
                       "ring_seconds", "answered", "at")


class FrameQueries:
    """Store mixin: DataFrames of one PBX's calls and agent results in [since, until)."""

    def calls_frame(self, pbx: str, since: float | None = None, until: float | None = None) -> pd.DataFrame:
        """Calls that arrived in [since, until)."""
        q = select(*(calls.c[c] for c in CALL_FRAME_COLUMNS)).where(calls.c.pbx == pbx)
        if since is not None:
            q = q.where(calls.c.arrived_at >= since)
        if until is not None:
            q = q.where(calls.c.arrived_at < until)
        return self._frame(q.order_by(calls.c.arrived_at, calls.c.call_id), CALL_FRAME_COLUMNS)

    def agent_results_frame(self, pbx: str, since: float | None = None, until: float | None = None) -> pd.DataFrame:
        """The agents' verdicts on calls of [since, until)."""
        q = select(*(agent_results.c[c] for c in AGENT_FRAME_COLUMNS)).where(agent_results.c.pbx == pbx)
        if since is not None:
            q = q.where(agent_results.c.at >= since)
        if until is not None:
            q = q.where(agent_results.c.at < until)
        return self._frame(q.order_by(agent_results.c.at, agent_results.c.id), AGENT_FRAME_COLUMNS)

    def _frame(self, query, columns) -> pd.DataFrame:
        import pandas as pd

        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        return frame if len(frame.columns) else pd.DataFrame(columns=list(columns))
