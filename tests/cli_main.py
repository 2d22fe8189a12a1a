"""Running the real ``callmon`` entry point in-process, for the error paths (``run_cli`` goes
through typer only, so a callmon error would reach the test as an exception)."""

from __future__ import annotations

import pytest


def main_fails(capsys, *args: str) -> str:
    """Run ``callmon ARGS`` through :func:`callmon.cli.main`: it must exit 2 with one
    ``callmon: error:`` message and no traceback; return stderr."""
    from callmon.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("callmon: error: ") and "Traceback" not in err
    return err
