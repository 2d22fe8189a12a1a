"""``callmon ingest``, ``callmon calls``, ``callmon rebuild``."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.console import Console

from callmon.cli import app
from callmon.cli.common import ConfigOption, DbOption, PbxOption, open_all
from callmon.errors import CallmonError
from callmon.file_ingest import FileIngest, FileReport
from callmon.importers import detect_kind
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


def _progress(files: list[Path]):
    """A rich progress bar over the files' bytes on a terminal, else None (quiet)."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    total = sum(p.stat().st_size for p in files if p.is_file())
    return Progress(TextColumn("ingest"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True), total


@app.command()
def ingest(
    files: Annotated[List[Path], typer.Argument(help="AMI captures (ami.raw), Master.csv, CEL or queue_log files.", show_default=False)],
    kind: Annotated[Kind, typer.Option("--kind", help="What the files are; auto sniffs each file.")] = Kind.auto,
    rejects: Annotated[Optional[Path], typer.Option("--rejects", help="Directory for the rejects files (default: beside each input).", file_okay=False)] = None,
    shared: Annotated[bool, typer.Option("--shared", help="SQLite: keep the database readable by others (the dashboard) during a large import; slower.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    pbx: PbxOption = None,
) -> None:
    """파일 가져오기 / Import recorded AMI streams and Asterisk's files into the store.

    Master.csv, CEL and queue_log of one period may be given together (or one after another):
    their rows are merged per call, and with what the live listener recorded: a complete AMI
    record stands (the files are added to its sources), an incomplete or missing one is replaced
    by the record from the files. Local times in the files are read in pbx.cdr_timezone of the
    config (default: timezone; "auto" judges Master.csv by its uniqueids).

    Idempotent: ingesting the same file again changes nothing. Each file is one transaction.
    Rejected lines are listed in FILE.rejects.csv (file, line, reason, the line with caller
    numbers masked), beside FILE or in --rejects DIR; no rejects, no such file.
    A Master.csv of 32 MB or more into SQLite takes the database for itself while it is imported
    (a rollback journal instead of WAL: others wait) unless --shared or someone has it open.
    Exit status: 0 all sound, 1 some input was rejected (listed on stderr), 2 a file could not be read.
    """
    store, cfg = open_all(db, config, pbx)
    pipeline = Pipeline(store, cfg)
    if rejects is not None:
        rejects.mkdir(parents=True, exist_ok=True)
    bar = _progress(files)
    task = None
    if bar is not None:
        bar[0].start()
        task = bar[0].add_task("ingest", total=bar[1])
    files_in = FileIngest(pipeline, rejects_dir=rejects,
                          progress=(lambda n: bar[0].advance(task, n)) if bar is not None else None,
                          alone=not shared)
    status = 0
    try:
        for path in files:
            status = max(status, _ingest_one(pipeline, files_in, path, kind))
    finally:
        if bar is not None:
            bar[0].stop()
    raise typer.Exit(status)


def _ingest_one(pipeline: Pipeline, files_in: FileIngest, path: Path, kind: Kind) -> int:
    """Ingest one file, print its summary; return its exit status."""
    if _blank(path):
        typer.echo(f"{path}: empty, nothing to import")
        return 0
    try:
        k = kind.value if kind != Kind.auto else detect_kind(path)
        if k != "ami":
            return _report_file(files_in.ingest(path, k))
        report = pipeline.ingest_ami_file(path)
    except CallmonError as exc:
        typer.echo(f"callmon: error: {exc}", err=True)
        return 2
    st = report.stats
    rejected = (st.malformed + st.truncated) if st else 0
    typer.echo(
        f"{path}: {report.events} events ({report.new_events} new), {report.calls} call(s) derived"
        f" ({report.incomplete_calls} incomplete), {rejected} frame(s) rejected"
    )
    for p in report.problems:
        typer.echo(f"  {p}", err=True)
    return 1 if report.problems else 0


def _blank(path: Path) -> bool:
    """An existing file with nothing but white space (a queue_log of a PBX without queues)."""
    try:
        return path.is_file() and path.stat().st_size <= 4096 and not path.read_bytes().strip()
    except OSError:
        return False


def _report_file(report: FileReport) -> int:
    typer.echo(
        f"{report.source}: {report.kind}, {report.rows} rows ({report.new_rows} new), {report.calls} call(s) derived"
        f" ({report.incomplete_calls} incomplete), {report.rejected} line(s) rejected"
        + (f" -> {report.rejects_file}" if report.rejects_file else "")
    )
    for w in report.warnings:
        typer.echo(f"  warning: {w}", err=True)
    if report.rejected:
        typer.echo(f"  {report.source}: {report.rejected} line(s) rejected, listed in {report.rejects_file}", err=True)
        return 1
    return 0


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
        Console().print(calls_table(rows, tz))


@app.command()
def rebuild(db: DbOption = None, config: ConfigOption = None, pbx: PbxOption = None) -> None:
    """다시 계산 / Re-derive calls and scores from the journal (after a rule or directory change).

    On a terminal, a progress bar counts the calls derived (against those stored before) and
    then the numbers whose callback obligations are derived; quiet otherwise."""
    store, cfg = open_all(db, config, pbx)
    with _steps() as progress:
        n = Pipeline(store, cfg).rebuild(progress=progress)
    typer.echo(f"rebuilt {n} call(s) for PBX {cfg.pbx!r}")


_STEPS = {"calls": "통화 / calls", "callbacks": "콜백 / callbacks"}


@contextmanager
def _steps():
    """``progress(step, done, total)`` drawing a rich bar per step on a terminal, else None."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    tasks: dict[str, int] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(_STEPS.get(step, step), total=total)
            bar.update(tasks[step], completed=done, total=total)

        yield progress
