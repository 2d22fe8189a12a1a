"""``callmon ami-server``: replay a recorded AMI capture to real AMI clients (see callmon.sources.ami.server).

The secret comes from ``--secret``, else ``$CALLMON_AMI_SECRET``, else the development default; it is
never printed or logged.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.models import OptionInfo

from callmon.sources.ami.server import DEFAULT_USER, DEV_SECRET, AmiServer
from callmon.cli import app

SECRET_ENV = "CALLMON_AMI_SECRET"
SECRET_HELP = f"AMI secret; default ${SECRET_ENV}, else '{DEV_SECRET}' (for local tests only)."
KEEP_HELP = "Replay the first pass with the capture's own timestamps and ids instead of moving it to now."
START_HELP = "Start the replay's clock at the first login, or as soon as the server listens."


def _opt(text: str, *names: str, **kw) -> OptionInfo:
    return typer.Option(*names, help=text, **kw)


@app.command("ami-server")
def ami_server(
    capture: Annotated[Path, _opt("Recorded AMI stream (ami.raw) to replay.", "--capture", exists=True, dir_okay=False)],
    speed: Annotated[float, _opt("Timestamp deltas are divided by it; 0 = as fast as possible.", min=0)] = 1.0,
    host: Annotated[str, _opt("Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, _opt("TCP port; 0 picks a free one (printed).", min=0, max=65535)] = 5038,
    user: Annotated[str, _opt("AMI username clients must log in with.")] = DEFAULT_USER,
    secret: Annotated[Optional[str], _opt(SECRET_HELP, show_default=False)] = None,
    loop: Annotated[bool, _opt("Replay again and again, each pass with new ids and times.", "--loop")] = False,
    keep_timestamps: Annotated[bool, _opt(KEEP_HELP, "--keep-timestamps")] = False,
    start_on_connect: Annotated[bool, _opt(START_HELP, "--start-on-connect/--start-now")] = True,
    drop_after: Annotated[Optional[int], _opt("Fault: close the first logged-in connection after N events.", min=1)] = None,
    inject_malformed: Annotated[Optional[int], _opt("Fault: a malformed frame after every N events.", min=1)] = None,
    stall_after: Annotated[Optional[int], _opt("Fault: the first logged-in connection stalls after N events.", min=1)] = None,
    stall_seconds: Annotated[float, _opt("How long a stall lasts.", min=0)] = 5.0,
) -> None:
    """AMI 재생 서버 / Speak AMI on HOST:PORT and replay a capture to every client that logs in.

    Prints "listening on HOST:PORT" once it accepts connections; stops on SIGTERM or Ctrl-C.
    """
    server = AmiServer.from_capture(
        capture,
        host=host,
        port=port,
        user=user,
        secret=secret if secret is not None else os.environ.get(SECRET_ENV) or DEV_SECRET,
        speed=speed,
        loop=loop,
        shift_times=not keep_timestamps,
        start_on_connect=start_on_connect,
        drop_after=drop_after,
        inject_malformed_every=inject_malformed,
        stall_after=stall_after,
        stall_seconds=stall_seconds,
    )
    asyncio.run(_serve(server))


async def _serve(server: AmiServer) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.request_stop)

    def ready(port: int) -> None:
        print(f"listening on {server.host}:{port}", flush=True)

    await server.serve(ready=ready)
    sys.stdout.flush()
