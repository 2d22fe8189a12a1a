"""``callmon listen``: follow a PBX live over AMI."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Annotated, Optional

import typer

from callmon.cli import app
from callmon.cli.common import ConfigOption, DbOption, PbxOption, open_all
from callmon.core.errors import AmiAuthError, ConfigError

log = logging.getLogger(__name__)


def read_secret(secret_file: Path | None) -> str:
    """The AMI secret: from ``--secret-file`` or ``$CALLMON_AMI_SECRET``; never from the command line."""
    if secret_file is not None:
        try:
            return secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the AMI secret file: {exc.strerror}", file=str(secret_file)) from exc
    secret = os.environ.get("CALLMON_AMI_SECRET")
    if not secret:
        raise ConfigError("no AMI secret: set CALLMON_AMI_SECRET or give --secret-file")
    return secret


def parse_hostport(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise typer.BadParameter(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


@app.command()
def listen(
    ami: Annotated[str, typer.Option("--ami", help="AMI server as HOST:PORT (Asterisk: 5038).")],
    user: Annotated[str, typer.Option("--user", help="AMI user (manager.conf).")] = "callmon",
    secret_file: Annotated[Optional[Path], typer.Option("--secret-file", help="File holding the AMI secret (else $CALLMON_AMI_SECRET).")] = None,
    flush_interval: Annotated[float, typer.Option(help="Seconds between database writes at most.")] = 0.2,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every finished call.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    pbx: PbxOption = None,
) -> None:
    """실시간 수신 / Follow calls live over AMI, journal every event and keep the store current.

    Reconnects with backoff when the connection drops; calls in flight then are closed as
    incomplete. Wrong credentials exit with status 3 at once. SIGTERM/SIGINT stop it cleanly after
    writing everything received.
    """
    from callmon.service.listener import Listener
    from callmon.service.pipeline import Pipeline

    if verbose:
        logging.getLogger("callmon").setLevel(logging.INFO)
    host, port = parse_hostport(ami)
    secret = read_secret(secret_file)
    store, cfg = open_all(db, config, pbx)
    listener = Listener(Pipeline(store, cfg), host, port, user, secret, flush_interval=flush_interval)

    def on_signal(signum, _frame):
        log.info("signal %d: stopping", signum)
        listener.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    typer.echo(f"listening to {host}:{port} as {user} (PBX {cfg.pbx!r})", err=True)
    try:
        stats = listener.run()
    except AmiAuthError as exc:
        typer.echo(f"callmon: error: {exc}", err=True)
        raise typer.Exit(3) from None
    typer.echo(
        f"stopped: {stats.events} events ({stats.journaled} new), {stats.calls} call(s)"
        f" ({stats.incomplete_calls} incomplete), {stats.connections} connection(s), {stats.malformed} malformed frame(s)",
        err=True,
    )
