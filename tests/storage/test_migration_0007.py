"""Migration 0007 (users, access_log) on SQLite and PostgreSQL: a database at 0005 is upgraded by
a writer, read by the read side only at the head, and a downgrade to 0005 removes the tables."""

from __future__ import annotations

import pytest

from callmon.core.errors import StoreError
from callmon.service.users import Users
from callmon.storage.readonly import head_revision, open_readonly
from tests.conftest import alembic_to


def test_0005_is_refused_by_the_read_side_upgraded_by_a_writer_and_downgrades_cleanly(db_url):
    alembic_to(db_url, "0005")
    with pytest.raises(StoreError, match="revision 0005"):
        open_readonly(db_url)
    users = Users.open(db_url)  # a writer: migrates to the head
    users.add("kim", "admin", "long-password")
    users.log_access("kim", "export", "report 2026-H2", "audit")
    assert [u["name"] for u in users.list()] == ["kim"] and len(users.access_log()) == 1
    users.close()
    ro = open_readonly(db_url)
    assert ro.revision == head_revision()
    ro.dispose()
    alembic_to(db_url, "0005", down=True)
    import sqlalchemy as sa

    from callmon.storage import normalize_url

    engine = sa.create_engine(normalize_url(db_url))
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert "users" not in tables and "access_log" not in tables and "calls" in tables
