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
        return self._frame(calls, calls.c.arrived_at, CALL_FRAME_COLUMNS, pbx, since, until)

    def agent_results_frame(self, pbx: str, since: float | None = None, until: float | None = None) -> pd.DataFrame:
        """The agents' verdicts on calls of [since, until)."""
        return self._frame(agent_results, agent_results.c.at, AGENT_FRAME_COLUMNS, pbx, since, until)

    def _frame(self, table, when, columns, pbx, since, until) -> pd.DataFrame:
        import pandas as pd

        q = select(*(table.c[c] for c in columns)).where(table.c.pbx == pbx)
        if since is not None:
            q = q.where(when >= since)
        if until is not None:
            q = q.where(when < until)
        with self.engine.connect() as conn:
            frame = pd.read_sql(q.order_by(when, table.c.id), conn)
        return frame if len(frame.columns) else pd.DataFrame(columns=list(columns))
