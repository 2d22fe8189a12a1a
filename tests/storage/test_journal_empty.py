"""Store.journal_empty_until_commit: whether a large import may take the journal as holding
nothing of its PBX but what it writes itself (ingest.Recurring), and the guarantee behind it."""

from __future__ import annotations

import psycopg
import pytest

from callmon.storage.store import JournalRow, Store

ROW = JournalRow("cdr", "k1", 1.5, "ANSWERED", "1.0", "1.0", '["a"]', 7)


def test_an_empty_journal_of_the_pbx_and_then_not(db_url):
    store = Store(db_url)
    with store.begin() as conn:
        store.journal(conn, "other", "f.csv", [ROW])
        assert store.journal_empty_until_commit(conn, "pbx1")  # another PBX's rows do not count
        store.journal(conn, "pbx1", "f.csv", [ROW])
        assert not store.journal_empty_until_commit(conn, "pbx1")


@pytest.mark.pg
def test_on_postgresql_nobody_else_writes_the_journal_meanwhile_readers_go_on(pg_url):
    store = Store(pg_url)
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with store.begin() as conn, psycopg.connect(dsn, autocommit=True) as other:
        assert store.journal_empty_until_commit(conn, "pbx1")
        other.execute("SET lock_timeout = '300ms'")
        assert other.execute("SELECT count(*) FROM journal").fetchone() == (0,)
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute("INSERT INTO journal (pbx, kind, event_key, name, payload, source, ingested_at) "
                          "VALUES ('pbx1', 'cdr', 'k', 'x', '', 'f', 0)")
