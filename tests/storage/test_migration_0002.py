"""Migration 0002 on a database that 0001 made and that already holds calls (SQLite, PostgreSQL):
the calls stay, the new tables work, and a downgrade to 0001 and back is clean."""

from __future__ import annotations


import sqlalchemy as sa

from callmon.core.config import Config
from callmon.service.pipeline import Pipeline
from callmon.storage import Store, normalize_url
from tests.conftest import SAMPLES, alembic_to


def test_upgrade_keeps_the_calls_and_downgrade_round_trips(db_url):
    alembic_to(db_url, "0001")
    engine = sa.create_engine(normalize_url(db_url))
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO calls (pbx, call_id, direction, caller, called, outcome, transferred, incomplete, ring_rule,"
            " hangup_rule, sources, uniqueids) VALUES ('default', 'old.1', 'inbound', '01012345678', '2001',"
            " 'abandoned', false, false, 'na', 'na', 'ami', '[]')"))
    store = Store(db_url)  # migrates to the head
    assert [r["call_id"] for r in store.query_calls("default")] == ["old.1"]
    Pipeline(store, Config()).ingest_ami_file(SAMPLES / "c_direct_abandon" / "ami.raw")
    with store.begin() as conn:
        assert len(store.stored_callbacks(conn, "default")) == 1
    store.dispose()
    alembic_to(db_url, "0001", down=True)
    tables = set(sa.inspect(engine).get_table_names())
    assert "callbacks" not in tables and "calls" in tables
    assert "customer_number" not in {c["name"] for c in sa.inspect(engine).get_columns("calls")}
    engine.dispose()
    store = Store(db_url)
    assert len(store.query_calls("default")) == 2
    store.dispose()
