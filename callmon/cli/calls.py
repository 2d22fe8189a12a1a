"""``callmon ingest``, ``callmon calls``, ``callmon rebuild``."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from callmon.cli import app
from callmon.cli.common import ConfigOption, DbOption, PbxOption, open_all
from callmon.errors import CallmonError, InputError
from callmon.pipeline import Pipeline
from callmon.render import calls_csv, calls_json, calls_table, parse_time


class Kind(str, Enum):
    auto = "auto"
    ami = "ami"
    cdr = "cdr"
    cel = "cel"
    queue_log = "queue_log"


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def detect_kind(path: Path) -> str:
    """``ami`` for a recorded AMI stream; the file importers know the other kinds."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=str(path)) from exc
    text = head.decode("utf-8", "replace")
    if text.startswith("Asterisk Call Manager/") or any(
        line.startswith(("Event: ", "Response: ", "Action: ")) for line in text.splitlines()[:20]
    ):
        return "ami"
    raise InputError("cannot tell what kind of file this is; give --kind", file=str(path))


@app.command()
def ingest(
    files: Annotated[List[Path], typer.Argument(help="AMI captures (ami.raw), Master.csv, CEL or queue_log files.", show_default=False)],
    kind: Annotated[Kind, typer.Option("--kind", help="What the files are; auto sniffs each file.")] = Kind.auto,
    db: DbOption = None,
    config: ConfigOption = None,
    pbx: PbxOption = None,
) -> None:
    """파일 가져오기 / Import recorded AMI streams and Asterisk's files into the store.

    Idempotent: ingesting the same file again changes nothing. Each file is one transaction.
    Exit status: 0 all sound, 1 some input was rejected (listed on stderr), 2 a file could not be read.
    """
    store, cfg = open_all(db, config, pbx)
    pipeline = Pipeline(store, cfg)
    status = 0
    for path in files:
        try:
            k = kind.value if kind != Kind.auto else detect_kind(path)
            if k != "ami":
                raise InputError(f"--kind {k}: the CDR/CEL/queue_log importer is not available yet", file=str(path))
            report = pipeline.ingest_ami_file(path)
        except CallmonError as exc:
            typer.echo(f"callmon: error: {exc}", err=True)
            status = 2
            continue
        st = report.stats
        rejected = (st.malformed + st.truncated) if st else 0
        typer.echo(
            f"{path}: {report.events} events ({report.new_events} new), {report.calls} call(s) derived"
            f" ({report.incomplete_calls} incomplete), {rejected} frame(s) rejected"
        )
        for p in report.problems:
            typer.echo(f"  {p}", err=True)
        if report.problems and status == 0:
            status = 1
    raise typer.Exit(status)


@app.command()
def calls(
    since: Annotated[Optional[str], typer.Option(help="Only calls that arrived at or after this ISO date/time (naive = PBX zone).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Only calls that arrived before this ISO date/time.")] = None,
    format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    all_pbx: Annotated[bool, typer.Option("--all-pbx", help="Calls of every PBX in the database.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    pbx: PbxOption = None,
) -> None:
    """통화 목록 / List scored calls (table, json or csv)."""
    store, cfg = open_all(db, config, pbx)
    tz = cfg.tz
    try:
        lo = parse_time(since, tz) if since else None
        hi = parse_time(until, tz) if until else None
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date/time: {exc}") from exc
    rows = store.query_calls(None if all_pbx else cfg.pbx, lo, hi)
    if format == Format.json:
        sys.stdout.write(calls_json(rows, tz) + "\n")
    elif format == Format.csv:
        sys.stdout.write(calls_csv(rows, tz))
    else:
        from rich.console import Console

        Console().print(calls_table(rows, tz))


@app.command()
def rebuild(db: DbOption = None, config: ConfigOption = None, pbx: PbxOption = None) -> None:
    """다시 계산 / Re-derive calls and scores from the journal (after a rule or directory change)."""
    store, cfg = open_all(db, config, pbx)
    n = Pipeline(store, cfg).rebuild()
    typer.echo(f"rebuilt {n} call(s) for PBX {cfg.pbx!r}")
