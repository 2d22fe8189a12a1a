"""``callmon report --period 2026-H1 --out FILE.{csv,xlsx,html,pdf}``."""

from __future__ import annotations

import getpass
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from callmon.cli import app
from callmon.cli.common import ConfigOption, DbOption, PbxOption
from callmon.cli.output import AtOption, reader_at


@app.command()
def report(
    period: Annotated[str, typer.Option("--period", help="2026-H1, 2026-H2, 2026-Q3, 2026-05, 2026-W49, 2026-12-06 or 2026 (PBX zone).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="FILE.xlsx (one sheet per table), FILE.csv (one file per table), FILE.html or FILE.pdf (with charts).", show_default=False)],
    full_numbers: Annotated[bool, typer.Option("--full-numbers", help="Export callers' numbers unmasked (needs --reason; written to the access log).")] = False,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why full numbers are exported (kept in the access log).")] = None,
    at: AtOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    pbx: PbxOption = None,
) -> None:
    """기간 보고서 / Write the period's figures per agent, team, queue, hour and day, naming the rule set.

    Callback statuses are those at --at (default now). Phone numbers are masked by the one rule
    ([privacy] mask) unless --full-numbers is given with a --reason; that export is written to
    the access log under the login name. Otherwise the command only reads.
    """
    from callmon.read import period_kind
    from callmon.reporting.report import build_report  # pandas: only for the commands that need it
    from callmon.reporting.writers import check_format, write_report

    try:
        period_kind(period)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    check_format(out)
    if full_numbers and not (reason or "").strip():
        raise typer.BadParameter("full numbers are exported only with a reason", param_hint="--reason")
    reader, now = reader_at(db, config, pbx, at)
    viewer = reader.viewer(_login(), "admin", reveal=True) if full_numbers else reader.viewer(_login(), "viewer")
    try:
        result = build_report(reader, period, now, viewer, generated_at=time.time())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    finally:
        reader.close()
    written = write_report(result, out)
    if full_numbers:
        from callmon.service.users import Users

        users = Users.open(db)
        users.log_access(_login() or "(unknown)", "export", f"report {result.period.label} to {out.name} "
                         "with full numbers (command line)", reason.strip())
        users.close()
    for path in written:
        typer.echo(f"wrote {path}")
    summary = result.tables["summary"].iloc[0]
    typer.echo(f"{result.period.label}: {int(summary['calls'])} inbound call(s); rule set: {result.rule_set}")


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        return None
