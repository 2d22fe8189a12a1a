"""``callmon report --period 2026-H1 --out FILE.{csv,xlsx}``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from callmon.cli import app
from callmon.cli.common import ConfigOption, DbOption, PbxOption
from callmon.cli.output import AtOption, pipeline_at


@app.command()
def report(
    period: Annotated[str, typer.Option("--period", help="2026-H1, 2026-H2, 2026-Q3, 2026-05 or 2026 (PBX zone).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="FILE.xlsx (one sheet per table) or FILE.csv (one file per table).", show_default=False)],
    at: AtOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    pbx: PbxOption = None,
) -> None:
    """기간 보고서 / Write the period's figures per agent, team, queue, hour and day, naming the rule set.

    Callback statuses are those at --at (default now).
    """
    from callmon.reporting.report import build_report  # pandas: only for the commands that need it
    from callmon.reporting.writers import write_report

    pipeline, now = pipeline_at(db, config, pbx, at)
    try:
        result = build_report(pipeline, period, now, generated_at=time.time())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    for path in write_report(result, out):
        typer.echo(f"wrote {path}")
    summary = result.tables["summary"].iloc[0]
    typer.echo(f"{result.period.label}: {int(summary['calls'])} inbound call(s); rule set: {result.rule_set}")
