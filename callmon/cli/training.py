"""``callmon training``: the CS-training list of a period."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from callmon.cli import app
from callmon.cli.calls import Format
from callmon.cli.common import ConfigOption, DbOption, PbxOption
from callmon.cli.output import AtOption, FormatOption, emit, reader_at
from callmon.metrics.warnings import period_of
from callmon.reporting.render import Layout

TRAINING = Layout(
    fields=("employee", "team", "period", "warnings", "reached_at", "call_ids"),
    title="CS 교육 대상 {n}명 / {n} employee(s) for CS training",
    columns=(("employee", "직원 employee"), ("team", "팀 team"), ("period", "기간 period"),
             ("warnings", "경고 warnings"), ("reached_at", "도달 reached at"), ("call_ids", "통화 calls")),
    times=frozenset({"reached_at"}),
    lists=frozenset({"call_ids"}),
)


@app.command()
def training(
    period: Annotated[Optional[str], typer.Option("--period", help="2026-H2, 2026-Q3, 2026-05, 2026; default the current period (config: warnings.period).")] = None,
    at: AtOption = None,
    format: FormatOption = Format.table,
    db: DbOption = None,
    config: ConfigOption = None,
    pbx: PbxOption = None,
) -> None:
    """CS 교육 대상 / Employees with at least the threshold of warnings (failed rules) in the period. Reads only."""
    from callmon.reporting.report import training_rows  # pandas: only for the commands that need it

    reader, now = reader_at(db, config, pbx, at)
    cfg = reader.config
    try:
        chosen = reader.period(period or period_of(now, cfg.warning_period, cfg.tz))
        rows = training_rows(reader, chosen, now)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    finally:
        reader.close()
    emit(rows, TRAINING, cfg.tz, format)
