"""Several processes opening one new database at the same moment (gunicorn's workers, a listener
and a dashboard started together) bring it to the newest revision once: none fails on a table
another has just made."""

from __future__ import annotations

import multiprocessing

import pytest
import sqlalchemy as sa

PROCESSES = 8


def _open(url: str, barrier, errors) -> None:
    from callmon.storage.store import Store

    barrier.wait()
    try:
        Store(url).engine.dispose()
    except Exception as exc:  # reported to the test, which names it
        errors.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_processes_opening_a_new_database_together_migrate_it_once(kind, request):
    url = request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_url")
    ctx = multiprocessing.get_context("spawn")
    barrier, errors = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_open, args=(url, barrier, errors)) for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    failed = []
    while not errors.empty():
        failed.append(errors.get())
    assert not failed, failed
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES

    from callmon.storage.store import Store, _heads

    store = Store(url, migrate=False)
    with store.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    assert len(versions) == 1 and set(versions) == _heads()  # one row, the newest revision
    assert "calls" in sa.inspect(store.engine).get_table_names()
    store.engine.dispose()

