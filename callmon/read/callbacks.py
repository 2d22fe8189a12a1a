"""Callback obligations as the read side gives them: as they stood at a moment (what
``callmon callbacks`` prints, derived again from the calls, memos and cancellations up to that
moment), and the backlog and history of the stored table (what the dashboard polls).

The derivation is the pure one of :mod:`callmon.metrics.callbacks`; this module only reads its
inputs (never writes) and names each obligation's owner as the writer does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callmon.core.model import Call
from callmon.metrics.callbacks import Callback, derive_callbacks
from callmon.metrics.rules import RuleSet
from callmon.storage.callbacks import callback_row
from callmon.storage.readonly import ReadStore


def owner(cb: Callback, calls_by_id: Mapping[str, Call], directory: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(agent, team) an obligation counts to: the memo's agent, else the direct line the first
    missed call rang (a queue or ring group has no single owner); named from the directory.
    The same rule as ``service.obligations.Obligations.owner`` (the writer's)."""
    extension = cb.agent
    if extension is None and cb.missed_call_ids:
        first = calls_by_id.get(cb.missed_call_ids[0])
        extension = first.called if first is not None and first.called in directory else None
    employee = directory.get(extension) if extension else None
    return getattr(employee, "name", None) or extension, getattr(employee, "team", None)


def obligations_at(store: ReadStore, pbx: str, ruleset: RuleSet, directory: Mapping[str, Any],
                   now: float) -> list[dict[str, Any]]:
    """The obligations as they stood at ``now`` (epoch), as rows with their stored ids, oldest
    first: the rows ``callmon callbacks --at`` prints."""
    with store.connect() as conn:
        calls = store.callback_calls(conn, pbx, until=now)
        memos = store.memos_of(conn, pbx, until=now)
        cancels = [c for _, c in store.cancellations_of(conn, pbx, until=now)]
        ids = store.callback_ids(conn, pbx)
    calls = [c for c in calls if not c.incomplete]  # a cut call neither opens nor meets one
    derived = derive_callbacks(calls, now, ruleset.policy, memos=memos, cancellations=cancels,
                               region=ruleset.region, agent_of=directory)
    by_id = {c.call_id: c for c in calls}
    rows = []
    for cb in derived:
        row = callback_row(pbx, cb, *owner(cb, by_id, directory))
        rows.append({**row, "status": cb.status, "callback_id": ids.get(cb.key)})
    return rows
