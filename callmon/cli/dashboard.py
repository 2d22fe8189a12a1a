"""``callmon dashboard``: the supervisor dashboard (Dash) over the database, in one process."""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
from typing import Annotated

import typer

from callmon.cli import app
from callmon.cli.common import ConfigOption, DbOption
from callmon.core.errors import CallmonError

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Is ``host`` only reachable from this machine (127.0.0.0/8, ::1, localhost)?

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0"), is_loopback("localhost")
    (True, True, False, True)
    """
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def check_exposure(host: str, users: int) -> None:
    """No default password: listening beyond this machine needs at least one user."""
    if users == 0 and not is_loopback(host):
        raise CallmonError(f"refusing to listen on {host} while no user exists: add one first "
                           "(callmon users add NAME --role admin), or listen on 127.0.0.1")


@app.command()
def dashboard(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (a non-loopback address needs a user).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: a free one, printed).")] = 8050,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """대시보드 / Serve the supervisor dashboard: live calls, callbacks, call history, reports.

    One process (werkzeug's threaded server). Several workers on PostgreSQL: gunicorn
    'callmon.dashboard.wsgi:server' (README). Sessions are signed with $CALLMON_SECRET_KEY
    (else a key made for this process).
    """
    from callmon.core.config import load_config
    from callmon.dashboard.app import create_app
    from callmon.dashboard.serve import serve
    from callmon.service.users import Users

    users = Users.open(db)  # the users' tables exist before the read side opens (a writer migrates)
    try:
        check_exposure(host, users.count())
    finally:
        users.close()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    serve(create_app(db or _default_db(), load_config(config)), host, port)


def _default_db() -> str:
    from callmon.storage.store import default_db_url

    return default_db_url()
