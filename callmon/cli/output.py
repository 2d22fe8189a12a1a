"""What the newer commands share: ``--at`` (the moment "now" stands for) and printing rows in the
chosen format."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any, Optional, Sequence
from zoneinfo import ZoneInfo

import typer

from callmon.cli.calls import Format
from callmon.cli.common import open_all
from callmon.core.config import load_config
from callmon.read import Reader
from callmon.service.pipeline import Pipeline
from callmon.reporting.render import Layout, parse_time, records_csv, records_json, records_table

AtOption = Annotated[
    Optional[str],
    typer.Option("--at", help="The moment to look from, ISO date/time (naive = PBX zone); default now."),
]
FormatOption = Annotated[Format, typer.Option("--format", help="Output format.")]


def moment(text: str | None, tz: ZoneInfo, option: str = "--at") -> float:
    """``--at`` as epoch seconds; the current time when not given (the one clock read, at the edge)."""
    if not text:
        return time.time()
    try:
        return parse_time(text, tz)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date/time: {text!r}", param_hint=option) from exc


def pipeline_at(db: str | None, config, pbx: str | None, at: str | None) -> tuple[Pipeline, float]:
    """The pipeline the shared options open (directory merged, rule set built), and ``--at``."""
    store, cfg = open_all(db, config, pbx)
    return Pipeline(store, cfg), moment(at, cfg.tz)


def reader_at(db: str | None, config, pbx: str | None, at: str | None = None) -> tuple[Reader, float]:
    """The read side the shared options open (read-only: nothing migrated or written), and ``--at``."""
    cfg = load_config(config, pbx=pbx)
    return Reader.open(db, cfg), moment(at, cfg.tz)


def emit(rows: Sequence[dict[str, Any]], layout: Layout, tz: ZoneInfo, format: Format) -> None:
    """Print rows as JSON, CSV or a table."""
    if format == Format.json:
        sys.stdout.write(records_json(rows, layout, tz) + "\n")
    elif format == Format.csv:
        sys.stdout.write(records_csv(rows, layout, tz))
    else:
        from rich.console import Console

        Console(width=200).print(records_table(rows, layout, tz))
