"""``callmon directory import FILE.csv`` and ``callmon directory list``.

The CSV has the columns extension, name, team (an optional header line naming them; UTF-8, with
or without a BOM). An imported extension wins over the config's ``[directory]``; extensions only
the config names stay. Stored calls keep the agent and team they were scored with until
``callmon rebuild``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated

import typer

from callmon.cli import app
from callmon.cli.calls import Format
from callmon.cli.common import ConfigOption, DbOption, PbxOption, open_all
from callmon.cli.output import FormatOption, emit
from callmon.core.config import Employee
from callmon.core.errors import InputError
from callmon.reporting.render import Layout

HEADER = {"extension", "ext", "내선", "내선번호"}
DIRECTORY = Layout(
    fields=("extension", "name", "team", "source"),
    title="직원 {n}명 / {n} employees",
    columns=(("extension", "내선 extension"), ("name", "이름 name"), ("team", "팀 team"), ("source", "출처 source")),
)

directory_app = typer.Typer(help="직원 명부 / The directory: extension -> employee -> team.", no_args_is_help=True)
app.add_typer(directory_app, name="directory")


def parse_directory(text: str, file: str) -> list[Employee]:
    """Rows ``extension,name[,team]`` -> employees; every bad line is reported, none is guessed."""
    employees: dict[str, Employee] = {}
    problems = []
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or (line_no == 1 and cells[0].lower() in HEADER):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1] or len(cells) > 3:
            problems.append(f"{file}:{line_no}: expected extension,name[,team], got {row!r}")
        elif any(ch.isspace() for ch in cells[0]):
            problems.append(f"{file}:{line_no}: an extension has no spaces: {cells[0]!r}")
        elif cells[0] in employees:
            problems.append(f"{file}:{line_no}: extension {cells[0]} listed twice")
        else:
            team = cells[2] if len(cells) == 3 and cells[2] else None
            employees[cells[0]] = Employee(cells[0], cells[1], team)
    if problems:
        raise InputError("nothing imported:\n  " + "\n  ".join(problems), file=file)
    return list(employees.values())


@directory_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV: extension,name,team", show_default=False)],
    replace: Annotated[bool, typer.Option("--replace", help="Drop imported extensions the file does not list.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    pbx: PbxOption = None,
) -> None:
    """명부 가져오기 / Import the directory from a CSV (all or nothing)."""
    store, cfg = open_all(db, config, pbx)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(file)) from exc
    n = store.import_directory(cfg.pbx, parse_directory(text, str(file)), file.name, replace=replace)
    typer.echo(f"{file}: {n} employee(s) imported for PBX {cfg.pbx!r}; "
               "run `callmon rebuild` to apply them to the stored calls")


@directory_app.command("list")
def list_(format: FormatOption = Format.table, db: DbOption = None, config: ConfigOption = None,
          pbx: PbxOption = None) -> None:
    """명부 보기 / The directory in force: the imported entries over the config's."""
    store, cfg = open_all(db, config, pbx)
    imported = store.load_directory(cfg.pbx)
    merged = {e: ("config", emp) for e, emp in cfg.directory.items()}
    merged.update({e: ("import", emp) for e, emp in imported.items()})
    rows = [{"extension": e, "name": emp.name, "team": emp.team, "source": src}
            for e, (src, emp) in sorted(merged.items())]
    emit(rows, DIRECTORY, cfg.tz, format)
