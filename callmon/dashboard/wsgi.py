"""The dashboard's Flask app for a WSGI server::

    CALLMON_DB=postgresql://... CALLMON_SECRET_KEY=... gunicorn -w 4 'callmon.dashboard.wsgi:server'

Reads ``CALLMON_DB`` (default: the embedded SQLite file), ``CALLMON_CONFIG`` (a TOML file) and
``CALLMON_SECRET_KEY`` (one key for every worker, else each worker signs its own sessions).
"""

from __future__ import annotations

import os

from callmon.core.config import load_config
from callmon.dashboard.app import create_app
from callmon.storage.store import default_db_url

app = create_app(os.environ.get("CALLMON_DB") or default_db_url(), load_config(os.environ.get("CALLMON_CONFIG")))
server = app.server
