"""Callback obligations as the read side gives them: as they stood at a moment (what
``callmon callbacks`` prints, derived again from the calls, memos and cancellations up to that
moment), and the backlog and history of the stored table (what the dashboard polls).

The derivation is the pure one of :mod:`callmon.metrics.callbacks`; this module only reads its
inputs (never writes) and names each obligation's owner as the writer does. The writers derive
each number's obligations again at each write, over everything known (unmet ones stored as
``open``), and the derivation is online per number: what happens after a moment never changes
what was decided before it. So at ``now`` the obligations of a number with nothing later than
``now`` are the stored ones, with the clock's status (open or overdue); only the numbers with a
later input are derived again (a report as of now: none or a few, not ten thousand).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from callmon.core.model import Call
from callmon.metrics.callbacks import Callback, derive_callbacks
from callmon.metrics.rules import RuleSet
from callmon.storage.callbacks import callback_row
from callmon.storage.readonly import ReadStore

# more numbers than this with an input after the moment asked: every number is derived again
# (a moment far in the past), not each of them
DERIVE_ALL = 2000


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
                   now: float, *, since: float | None = None, until: float | None = None,
                   derive: bool = False) -> list[dict[str, Any]]:
    """The obligations as they stood at ``now`` (epoch), as rows with their stored ids, oldest
    first: the rows ``callmon callbacks --at`` prints; those opened in [since, until) when given.
    The stored ones of every number with no input later than ``now``, the others derived again
    (``derive``: all derived again, the definition the stored path is tested against)."""
    later = None if derive else store.numbers_changed_after(pbx, now)
    if later is None or len(later) > DERIVE_ALL:
        return _opened_within(_derived(store, pbx, ruleset, directory, now, None), since, until)
    stored = [status_at(r, now) for r in store.callbacks_where(pbx, since=since, until=until) if r["number"] not in later]
    if later:
        stored += _opened_within(_derived(store, pbx, ruleset, directory, now, later), since, until)
    return sorted(stored, key=lambda r: (r["first_missed_at"], r["key"]))  # as the derivation orders them


def status_at(row: dict[str, Any], now: float) -> dict[str, Any]:
    """A stored obligation with its status at ``now``: an unmet one (stored as ``open``) is
    ``overdue`` once ``now`` is past its due time, as the derivation says."""
    if row["status"] == "open" and now > row["due_at"]:
        return {**row, "status": "overdue"}
    return row


def _opened_within(rows: list[dict[str, Any]], since: float | None, until: float | None) -> list[dict[str, Any]]:
    lo, hi = float("-inf") if since is None else since, float("inf") if until is None else until
    return [r for r in rows if lo <= r["first_missed_at"] < hi]


def _derived(store: ReadStore, pbx: str, ruleset: RuleSet, directory: Mapping[str, Any], now: float,
             numbers: Collection[str] | None) -> list[dict[str, Any]]:
    """The obligations at ``now`` derived again from the calls, memos and cancellations up to
    it: of every number (None), or of these numbers."""
    with store.connect() as conn:
        calls, ids = store.callback_calls(conn, pbx, now, numbers), store.callback_ids(conn, pbx, numbers)
        memos = store.memos_of(conn, pbx, numbers, until=now)
        cancels = [c for _, c in store.cancellations_of(conn, pbx, numbers, until=now)]
    calls = [c for c in calls if not c.incomplete]  # a cut call neither opens nor meets one
    derived = derive_callbacks(calls, now, ruleset.policy, memos=memos, cancellations=cancels,
                               region=ruleset.region, agent_of=directory)
    by_id = {c.call_id: c for c in calls}
    rows = []
    for cb in derived:
        row = callback_row(pbx, cb, *owner(cb, by_id, directory))
        rows.append({**row, "status": cb.status, "callback_id": ids.get(cb.key)})
    return rows
