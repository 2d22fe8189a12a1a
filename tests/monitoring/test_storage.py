"""Monitoring tables (migration 0008) on SQLite and PostgreSQL: the migration round-trips, the
tables match the models, and evaluations are only ever added (a correction is a version)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from callmon.core.config import Config, Employee
from callmon.core.errors import StoreError
from callmon.service.monitoring import Monitoring
from callmon.service.pipeline import Pipeline
from callmon.storage import Store, normalize_url
from callmon.storage.monitoring import monitoring_evaluations
from tests.conftest import alembic_to

TABLES = {"monitoring_templates", "monitoring_sessions", "monitoring_plan", "monitoring_evaluations"}


def test_migration_0008_creates_the_tables_and_downgrades_cleanly(db_url):
    Store(db_url).dispose()  # the head
    engine = sa.create_engine(normalize_url(db_url))
    assert TABLES <= set(sa.inspect(engine).get_table_names())
    cols = {c["name"] for c in sa.inspect(engine).get_columns("monitoring_evaluations")}
    assert cols == {c.name for c in monitoring_evaluations.columns}
    alembic_to(db_url, "0005", down=True)
    assert not TABLES & set(sa.inspect(engine).get_table_names())
    alembic_to(db_url, "head")
    assert TABLES <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_a_correction_adds_a_version_and_keeps_the_first(db_url):
    """Two versions are stored; scores read the latest; a correction without a reason is refused."""
    cfg = Config(directory={"2001": Employee("2001", "Kim Agent", "민원팀")})
    store = Store(db_url)
    mon = Monitoring(Pipeline(store, cfg))
    mon.create("s", "2026-H2", evaluators={"e": ["010-1000-0001"]}, extensions=["2001"])
    mon.plan("s", seed=1)
    first = {"test_call": "1", "evaluator": "e", "called_at": "2026-11-23T04:42:45", "marks": {"greeting": "N"}}
    mon.evaluate("s", first, author="e")
    try:
        mon.evaluate("s", {**first, "marks": {"greeting": "Y"}}, author="e")
        raise AssertionError("a correction without a reason was accepted")
    except StoreError as exc:
        assert "needs a reason" in str(exc)
    mon.evaluate("s", {"test_call": "1", "evaluator": "e", "marks": {"greeting": "Y"}, "reason": "재청취"}, author="lead")
    history = mon.history("s")
    assert [(h["version"], h["marks"], h["author"]) for h in history] == [(1, {"greeting": 0.0}, "e"),
                                                                          (2, {"greeting": 1.0}, "lead")]
    assert history[0]["called_at"] == history[1]["called_at"]  # the correction kept the time
    latest = mon.q.evaluations(mon.session("s")["id"])
    assert [(e["version"], e["marks"]) for e in latest] == [(2, {"greeting": 1.0})]
    # the database itself refuses to change or remove a stored evaluation
    for statement in (sa.update(monitoring_evaluations).values(marks="{}"), sa.delete(monitoring_evaluations)):
        with pytest.raises(StoreError, match="immutable"):  # the driver's refusal, as storage reports it
            with store.begin() as conn:
                conn.execute(statement)
    assert len(mon.history("s")) == 2
    store.dispose()
