"""The dashboard's Flask app for a WSGI server::

    CALLMON_DB=postgresql://... CALLMON_SECRET_KEY=... gunicorn -w 4 'callmon.dashboard.wsgi:server'

Reads ``CALLMON_DB`` (default: the embedded SQLite file), ``CALLMON_CONFIG`` (a TOML file) and
``CALLMON_SECRET_KEY`` (one key for every worker, else each worker signs its own sessions).
"""

from __future__ import annotations

import os
from typing import Any


def __getattr__(name: str) -> Any:
    """``app`` and ``server``, made when a WSGI server first asks for them (gunicorn looks them
    up with ``getattr``): importing the module alone opens no database (pytest's doctest
    collection imports every module)."""
    if name not in ("app", "server"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from callmon.core.config import load_config
    from callmon.dashboard.app import create_app
    from callmon.storage.store import default_db_url

    app = create_app(os.environ.get("CALLMON_DB") or default_db_url(), load_config(os.environ.get("CALLMON_CONFIG")))
    globals().update(app=app, server=app.server)
    return globals()[name]
