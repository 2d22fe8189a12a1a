"""``callmon ingest``, ``callmon calls``, ``callmon rebuild``."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn,
)

from callmon.cli import app
from callmon.cli.common import ConfigOption, DbOption, PbxOption, open_all
from callmon.core.errors import CallmonError
from callmon.service.ingest import FileIngest, FileReport
from callmon.sources.files import detect_kind
from callmon.service.pipeline import Pipeline
from callmon.reporting.render import calls_csv, calls_json, calls_table, parse_time


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


@contextmanager
def _bar(*columns):
    """A rich progress display of these columns on stderr while it is a terminal (gone when
    done), else None: quiet when piped or redirected."""
    if not sys.stderr.isatty():
        yield None
        return
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield bar


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
    status = 0
    bad = {p: why for p in files if (why := _unreadable(p))}
    for path, why in bad.items():  # said before the store is opened (or made and migrated)
        typer.echo(f"callmon: error: {path}: {why}", err=True)
        status = 2
    files = [p for p in files if p not in bad]
    if not files:
        raise typer.Exit(status)
    store, cfg = open_all(db, config, pbx)
    pipeline = Pipeline(store, cfg)
    if rejects is not None:
        rejects.mkdir(parents=True, exist_ok=True)
    with _bar(TextColumn("ingest"), BarColumn(), DownloadColumn(), TimeRemainingColumn()) as bar:
        advance = None
        if bar is not None:  # over the files' bytes
            task = bar.add_task("ingest", total=sum(p.stat().st_size for p in files if p.is_file()))
            advance = lambda n: bar.advance(task, n)  # noqa: E731
        files_in = FileIngest(pipeline, rejects_dir=rejects, progress=advance, alone=not shared)
        echo = _echo_above(bar)
        for path in files:
            status = max(status, _ingest_one(pipeline, files_in, path, kind, echo))
    for line in pipeline.warn_weak(logged=False):  # once per endpoint whose class callmon is unsure of
        typer.echo(f"  warning: {line}", err=True)
    raise typer.Exit(status)


def _echo_above(bar: Progress | None):
    """``typer.echo``; while ``bar`` is drawn on the terminal standard output also goes to, a
    line printed above the bar instead (``typer.echo`` would write past the bar and leave the
    line glued to a stale copy of it)."""
    stdout = getattr(sys.stdout, "rich_proxied_file", sys.stdout)  # the bar's proxy says it is no terminal
    if bar is None or not stdout.isatty():
        return typer.echo
    return lambda text, err=False: bar.console.print(text, markup=False, highlight=False, soft_wrap=True)


def _ingest_one(pipeline: Pipeline, files_in: FileIngest, path: Path, kind: Kind, echo=typer.echo) -> int:
    """Ingest one file, print its summary; return its exit status."""
    if _blank(path):
        echo(f"{path}: empty, nothing to import")
        return 0
    try:
        k = kind.value if kind != Kind.auto else detect_kind(path)
        if k != "ami":
            return _report_file(files_in.ingest(path, k), echo)
        report = pipeline.ingest_ami_file(path)
    except CallmonError as exc:
        echo(f"callmon: error: {exc}", err=True)
        return 2
    st = report.stats
    rejected = (st.malformed + st.truncated) if st else 0
    echo(
        f"{path}: {report.events} events ({report.new_events} new), {report.calls} call(s) derived"
        f" ({report.incomplete_calls} incomplete), {rejected} frame(s) rejected"
    )
    for p in report.problems:
        echo(f"  {p}", err=True)
    return 1 if report.problems else 0


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be imported at all (missing, a directory, not readable), else None."""
    if not path.exists():
        return "no such file"
    if path.is_dir():
        return "is a directory, not a file"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def _blank(path: Path) -> bool:
    """An existing file with nothing but white space (a queue_log of a PBX without queues)."""
    try:
        return path.is_file() and path.stat().st_size <= 4096 and not path.read_bytes().strip()
    except OSError:
        return False


def _report_file(report: FileReport, echo=typer.echo) -> int:
    echo(
        f"{report.source}: {report.kind}, {report.rows} rows ({report.new_rows} new), {report.calls} call(s) derived"
        f" ({report.incomplete_calls} incomplete), {report.rejected} line(s) rejected"
        + (f" -> {report.rejects_file}" if report.rejects_file else "")
    )
    for w in report.warnings:
        echo(f"  warning: {w}", err=True)
    if report.rejected:
        echo(f"  {report.source}: {report.rejected} line(s) rejected, listed in {report.rejects_file}", err=True)
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
    """통화 목록 / List scored calls (table, json or csv). Reads only: nothing is migrated or written."""
    from callmon.cli.output import reader_at
    from callmon.read import CallFilter

    reader, _ = reader_at(db, config, pbx)
    tz = reader.tz
    try:
        lo = parse_time(since, tz) if since else None
        hi = parse_time(until, tz) if until else None
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date/time: {exc}") from exc
    rows = list(reader.calls(CallFilter(since=lo, until=hi), all_pbx=all_pbx))
    reader.close()
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
    with _bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        n = Pipeline(store, cfg).rebuild(progress=_steps(bar) if bar is not None else None)
    typer.echo(f"rebuilt {n} call(s) for PBX {cfg.pbx!r}")


_STEPS = {"calls": "통화 / calls", "callbacks": "콜백 / callbacks"}


def _steps(bar: Progress):
    """``progress(step, done, total)`` drawing a bar per step on ``bar``."""
    tasks: dict[str, int] = {}

    def progress(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(_STEPS.get(step, step), total=total)
        bar.update(tasks[step], completed=done, total=total)

    return progress
