"""Dashboard users and the access log: create, verify (constant time), change and remove users;
write who saw or exported full numbers, when, what and why.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
set); a hash made with older parameters is replaced at the next good login.

>>> import tempfile, os
>>> users = Users.open("sqlite:///" + os.path.join(tempfile.mkdtemp(), "u.db"))
>>> users.add("kim", "supervisor", "correct horse battery")
User(name='kim', role='supervisor')
>>> users.verify("kim", "correct horse battery"), users.verify("kim", "wrong password!")
(User(name='kim', role='supervisor'), None)
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from callmon.core.errors import InputError
from callmon.core.roles import ROLES
from callmon.storage import Store
from callmon.storage import users as table

log = logging.getLogger(__name__)

MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_hasher = PasswordHasher()
# verified when the user does not exist, so a wrong name costs what a wrong password costs
_DUMMY = _hasher.hash("callmon: no such user")


@dataclass(frozen=True)
class User:
    """Who may log in, and with which role (``viewer``, ``supervisor``, ``admin``)."""

    name: str
    role: str


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise InputError(f"a user name is 1-64 letters, digits or . _ @ -, got {name!r}")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise InputError(f"a password needs at least {MIN_PASSWORD} characters")
    return password


class Users:
    """The users and the access log of one database (opened as a writer: migrated)."""

    def __init__(self, store: Store):
        self.store = store

    @classmethod
    def open(cls, url: str | None) -> Users:
        return cls(Store(url))

    def close(self) -> None:
        self.store.dispose()

    # -- users -----------------------------------------------------------------------------------
    def add(self, name: str, role: str, password: str) -> User:
        """Create a user (:class:`~callmon.storage.users.UserExists` if the name is taken)."""
        check_name(name), check_role(role), check_password(password)
        table.insert_user(self.store.engine, name, role, _hasher.hash(password))
        log.info("user %s added (%s)", name, role)
        return User(name, role)

    def verify(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None; the same work either way (an unknown
        name is checked against a dummy hash)."""
        row = table.user_row(self.store.engine, name or "", with_hash=True)
        try:
            _hasher.verify(row["password_hash"] if row else _DUMMY, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(row["password_hash"]):
            table.update_user(self.store.engine, name, password_hash=_hasher.hash(password))
        return User(row["name"], row["role"])

    def get(self, name: str) -> User | None:
        row = table.user_row(self.store.engine, name)
        return None if row is None else User(row["name"], row["role"])

    def list(self) -> list[dict[str, Any]]:
        """Every user: name, role, created_at, updated_at (no hashes)."""
        return table.user_rows(self.store.engine)

    def count(self) -> int:
        return table.count_users(self.store.engine)

    def passwd(self, name: str, password: str) -> None:
        check_password(password)
        if not table.update_user(self.store.engine, name, password_hash=_hasher.hash(password)):
            raise InputError(f"no user {name!r}")

    def set_role(self, name: str, role: str) -> None:
        check_role(role)
        if not table.update_user(self.store.engine, name, role=role):
            raise InputError(f"no user {name!r}")

    def remove(self, name: str) -> None:
        if not table.delete_user(self.store.engine, name):
            raise InputError(f"no user {name!r}")

    # -- the access log ---------------------------------------------------------------------------
    def log_access(self, user: str, action: str, what: str, why: str | None, *, at: float | None = None) -> None:
        """Write one access-log row: ``user`` did ``action`` (``unmask``, ``export``) on ``what``
        because ``why``. The role is looked up (None for a name that is no dashboard user, e.g.
        the command line's login name)."""
        found = self.get(user)
        table.insert_access(self.store.engine, time.time() if at is None else at, user,
                            found.role if found else None, action, what, why)
        log.info("access log: %s %s (%s)", user, action, what)

    def access_log(self, since: float | None = None, until: float | None = None,
                   limit: int | None = 1000) -> list[dict[str, Any]]:
        """Access-log rows (id, at, user, role, action, what, why), newest first."""
        return table.access_rows(self.store.engine, since, until, limit)
