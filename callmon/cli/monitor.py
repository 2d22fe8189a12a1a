"""``callmon monitor``: phone monitoring sessions (전화 모니터링) — create, plan, evaluate, import,
score, calibrate, report."""

from __future__ import annotations

import getpass
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from callmon.cli import app
from callmon.cli.calls import Format
from callmon.cli.common import ConfigOption, DbOption, PbxOption, open_all
from callmon.cli.output import AtOption, FormatOption, emit, moment, pipeline_at
from callmon.core.errors import ConfigError
from callmon.reporting.render import Layout

monitor_app = typer.Typer(
    name="monitor", no_args_is_help=True,
    help="전화 모니터링 / Phone monitoring sessions: create, plan, evaluate, import, score, calibrate, report.")
app.add_typer(monitor_app, name="monitor")

SessionArg = Annotated[str, typer.Argument(help="The session's id or name (see: callmon monitor list).")]
AuthorOption = Annotated[Optional[str], typer.Option("--author", help="Who enters it (default: the login name).")]


def _layout(title: str, *cols: tuple[str, str], times=(), lists=()) -> Layout:
    return Layout(fields=tuple(c for c, _ in cols), title=title, columns=cols,
                  times=frozenset(times), lists=frozenset(lists))


SESSIONS = _layout("모니터링 회차 {n}개 / {n} session(s)", ("session_id", "번호 id"), ("name", "이름 name"),
                   ("period", "기간 period"), ("template", "양식 template"), ("teams", "팀 teams"),
                   ("extensions", "내선 extensions"), ("evaluators", "평가자 evaluators"), ("planned", "계획 planned"),
                   ("evaluations", "평가 evaluations"), ("created_at", "생성 created"), ("created_by", "생성자 by"),
                   times=("created_at",), lists=("teams", "extensions", "evaluators"))
PLAN = _layout("시험통화 {n}건 / {n} planned test call(s)", ("seq", "번호 seq"), ("team", "팀 team"),
               ("extension", "내선 ext"), ("agent", "직원 agent"), ("evaluator", "평가자 evaluator"), ("seed", "seed"))
CALLS = _layout("평가 {n}건 / {n} evaluation(s)", ("test_call", "시험통화 test call"), ("evaluator", "평가자 evaluator"),
                ("version", "판 ver"), ("called_at", "통화 시각 called at"), ("number", "번호 number"),
                ("match", "매칭 match"), ("call_id", "통화 call"), ("candidates", "후보 candidates"),
                ("person", "직원 person"), ("team", "팀 team"), ("score", "점수 score"), ("grade", "등급 grade"),
                ("status", "상태 status"), ("provisional", "잠정 provisional"), ("missing", "누락 missing"),
                ("marks", "평점 marks"), ("not_applicable", "해당없음 n/a"), ("evidence", "근거 evidence"),
                ("reason", "정정 사유 reason"), ("author", "입력 author"),
                times=("called_at",), lists=("candidates", "missing", "not_applicable"))
GROUPS = _layout("점수 {n}행 / {n} score row(s)", ("group", "구분 group"), ("name", "이름 name"), ("team", "팀 team"),
                 ("calls", "통화 calls"), ("score", "점수 score"), ("grade", "등급 grade"))
HISTORY = _layout("평가 이력 {n}건 / {n} version(s)", ("test_call", "시험통화 test call"), ("evaluator", "평가자 evaluator"),
                  ("version", "판 ver"), ("marks", "평점 marks"), ("reason", "사유 reason"), ("author", "입력 author"),
                  ("source", "출처 source"), ("created_at", "입력 시각 at"), times=("created_at",))
CALIBRATION = _layout("평가자 간 차이 {n}행 / {n} item row(s)", ("test_call", "시험통화 test call"),
                      ("first_evaluator", "평가자1"), ("second_evaluator", "평가자2"), ("item", "항목 item"),
                      ("label", "내용 label"), ("first", "평점1"), ("second", "평점2"), ("differs", "차이 differs"))
