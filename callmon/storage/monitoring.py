"""Monitoring sessions in the database: the tables (migration 0008) and their queries.

Evaluations are only ever inserted: a correction is the next version of the same (session, test
call, evaluator); :meth:`MonitoringQueries.latest_evaluations` gives what scores use.
"""

from __future__ import annotations

import json
import time
from typing import Any, Collection

from sqlalchemy import (BigInteger, Column, Float, ForeignKey, Integer, String, Table, Text, UniqueConstraint,
                        delete, func, insert, select)
from sqlalchemy.exc import IntegrityError

from callmon.core.errors import StoreError
from callmon.storage.lists import one_of
from callmon.storage.schema import Id, calls, metadata

monitoring_templates = Table(
    "monitoring_templates", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),  # the template's TOML
    Column("created_at", Float, nullable=False),
    UniqueConstraint("name", "version", name="uq_monitoring_templates_version"),
)

monitoring_sessions = Table(
    "monitoring_sessions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pbx", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("period", String(16), nullable=False),
    Column("starts_at", Float, nullable=False),
    Column("ends_at", Float, nullable=False),
    Column("template_id", Id, ForeignKey("monitoring_templates.id"), nullable=False),
    Column("teams", Text, nullable=False),  # JSON list
    Column("extensions", Text, nullable=False),  # JSON list
    Column("evaluators", Text, nullable=False),  # JSON {name: [E.164 numbers]}
    Column("window_s", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(128)),
    UniqueConstraint("pbx", "name", name="uq_monitoring_sessions_name"),
)

monitoring_plan = Table(
    "monitoring_plan", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_id", Id, ForeignKey("monitoring_sessions.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("team", String(128), nullable=False),
    Column("extension", String(64), nullable=False),
    Column("agent", String(128), nullable=False),
    Column("evaluator", String(128), nullable=False),
    Column("seed", BigInteger, nullable=False),
    UniqueConstraint("session_id", "seq", name="uq_monitoring_plan_seq"),
)

