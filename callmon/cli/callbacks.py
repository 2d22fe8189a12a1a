"""``callmon callbacks``: the callback obligations as they stand at a moment; ``add`` records a
memo, ``cancel`` cancels an obligation with a reason."""

from __future__ import annotations

import getpass
from typing import Annotated, Optional

import typer

from callmon.cli import app
from callmon.cli.calls import Format
from callmon.cli.common import ConfigOption, DbOption, PbxOption
from callmon.cli.output import AtOption, FormatOption, emit, moment, pipeline_at, reader_at
from callmon.metrics.callbacks import STATUSES
from callmon.reporting.render import Layout, iso

CALLBACKS = Layout(
    fields=("callback_id", "number", "missed_call_ids", "first_missed_at", "due_at", "status", "fulfilled_at",
            "fulfilled_by_call_id", "fulfilled_by_agent", "attempt_call_ids", "agent", "team", "name", "purpose",
            "cancel_reason", "cancelled_at"),
    title="콜백 {n}건 / {n} callbacks",
    columns=(("callback_id", "번호 id"), ("number", "전화번호 number"), ("first_missed_at", "부재 missed"),
             ("due_at", "기한 due"), ("status", "상태 status"), ("fulfilled_at", "회신 called back"),
             ("fulfilled_by_agent", "회신자 by"), ("agent", "담당 owner"), ("missed_call_ids", "부재 통화 calls"),
             ("purpose", "용건 purpose")),
    times=frozenset({"first_missed_at", "due_at", "fulfilled_at", "cancelled_at"}),
    lists=frozenset({"missed_call_ids", "attempt_call_ids"}),
)

callbacks_app = typer.Typer(
    help="콜백 / Callback obligations: missed calls and memos to call back within one working day.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(callbacks_app, name="callbacks")


@callbacks_app.callback()
def callbacks(
    ctx: typer.Context,
    at: AtOption = None,
    since: Annotated[Optional[str], typer.Option(help="Only obligations opened at or after this ISO date/time.")] = None,
    status: Annotated[Optional[str], typer.Option(help=f"Only this status ({', '.join(STATUSES)}).")] = None,
    format: FormatOption = Format.table,
    db: DbOption = None,
    config: ConfigOption = None,
    pbx: PbxOption = None,
) -> None:
    """콜백 목록 / List the callback obligations as they stood at --at (default: now). Reads only."""
    if ctx.invoked_subcommand:
        return
    if status and status not in STATUSES:
        raise typer.BadParameter(f"one of {', '.join(STATUSES)}", param_hint="--status")
    reader, now = reader_at(db, config, pbx, at)
    tz = reader.tz
    lo = moment(since, tz, "--since") if since else None
    rows = [r for r in reader.callbacks_at(now)
            if (lo is None or r["first_missed_at"] >= lo) and (status is None or r["status"] == status)]
    reader.close()
    emit(rows, CALLBACKS, tz, format)


@callbacks_app.command("add")
def add(
    number: Annotated[str, typer.Option("--number", help="The caller's number, as given (010-1234-5678).", show_default=False)],
    name: Annotated[Optional[str], typer.Option("--name", help="Who called.")] = None,
    purpose: Annotated[Optional[str], typer.Option("--purpose", help="What they called about.")] = None,
    agent: Annotated[Optional[str], typer.Option("--agent", help="Extension (or name) of the agent who took the memo.")] = None,
    at: AtOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    pbx: PbxOption = None,
) -> None:
    """메모 등록 / Record a memo for an absent colleague: it opens (or joins) a callback obligation."""
    pipeline, when = pipeline_at(db, config, pbx, at)
    row = pipeline.obligations.add_memo(number, when, name=name, purpose=purpose, agent=agent)
    typer.echo(f"callback {row['callback_id']}: {row['number']} due {iso(row['due_at'], pipeline.config.tz)}")


@callbacks_app.command("cancel")
def cancel(
    callback_id: Annotated[int, typer.Argument(help="The callback_id to cancel.", show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why it is void (kept with it).", show_default=False)],
    by: Annotated[Optional[str], typer.Option("--by", help="Who cancels it; default the login name.")] = None,
    at: AtOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    pbx: PbxOption = None,
) -> None:
    """콜백 취소 / Cancel a callback obligation that is still open, with a reason."""
    pipeline, when = pipeline_at(db, config, pbx, at)
    row = pipeline.obligations.cancel(callback_id, reason, when, by or _login())
    typer.echo(f"callback {callback_id}: {row['status']} ({row['cancel_reason']})")


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        return None