SUGGEST = _layout("녹취 확인 / transcript check", ("item", "항목 item"), ("found", "발견 found"), ("evidence", "근거 evidence"))


class By(str, Enum):
    evaluation = "evaluation"
    call = "call"
    person = "person"
    team = "team"
    institution = "institution"


def _monitoring(db, config, pbx, at=None):
    """The write side (the monitoring service) and the moment ``--at`` names."""
    from callmon.service.monitoring import Monitoring

    pipeline, now = pipeline_at(db, config, pbx, at)
    return Monitoring(pipeline), now


def _view_of(mon):
    """The read side over the service's store."""
    from callmon.read.monitoring import MonitoringView

    return MonitoringView(mon.pipeline.store, mon.pipeline.config, mon.pipeline.pbx)


def _view(db, config, pbx, at=None):
    """The read side of the sessions and the moment ``--at`` names."""
    from callmon.read.monitoring import MonitoringView

    store, cfg = open_all(db, config, pbx)
    return MonitoringView(store, cfg, pbx), moment(at, cfg.tz)


def _author(author: str | None) -> str:
    if author:
        return author
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _evaluators(values: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in values:
        name, sep, numbers = v.partition("=")
        if not sep or not name.strip() or not numbers.strip():
            raise typer.BadParameter(f"use NAME=NUMBER[,NUMBER...], got {v!r}", param_hint="--evaluator")
        out.setdefault(name.strip(), []).extend(n.strip() for n in numbers.split(",") if n.strip())
    return out


@monitor_app.command("template")
def template_cmd(out: Annotated[Optional[Path], typer.Option("--out", help="Write it here instead of printing.")] = None) -> None:
    """기본 양식 / Print the default checklist template (TOML) to edit and pass to `create --template`."""
    from callmon.monitoring.template import DEFAULT

    text = DEFAULT.to_toml()
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@monitor_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="e.g. '2026 하반기 전화 모니터링'.")],
    period: Annotated[str, typer.Option("--period", help="The half-year it belongs to: 2026-H1, 2026-H2 (or 2026-Q3, 2026).")],
    evaluator: Annotated[list[str], typer.Option("--evaluator", help="NAME=NUMBER[,NUMBER]: an evaluator and the outside number(s) they call from (repeat).")],
    team: Annotated[Optional[list[str]], typer.Option("--team", help="A team in scope (its people from the directory; repeat).")] = None,
    extension: Annotated[Optional[list[str]], typer.Option("--extension", help="An extension in scope (repeat).")] = None,
    template: Annotated[Optional[Path], typer.Option("--template", help="Checklist template TOML (default: the charter's form; see `monitor template`).")] = None,
    window: Annotated[float, typer.Option("--window", help="Seconds around the noted time within which a test call's record is looked for.")] = 300.0,
    author: AuthorOption = None,
    format: FormatOption = Format.table,
    db: DbOption = None, config: ConfigOption = None, pbx: PbxOption = None,
) -> None:
    """회차 만들기 / Create a monitoring session."""
    from callmon.monitoring.template import DEFAULT, template_from_toml
    from callmon.read.monitoring import session_rows

    if not team and not extension:
        raise typer.BadParameter("give the teams (--team) or extensions (--extension) in scope", param_hint="--team")
    chosen = DEFAULT
    if template is not None:
        try:
            text = template.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", file=str(template)) from exc
        chosen = template_from_toml(text, file=str(template))
    mon, _ = _monitoring(db, config, pbx)
    s = mon.create(name, period, evaluators=_evaluators(evaluator), teams=team or [], extensions=extension or [],
                   template=chosen, window_s=window, created_by=_author(author))
    view = _view_of(mon)
    emit([r for r in session_rows(view) if r["session_id"] == s["id"]], SESSIONS, view.tz, format)


@monitor_app.command("list")
def list_cmd(format: FormatOption = Format.table, db: DbOption = None, config: ConfigOption = None,
             pbx: PbxOption = None) -> None:
    """회차 목록 / List the monitoring sessions."""
    from callmon.read.monitoring import session_rows

    view, _ = _view(db, config, pbx)
    emit(session_rows(view), SESSIONS, view.tz, format)


