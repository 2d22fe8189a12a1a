"""The users and access_log tables (0007): rows in, rows out; hashing and checks are the
service's (:mod:`callmon.service.users`)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from callmon.core.errors import StoreError
from callmon.storage.schema import access_log, users

USER_COLUMNS = (users.c.name, users.c.role, users.c.created_at, users.c.updated_at)


class UserExists(StoreError):
    """A user of that name is already there."""


def insert_user(engine: Engine, name: str, role: str, password_hash: str) -> None:
    now = time.time()
    try:
        with engine.begin() as conn:
            conn.execute(insert(users), {"name": name, "role": role, "password_hash": password_hash,
                                         "created_at": now, "updated_at": now})
    except IntegrityError as exc:
        raise UserExists(f"user {name!r} exists already") from exc


def user_row(engine: Engine, name: str, *, with_hash: bool = False) -> dict[str, Any] | None:
    cols = (*USER_COLUMNS, users.c.password_hash) if with_hash else USER_COLUMNS
    with engine.connect() as conn:
        row = conn.execute(select(*cols).where(users.c.name == name)).first()
    return None if row is None else dict(row._mapping)


def user_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(*USER_COLUMNS).order_by(users.c.name))]


def count_users(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(users)).scalar_one()


def update_user(engine: Engine, name: str, **values: Any) -> bool:
    """Change a user's ``password_hash`` and/or ``role``; False when there is no such user."""
    with engine.begin() as conn:
        done = conn.execute(update(users).where(users.c.name == name).values(**values, updated_at=time.time()))
    return done.rowcount > 0


def delete_user(engine: Engine, name: str) -> bool:
    with engine.begin() as conn:
        return conn.execute(delete(users).where(users.c.name == name)).rowcount > 0


def insert_access(engine: Engine, at: float, user: str, role: str | None, action: str, what: str,
                  why: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(insert(access_log), {"at": at, "user": user, "role": role, "action": action, "what": what,
                                          "why": why})


def access_rows(engine: Engine, since: float | None = None, until: float | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
    """Access-log rows of [since, until), newest first."""
    q = select(access_log.c.id, access_log.c.at, access_log.c.user, access_log.c.role, access_log.c.action,
               access_log.c.what, access_log.c.why)
    if since is not None:
        q = q.where(access_log.c.at >= since)
    if until is not None:
        q = q.where(access_log.c.at < until)
    q = q.order_by(access_log.c.at.desc(), access_log.c.id.desc())
    if limit is not None:
        q = q.limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
