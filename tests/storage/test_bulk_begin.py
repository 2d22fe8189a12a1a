"""A large import's transaction on SQLite: the database alone in a rollback journal when nobody
else has it open, back in WAL afterwards; in WAL when someone has; all or nothing either way."""

from __future__ import annotations

import logging
import sqlite3

import pytest
import sqlalchemy as sa

from callmon.storage import Store
from callmon.storage.store import SQLITE_CACHE_KIB


def journal_mode(conn) -> str:
    return conn.exec_driver_sql("PRAGMA journal_mode").scalar()


def stored(path) -> int:
    with sqlite3.connect(path) as db:
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"  # every connection of callmon's sets WAL, and this one finds it set
        return db.execute("SELECT count(*) FROM directory").fetchone()[0]


def add(conn, n: int, start: int = 0) -> None:
    conn.execute(sa.text("INSERT INTO directory (pbx, extension, name, imported_at) VALUES ('p', :e, 'x', 0)"),
                 [{"e": str(1000 + i)} for i in range(start, start + n)])


def test_alone_the_transaction_runs_in_a_rollback_journal_and_leaves_wal_behind(tmp_path, caplog):
    path = tmp_path / "callmon.db"
    store = Store(f"sqlite:///{path}")
    with store.begin() as conn:  # a pooled connection of this process does not count as another
        assert journal_mode(conn) == "wal"
    with caplog.at_level(logging.INFO, "callmon.storage.store"), store.bulk_begin(cache_kib=4096) as conn:
        assert journal_mode(conn) == "truncate"
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -4096
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        add(conn, 3)
    assert "the database alone" in caplog.text
    assert stored(path) == 3
    with store.begin() as conn:
        assert journal_mode(conn) == "wal" and conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KIB
    store.dispose()


def test_with_a_reader_about_it_stays_in_wal_and_the_reader_reads_on(tmp_path, caplog):
    path = tmp_path / "callmon.db"
    store = Store(f"sqlite:///{path}")
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT count(*) FROM directory").fetchone() == (0,)
    with caplog.at_level(logging.INFO, "callmon.storage.store"), store.bulk_begin() as conn:
        assert journal_mode(conn) == "wal"
        add(conn, 2)
        assert reader.execute("SELECT count(*) FROM directory").fetchone() == (0,)  # not committed
    assert "another connection has the database open" in caplog.text
    assert reader.execute("SELECT count(*) FROM directory").fetchone() == (2,)
    reader.close()
    store.dispose()


def test_not_alone_when_asked_and_all_or_nothing_either_way(tmp_path):
    path = tmp_path / "callmon.db"
    store = Store(f"sqlite:///{path}")
    with store.bulk_begin(alone=False) as conn:
        assert journal_mode(conn) == "wal"
        add(conn, 1)
    for alone in (True, False):
        with pytest.raises(RuntimeError, match="stop"), store.bulk_begin(alone=alone) as conn:
            add(conn, 5, start=1)
            raise RuntimeError("stop")
    assert stored(path) == 1
    store.dispose()


def test_a_reader_that_came_meanwhile_does_not_fail_the_import(tmp_path, caplog):
    """A reader in the middle of a read when the transaction ends holds the database out of WAL;
    the import stands, and the next connection puts it back in WAL."""
    path = tmp_path / "callmon.db"
    store = Store(f"sqlite:///{path}")
    with caplog.at_level(logging.WARNING, "callmon.storage.store"), store.bulk_begin() as conn:
        add(conn, 4)
        conn.exec_driver_sql("SELECT 1")  # (the reader comes once the transaction has written)
        reader = sqlite3.connect(path, timeout=0)
        conn.commit()  # the transaction's end, as the import's last statement would be
        cursor = reader.execute("SELECT extension FROM directory")
        assert cursor.fetchone() is not None  # mid-read: a shared lock held
    assert "could not put the database back in WAL" in caplog.text
    cursor.close()
    reader.close()
    with store.begin() as conn:  # callmon's next connection sets WAL
        assert journal_mode(conn) == "wal"
    assert stored(path) == 4  # committed
    store.dispose()