@monitor_app.command("plan")
def plan_cmd(
    session: SessionArg,
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same plan.")],
    per_person: Annotated[Optional[int], typer.Option("--per-person", help="Test calls per person (default 1).")] = None,
    per_team: Annotated[Optional[int], typer.Option("--per-team", help="Test calls per team, spread over its people.")] = None,
    format: FormatOption = Format.table,
    db: DbOption = None, config: ConfigOption = None, pbx: PbxOption = None,
) -> None:
    """시험통화 계획 / Plan the test calls (stratified by team and person; again only before evaluations)."""
    from callmon.read.monitoring import plan_rows

    mon, _ = _monitoring(db, config, pbx)
    mon.plan(session, seed, per_person=per_person, per_team=per_team)
    emit(plan_rows(_view_of(mon), session), PLAN, mon.tz, format)


@monitor_app.command("evaluate")
def evaluate(
    session: SessionArg,
    test_call: Annotated[str, typer.Option("--test-call", help="The planned test call's number (seq).")],
    evaluator: Annotated[str, typer.Option("--evaluator", help="The evaluator's name as in the session.")],
    called_at: Annotated[Optional[str], typer.Option("--called-at", help="When the call was made, ISO (naive = PBX zone); a correction keeps the earlier one.")] = None,
    mark: Annotated[Optional[list[str]], typer.Option("--mark", help="ITEM=Y|N|NA|0..1 for each evaluator item (repeat).")] = None,
    number: Annotated[Optional[str], typer.Option("--number", help="The number called from (default: the evaluator's only one; a correction keeps the earlier one).")] = None,
    call_id: Annotated[Optional[str], typer.Option("--call-id", help="The call record, to settle an ambiguous or missing match.")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why: required for a correction of an earlier evaluation.")] = None,
    note: Annotated[Optional[str], typer.Option("--note", help="A remark.")] = None,
    author: AuthorOption = None,
    format: FormatOption = Format.table,
    db: DbOption = None, config: ConfigOption = None, pbx: PbxOption = None,
) -> None:
    """평가 입력 / Record (or correct, with --reason) one test call's evaluation."""
    marks = {}
    for m in mark or []:
        key, sep, value = m.partition("=")
        if not sep:
            raise typer.BadParameter(f"use ITEM=VALUE, got {m!r}", param_hint="--mark")
        marks[key.strip()] = value.strip()
    mon, now = _monitoring(db, config, pbx)
    row = mon.evaluate(session, {"test_call": test_call, "evaluator": evaluator, "called_at": called_at,
                                 "number": number, "call_id": call_id, "marks": marks, "reason": reason, "note": note},
                       author=_author(author))
    _print_evaluations(_view_of(mon), session, now, format, only={(row["test_call"], row["evaluator"])})


@monitor_app.command("import")
def import_cmd(
    session: SessionArg,
    sheet: Annotated[Path, typer.Argument(help="The evaluator sheet, .csv or .xlsx: test_call, evaluator, called_at, [number, call_id, reason, note,] one column per item.")],
    author: AuthorOption = None,
    format: FormatOption = Format.table,
    db: DbOption = None, config: ConfigOption = None, pbx: PbxOption = None,
) -> None:
    """평가표 가져오기 / Import an evaluator sheet (all rows or none; a bad row is named by file and line)."""
    mon, now = _monitoring(db, config, pbx)
    rows = mon.import_sheet(session, sheet, author=_author(author))
    typer.echo(f"{sheet}: {len(rows)} evaluation(s) imported", err=True)
    _print_evaluations(_view_of(mon), session, now, format, only={(r["test_call"], r["evaluator"]) for r in rows})


def _print_evaluations(view, session, now, format, only=None):
    from callmon.read.monitoring import evaluation_rows

    rows = evaluation_rows(view.scores(session, now))
    emit([r for r in rows if only is None or (r["test_call"], r["evaluator"]) in only], CALLS, view.tz, format)


@monitor_app.command("score")
def score(
    session: SessionArg,
    by: Annotated[By, typer.Option("--by", help="evaluation (each evaluator's, with evidence), call, person, team, institution.")] = By.person,
    at: AtOption = None,
    format: FormatOption = Format.table,
    db: DbOption = None, config: ConfigOption = None, pbx: PbxOption = None,
) -> None:
    """점수 / Scores per evaluation, test call, person, team or the institution, with grades."""
    from callmon.read.monitoring import evaluation_rows, group_rows, test_call_rows

    mon, now = _view(db, config, pbx, at)
    scores = mon.scores(session, now)
    if by == By.evaluation:
        emit(evaluation_rows(scores), CALLS, mon.tz, format)
    elif by == By.call:
        emit(test_call_rows(scores), _layout("시험통화 {n}건 / {n} test call(s)", ("test_call", "시험통화 test call"),
                                             ("person", "직원 person"), ("team", "팀 team"), ("score", "점수 score"),
                                             ("grade", "등급 grade"), ("status", "상태 status"),
                                             ("provisional", "잠정 provisional")), mon.tz, format)
    else:
        emit(group_rows(scores, by.value), GROUPS, mon.tz, format)


@monitor_app.command("history")
def history(session: SessionArg, format: FormatOption = Format.table, db: DbOption = None,
            config: ConfigOption = None, pbx: PbxOption = None) -> None:
    """평가 이력 / Every version of every evaluation (corrections with reason and author)."""
    from callmon.read.monitoring import history_rows

    mon, _ = _view(db, config, pbx)
    emit(history_rows(mon, session), HISTORY, mon.tz, format)


@monitor_app.command("calibrate")
def calibrate(
    session: SessionArg,
    test_call: Annotated[Optional[str], typer.Option("--test-call", help="Only this test call.")] = None,
    differences: Annotated[bool, typer.Option("--differences", help="Only the items where evaluators differ.")] = False,
    format: FormatOption = Format.table,
    db: DbOption = None, config: ConfigOption = None, pbx: PbxOption = None,
) -> None:
    """평가자 보정 / Two evaluators on one test call: their marks item by item."""
    from callmon.read.monitoring import calibration_rows

    mon, _ = _view(db, config, pbx)
    rows = calibration_rows(mon, session, test_call)
    emit([r for r in rows if r["differs"] or not differences], CALIBRATION, mon.tz, format)


@monitor_app.command("suggest")
def suggest(
    transcript: Annotated[Path, typer.Argument(help="A call's transcript (UTF-8 text).")],
    format: FormatOption = Format.table,
) -> None:
    """녹취 확인 / Suggest the greeting, apology, closing and transfer items from a transcript (to confirm)."""
    from zoneinfo import ZoneInfo

    from callmon.core.errors import InputError
    from callmon.monitoring.transcript import suggest as suggest_items

    try:
        text = transcript.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the transcript: {exc}", file=str(transcript)) from exc
    rows = [{"item": s.item, "found": s.found, "evidence": s.evidence} for s in suggest_items(text)]
    emit(rows, SUGGEST, ZoneInfo("UTC"), format)


@monitor_app.command("report")
def report(
    session: SessionArg,
    out: Annotated[Path, typer.Option("--out", help="FILE.html, FILE.pdf (to publish), FILE.csv or FILE.xlsx (the detail).")],
    anonymise: Annotated[bool, typer.Option("--anonymise/--names", help="Show people as 직원 A, B, ... (default) or by name.")] = True,
    compare: Annotated[Optional[str], typer.Option("--compare", help="Another session (e.g. H1) to set against this one.")] = None,
    at: AtOption = None,
    db: DbOption = None, config: ConfigOption = None, pbx: PbxOption = None,
) -> None:
    """결과 보고서 / Write the session's report: HTML/PDF to publish, CSV/XLSX detail."""
    from callmon.reporting.monitoring import build_monitoring_report, write_monitoring_report

    mon, now = _view(db, config, pbx, at)
    rep = build_monitoring_report(mon, session, now, anonymise=anonymise, compare=compare)
    for path in write_monitoring_report(rep, out):
        typer.echo(str(path))