monitoring_evaluations = Table(
    "monitoring_evaluations", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_id", Id, ForeignKey("monitoring_sessions.id"), nullable=False),
    Column("test_call", String(64), nullable=False),
    Column("evaluator", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("number", String(32), nullable=False),  # E.164, the number the evaluator called from
    Column("called_at", Float, nullable=False),
    Column("call_id", String(64)),  # named by the evaluator to settle a match
    Column("marks", Text, nullable=False),  # JSON {item: 0..1 | null}
    Column("note", Text),
    Column("reason", Text),  # why a correction was made (versions from 2)
    Column("author", String(128), nullable=False),
    Column("source", String(255), nullable=False),  # cli, dashboard, or FILE:LINE of a sheet
    Column("created_at", Float, nullable=False),
    UniqueConstraint("session_id", "test_call", "evaluator", "version", name="uq_monitoring_evaluations_version"),
)


def _session(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    for k in ("teams", "extensions", "evaluators"):
        d[k] = json.loads(d[k])
    return d


def _evaluation(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["marks"] = json.loads(d["marks"])
    return d


class MonitoringQueries:
    """Reads and writes of the monitoring tables, on a :class:`~callmon.storage.Store`'s engine."""

    def __init__(self, store: Any):
        self.store = store
        self.engine = store.engine

    # -- templates -----------------------------------------------------------------------------
    def template_id(self, name: str, version: int, body: str) -> int:
        """The id of this template version, stored now if new; a different body under a stored
        (name, version) is refused: an edited template needs a new version."""
        with self.engine.begin() as conn:
            row = conn.execute(select(monitoring_templates).where(
                monitoring_templates.c.name == name, monitoring_templates.c.version == version)).first()
            if row is not None:
                if row.body != body:
                    raise StoreError(f"template {name!r} version {version} is stored with other contents: "
                                     "give the edited template a new version")
                return row.id
            return conn.execute(insert(monitoring_templates).values(
                name=name, version=version, body=body, created_at=time.time())).inserted_primary_key[0]

    def template_body(self, template_id: int) -> str:
        with self.engine.connect() as conn:
            return conn.execute(select(monitoring_templates.c.body).where(monitoring_templates.c.id == template_id)).scalar_one()

    # -- sessions ------------------------------------------------------------------------------
    def create_session(self, **values: Any) -> int:
        for k in ("teams", "extensions", "evaluators"):
            values[k] = json.dumps(values[k], ensure_ascii=False)
        try:
            with self.engine.begin() as conn:
                return conn.execute(insert(monitoring_sessions).values(created_at=time.time(), **values)).inserted_primary_key[0]
        except IntegrityError as exc:
            raise StoreError(f"a monitoring session named {values.get('name')!r} already exists") from exc

    def sessions(self, pbx: str) -> list[dict[str, Any]]:
        q = select(monitoring_sessions, monitoring_templates.c.name.label("template_name"),
                   monitoring_templates.c.version.label("template_version")).join(
            monitoring_templates, monitoring_templates.c.id == monitoring_sessions.c.template_id).where(
            monitoring_sessions.c.pbx == pbx).order_by(monitoring_sessions.c.id)
        with self.engine.connect() as conn:
            return [_session(r) for r in conn.execute(q)]

    def session(self, pbx: str, ref: str) -> dict[str, Any] | None:
        """A session by id or by name."""
        for s in self.sessions(pbx):
            if str(s["id"]) == str(ref) or s["name"] == ref:
                return s
        return None

    # -- the plan ------------------------------------------------------------------------------
    def replace_plan(self, session_id: int, rows: list[dict[str, Any]]) -> None:
        """Store the plan; refused once evaluations exist (they refer to its numbers)."""
        with self.engine.begin() as conn:
            n = conn.execute(select(func.count()).select_from(monitoring_evaluations).where(
                monitoring_evaluations.c.session_id == session_id)).scalar_one()
            if n:
                raise StoreError("the session already has evaluations: its plan can no longer be replaced")
            conn.execute(delete(monitoring_plan).where(monitoring_plan.c.session_id == session_id))
            if rows:
                conn.execute(insert(monitoring_plan), [{"session_id": session_id, **r} for r in rows])

    def plan(self, session_id: int) -> list[dict[str, Any]]:
        q = select(monitoring_plan).where(monitoring_plan.c.session_id == session_id).order_by(monitoring_plan.c.seq)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # -- evaluations ---------------------------------------------------------------------------
    def add_evaluations(self, session_id: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert evaluations in one transaction, each as the next version of its (test call,
        evaluator); a version after the first needs a reason. Returns the stored rows."""
        out = []
        with self.engine.begin() as conn:
            for r in rows:
                t = monitoring_evaluations.c
                last = conn.execute(select(func.max(t.version)).where(
                    t.session_id == session_id, t.test_call == r["test_call"], t.evaluator == r["evaluator"])).scalar()
                version = (last or 0) + 1
                if version > 1 and not (r.get("reason") or "").strip():
                    raise StoreError(f"test call {r['test_call']} of {r['evaluator']} is already evaluated: "
                                     "a correction needs a reason (--reason / the sheet's reason column)")
                row = {**r, "session_id": session_id, "version": version,
                       "marks": json.dumps(r["marks"], ensure_ascii=False), "created_at": time.time()}
                conn.execute(insert(monitoring_evaluations).values(**row))
                out.append({**row, "marks": r["marks"]})
        return out

    def latest_evaluation(self, session_id: int, test_call: str, evaluator: str) -> dict[str, Any] | None:
        """The newest version of one evaluator's evaluation of one test call, if any."""
        t = monitoring_evaluations.c
        q = select(monitoring_evaluations).where(t.session_id == session_id, t.test_call == test_call,
                                                 t.evaluator == evaluator).order_by(t.version.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return _evaluation(row) if row else None

    def evaluations(self, session_id: int, *, latest: bool = True) -> list[dict[str, Any]]:
        """Evaluations of a session (``latest``: only the newest version of each test call and
        evaluator), oldest first."""
        t = monitoring_evaluations
        q = select(t).where(t.c.session_id == session_id)
        if latest:
            newest = select(t.c.test_call, t.c.evaluator, func.max(t.c.version).label("v")).where(
                t.c.session_id == session_id).group_by(t.c.test_call, t.c.evaluator).subquery()
            q = q.join(newest, (newest.c.test_call == t.c.test_call) & (newest.c.evaluator == t.c.evaluator)
                       & (newest.c.v == t.c.version))
        q = q.order_by(t.c.called_at, t.c.test_call, t.c.evaluator, t.c.version)
        with self.engine.connect() as conn:
            return [_evaluation(r) for r in conn.execute(q)]

    # -- the call records test calls are matched with --------------------------------------------
    def scoring_rows(self, pbx: str, numbers: Collection[str], since: float,
                     until: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(calls, callback obligations) of these numbers: the inbound calls that arrived in
        [since, until) and every stored obligation of the numbers."""
        if not numbers:
            return [], []
        with self.engine.connect() as conn:
            obligations = self.store.stored_callbacks(conn, pbx, set(numbers))
        return self.calls_from(pbx, numbers, since, until), obligations

    def calls_from(self, pbx: str, numbers: Collection[str], since: float, until: float) -> list[dict[str, Any]]:
        """Stored calls from these outside numbers (E.164) that arrived in [since, until)."""
        if not numbers:
            return []
        q = select(calls).where(calls.c.pbx == pbx, one_of(calls.c.customer_number, set(numbers)),
                                calls.c.arrived_at >= since, calls.c.arrived_at < until,
                                calls.c.direction == "inbound").order_by(calls.c.arrived_at)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
