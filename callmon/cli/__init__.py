"""The ``callmon`` command line (typer).

Each command group lives in its own module and registers itself on :data:`app`; this module only
builds the shell and the options every command shares (``--db``, ``--config``, ``--pbx``).
"""

from __future__ import annotations

import logging
import sys

import typer

from callmon.core.errors import CallmonError

app = typer.Typer(
    name="callmon",
    help="callmon: 전화응대 헌장 이행 모니터 / call-centre charter compliance monitor for Asterisk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # imported for their side effect: each module adds its commands to `app`
    from callmon.cli import callbacks  # noqa: F401
    from callmon.cli import calls  # noqa: F401
    from callmon.cli import dashboard  # noqa: F401
    from callmon.cli import demo  # noqa: F401
    from callmon.cli import directory  # noqa: F401
    from callmon.cli import endpoints  # noqa: F401
    from callmon.cli import listen  # noqa: F401
    from callmon.cli import monitor  # noqa: F401
    from callmon.cli import report  # noqa: F401
    from callmon.cli import server  # noqa: F401
    from callmon.cli import training  # noqa: F401
    from callmon.cli import users  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``callmon`` script: callmon errors become one clear line and exit 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    _register()
    try:
        app(args=argv, standalone_mode=True)
    except CallmonError as exc:
        typer.echo(f"callmon: error: {exc}", err=True)
        raise SystemExit(2) from None
