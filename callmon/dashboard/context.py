"""What a running dashboard holds: the read side, the configuration, the accounts, and who is
asking. Pages reach it through :func:`ctx` (the Flask app of the request), never through a
module-level global, so two dashboards in one process do not share a database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import flask

from callmon.core.config import Config

log = logging.getLogger(__name__)

EXTENSION = "callmon"


@dataclass
class Context:
    """One dashboard's state: ``reader`` is the read side over its database, ``accounts`` the
    users and the access log, ``config`` the rules, the zone, the directory."""

    db_url: str
    config: Config
    reader: Any
    accounts: Any
    desk: Any = None  # callback memos and cancellations (accounts.CallbackDesk)
    mask_style: str = "middle"


def ctx() -> Context:
    """The dashboard serving the current request."""
    return flask.current_app.extensions[EXTENSION]


def install(server: flask.Flask, context: Context) -> None:
    server.extensions[EXTENSION] = context
