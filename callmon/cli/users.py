"""``callmon users``: who may log in to the dashboard, with which role; the access log."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Optional

import typer

from callmon.cli import app
from callmon.cli.calls import Format
from callmon.cli.common import DbOption
from callmon.cli.output import FormatOption, emit
from callmon.core.errors import InputError
from callmon.core.roles import ROLES
from callmon.reporting.render import Layout

users_app = typer.Typer(help="사용자 / Dashboard users (viewer, supervisor, admin) and the access log.",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")

USERS = Layout(
    fields=("name", "role", "created_at", "updated_at"),
    title="사용자 {n}명 / {n} user(s)",
    columns=(("name", "이름 name"), ("role", "역할 role"), ("created_at", "생성 created"), ("updated_at", "변경 changed")),
    times=frozenset({"created_at", "updated_at"}),
)
ACCESS = Layout(
    fields=("at", "user", "role", "action", "what", "why"),
    title="열람 기록 {n}건 / {n} access-log row(s)",
    columns=(("at", "시각 at"), ("user", "사용자 user"), ("role", "역할 role"), ("action", "행위 action"),
             ("what", "대상 what"), ("why", "사유 why")),
    times=frozenset({"at"}),
)
RoleOption = Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.", show_default=False)]


def _password(confirm: bool = True) -> str:
    """The new password: typed twice on a terminal, else the first line of standard input
    (never an argument: arguments are visible to every user of the machine)."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if confirm and getpass.getpass("again: ") != first:
            raise InputError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _users(db: str | None):
    from callmon.service.users import Users

    return Users.open(db)


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Login name.", show_default=False)],
    role: RoleOption,
    db: DbOption = None,
) -> None:
    """사용자 추가 / Add a user; the password is read from standard input (typed twice on a terminal)."""
    if role not in ROLES:
        raise typer.BadParameter(f"one of {', '.join(ROLES)}", param_hint="--role")
    users = _users(db)
    try:
        users.add(name, role, _password())
    finally:
        users.close()
    typer.echo(f"user {name} added ({role})")


@users_app.command("list")
def list_(format: FormatOption = Format.table, db: DbOption = None) -> None:
    """사용자 목록 / List the users and their roles."""
    from callmon.core.config import load_config

    users = _users(db)
    try:
        rows = users.list()
    finally:
        users.close()
    emit(rows, USERS, load_config(None).tz, format)


@users_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="Login name.", show_default=False)], db: DbOption = None) -> None:
    """사용자 삭제 / Remove a user."""
    users = _users(db)
    try:
        users.remove(name)
    finally:
        users.close()
    typer.echo(f"user {name} removed")


@users_app.command("passwd")
def passwd(
    name: Annotated[str, typer.Argument(help="Login name.", show_default=False)],
    role: Annotated[Optional[str], typer.Option("--role", help="Also change the role.")] = None,
    db: DbOption = None,
) -> None:
    """비밀번호 변경 / Set a user's password (read from standard input), and optionally the role."""
    if role is not None and role not in ROLES:
        raise typer.BadParameter(f"one of {', '.join(ROLES)}", param_hint="--role")
    users = _users(db)
    try:
        users.passwd(name, _password())
        if role is not None:
            users.set_role(name, role)
    finally:
        users.close()
    typer.echo(f"user {name}: password changed" + (f", role {role}" if role else ""))


@users_app.command("access-log")
def access_log(
    since: Annotated[Optional[str], typer.Option(help="Only rows at or after this ISO date/time.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows, newest first.")] = 1000,
    format: FormatOption = Format.table,
    db: DbOption = None,
) -> None:
    """열람 기록 / Who saw or exported full phone numbers: when, what, why (newest first). Reads only."""
    from callmon.cli.output import moment, reader_at

    reader, _ = reader_at(db, None, None)
    try:
        lo = moment(since, reader.tz, "--since") if since else None
        rows = reader.access_log(reader.viewer(None, "admin"), since=lo, limit=limit)
    finally:
        reader.close()
    emit(rows, ACCESS, reader.tz, format)
