"""What the dashboard opens over its database: the read side (:func:`open_reader`), the users and
the access log (:func:`open_accounts`, over the users service), and the one writer the pages
need, the callback obligations (:class:`CallbackDesk`: the same service functions
``callmon callbacks add`` and ``cancel`` use)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from callmon.core.config import Config
from callmon.read import Reader

log = logging.getLogger(__name__)


def open_reader(db_url: str, config: Config) -> Reader:
    """The read side over ``db_url`` (read-only; an error when the database has no schema)."""
    return Reader.open(db_url, config)


class CallbackDesk:
    """Records memos and cancels obligations through :class:`callmon.service.obligations.Obligations`,
    the writer ``callmon callbacks add/cancel`` use; the store is opened on the first write."""

    def __init__(self, db_url: str, reader: Reader):
        self.db_url = db_url
        self.reader = reader
        self._obligations = None
        self._lock = threading.Lock()

    def _desk(self):
        with self._lock:
            if self._obligations is None:
                from callmon.service.obligations import Obligations
                from callmon.storage import Store

                self._obligations = Obligations(Store(self.db_url), self.reader.pbx, self.reader.ruleset,
                                                self.reader.config.directory)
            return self._obligations

    def add_memo(self, number: str, at: float, *, name: str | None = None, purpose: str | None = None,
                 agent: str | None = None) -> dict[str, Any]:
        """Record a memo; the obligation it opened or joined."""
        return self._desk().add_memo(number, at, name=name, purpose=purpose, agent=agent)

    def cancel(self, callback_id: int, reason: str, at: float, by: str | None) -> dict[str, Any]:
        """Cancel an obligation still open at ``at``, with a reason; the obligation afterwards."""
        return self._desk().cancel(callback_id, reason, at, by)


class Accounts:
    """The users (who may log in, with which role) and the access log, over the users service."""

    def __init__(self, db_url: str):
        from callmon.service import users

        self._users = users
        self.db_url = db_url
        self._service = users.Users.open(db_url)

    def authenticate(self, name: str, password: str) -> str | None:
        """The user's role when the password is right, else None (constant time either way)."""
        user = self._service.verify(name, password)
        return None if user is None else user.role

    def role_of(self, name: str) -> str | None:
        user = self._service.get(name)
        return None if user is None else user.role

    def log_access(self, user: str, action: str, what: str, why: str | None) -> None:
        self._service.log_access(user, action, what, why)

    def access_rows(self, limit: int = 1000) -> list[dict[str, Any]]:
        return self._service.access_log(limit=limit)


def open_accounts(db_url: str) -> Accounts:
    return Accounts(db_url)
