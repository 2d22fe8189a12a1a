"""모니터링 (``/monitoring``): a monitoring session's scores (institution, teams, test calls with
their match) and, for supervisors and admins, the evaluation form: the session's own template
items, a running score as the marks are chosen (matched against the call record, nothing
stored), the transcript check's suggestions, and saving (a correction needs a reason); they also
write the report to publish (PDF/HTML, anonymised by default). Viewers see the scores and no form;
the save and publish callbacks refuse them too. Writes go through the service ``callmon monitor``
uses (:class:`callmon.service.monitoring.Monitoring`), reads through
:class:`callmon.read.monitoring.MonitoringView`.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import dash
from dash import ALL, Input, Output, State, dcc, html, no_update
from flask_login import current_user

from callmon.core.errors import CallmonError
from callmon.core.roles import MAY_EVALUATE, MAY_PUBLISH
from callmon.dashboard.context import ctx
from callmon.dashboard.i18n import current_lang, page_title
from callmon.dashboard.params import moment_param

dash.register_page(__name__, path="/monitoring", title=page_title("nav_monitoring"), order=3.5, title_key="nav_monitoring",
                   name="monitoring")

MARKS = (("Y", "Y"), ("N", "N"), ("NA", "NA"))

WORDS = {
    "ko": {"title": "전화 모니터링", "session": "회차", "institution": "기관 종합", "teams": "팀별", "calls": "시험통화",
           "form": "평가 입력", "test_call": "시험통화 번호", "evaluator": "평가자", "called_at": "통화 시각",
           "number": "발신 번호 (생략 가능)", "reason": "정정 사유", "save": "저장", "preview": "예상 점수",
           "saved": "저장됨: 시험통화 {tc} · {ev} · {v}판", "readonly": "열람 전용: 평가 입력은 감독자·관리자만 할 수 있습니다.",
           "no_session": "모니터링 회차가 없습니다 (callmon monitor create).", "denied": "권한이 없습니다.",
           "team": "팀", "score": "점수", "grade": "등급", "n": "통화", "match": "매칭", "person": "직원",
           "status": "상태", "points": "점", "unscored": "점수 없음", "transcript": "녹취 (선택: 붙여 넣으면 항목 제안)",
           "suggest": "녹취로 제안", "suggested": "제안 (확인 후 저장)", "calibration": "평가자 간 차이",
           "item": "항목", "first": "평가1", "second": "평가2", "no_differences": "차이 없음",
           "publish": "결과 공개용 보고서", "anonymise": "직원 익명 처리", "written": "작성됨: {name}"},
    "en": {"title": "Phone monitoring", "session": "Session", "institution": "Institution", "teams": "Teams",
           "calls": "Test calls", "form": "Evaluation", "test_call": "Test call", "evaluator": "Evaluator",
           "called_at": "Called at", "number": "Number (optional)", "reason": "Reason for a correction",
           "save": "Save", "preview": "Running score", "saved": "Saved: test call {tc} · {ev} · version {v}",
           "readonly": "Read only: evaluations are entered by supervisors and admins.",
           "no_session": "No monitoring session yet (callmon monitor create).", "denied": "Not allowed.",
           "team": "Team", "score": "Score", "grade": "Grade", "n": "Calls", "match": "Match", "person": "Person",
           "status": "Status", "points": "pts", "unscored": "no score",
           "transcript": "Transcript (optional: paste it to have items suggested)", "suggest": "Suggest from transcript",
           "suggested": "Suggested (check, then save)", "calibration": "Where evaluators differ", "item": "Item",
           "first": "First", "second": "Second", "no_differences": "No differences",
           "publish": "Report to publish", "anonymise": "Anonymise people", "written": "Written: {name}"},
}

_services: dict[str, Any] = {}
_lock = threading.Lock()


def w(key: str, lang: str, **values) -> str:
    text = WORDS.get(lang, WORDS["ko"]).get(key, key)
    return text.format(**values) if values else text


def monitoring():
    """The monitoring service over this dashboard's database (opened on first use, one per database)."""
    c = ctx()
    with _lock:
        mon = _services.get(c.db_url)
        if mon is None:
            from callmon.service.monitoring import Monitoring
            from callmon.service.pipeline import Pipeline
            from callmon.storage import Store

            mon = _services[c.db_url] = Monitoring(Pipeline(Store(c.db_url), c.config, c.reader.pbx))
        return mon


def view():
    """The read side of the sessions over the same store."""
    from callmon.read.monitoring import MonitoringView

    mon = monitoring()
    return MonitoringView(mon.pipeline.store, mon.pipeline.config, mon.pipeline.pbx)


def may_evaluate() -> bool:
    return bool(current_user.is_authenticated and current_user.role in MAY_EVALUATE)


def may_publish() -> bool:
    """Evaluators enter, supervisors publish (the issue's division of work)."""
    return bool(current_user.is_authenticated and current_user.role in MAY_PUBLISH)


def layout(at: str | None = None, session: str | None = None, **_query) -> html.Div:
    lang = current_lang()
    sessions = view().sessions()
    if not sessions:
        return html.Div([html.H1(w("title", lang)), html.P(w("no_session", lang), id="mon-summary")])
    chosen = session or str(sessions[-1]["id"])
    form = _form(lang) if may_evaluate() else html.P(w("readonly", lang), id="mon-readonly", className="cm-note")
    return html.Div([
        dcc.Store(id="mon-at", data=moment_param(at)),
        dcc.Store(id="mon-version", data=0),
        html.H1(w("title", lang)),
        html.Div([html.Label([w("session", lang), dcc.Dropdown(
            id="mon-session", value=chosen, clearable=False, style={"minWidth": "22rem"},
            options=[{"label": f"{s['name']} ({s['period']})", "value": str(s["id"])} for s in sessions])])],
            className="cm-form"),
        _publish(lang) if may_publish() else html.Div(),
        html.Div(className="cm-row", style={"marginTop": ".8rem"}, children=[
            html.Div(id="mon-summary", className="cm-card"),
            html.Div(form, className="cm-card"),
        ]),
    ])


def _publish(lang: str) -> html.Div:
    """Supervisors and admins write the report to publish (HTML or PDF; anonymised by default)."""
    return html.Div([
        html.Span(w("publish", lang)),
        dcc.Checklist(id="mon-anonymise", options=[{"label": w("anonymise", lang), "value": "on"}], value=["on"],
                      inline=True),
        html.Button("PDF", id="mon-pdf"), html.Button("HTML", id="mon-html", className="secondary"),
        html.Span(id="mon-written", className="cm-muted"),
        dcc.Download(id="mon-download"),
    ], className="cm-form", style={"marginTop": ".6rem"})


def _form(lang: str) -> html.Div:
    inp = lambda i, key, **kw: html.Label([w(key, lang), dcc.Input(className="cm-input", id=i, type="text", **kw)])  # noqa: E731
    return html.Div([
        html.H2(w("form", lang)),
        html.Div([
            html.Label([w("test_call", lang), dcc.Dropdown(id="mon-test-call", clearable=False, style={"minWidth": "8rem"})]),
            html.Label([w("evaluator", lang), dcc.Dropdown(id="mon-evaluator", clearable=False, style={"minWidth": "10rem"})]),
            inp("mon-called-at", "called_at", placeholder="2026-11-23 04:42:45", debounce=True),
            inp("mon-number", "number", placeholder="010-1234-5678", debounce=True),
        ], className="cm-form"),
        html.Label([w("transcript", lang), dcc.Textarea(id="mon-transcript", style={"width": "100%", "height": "4.5rem"})],
                   style={"display": "block", "marginTop": ".5rem"}),
        html.Button(w("suggest", lang), id="mon-suggest", className="secondary"),
        html.Div(id="mon-suggestions", className="cm-note cm-muted"),
        html.Div(id="mon-items", style={"marginTop": ".5rem"}),
        html.Div([inp("mon-reason", "reason"), html.Button(w("save", lang), id="mon-save")], className="cm-form"),
        html.Div([w("preview", lang), ": ", html.B(id="mon-preview")], className="cm-note", role="status"),
        html.Div(id="mon-result", className="cm-note", role="status"),
    ])


def _now(fixed: float | None) -> float:
    return fixed if fixed is not None else time.time()


def _table(rows: list[dict], cols: list[tuple[str, str]], lang: str, table_id: str) -> html.Table:
    return html.Table([
        html.Thead(html.Tr([html.Th(w(k, lang)) for _, k in cols])),
        html.Tbody([html.Tr([html.Td("" if r.get(f) is None else str(r.get(f))) for f, _ in cols]) for r in rows]),
    ], className="cm-table", id=table_id)


@dash.callback(
    Output("mon-summary", "children"),
    Input("mon-session", "value"),
    Input("mon-version", "data"),
    State("mon-at", "data"),
)
def summary(session, _version, fixed):
    from callmon.read.monitoring import calibration_rows, evaluation_rows, group_rows

    lang = current_lang()
    v = view()
    scores = v.scores(session, _now(fixed))
    differences = [r for r in calibration_rows(v, session) if r["differs"]]
    inst = group_rows(scores, "institution")[0]
    calls = [{**r, "score": r["score"] if r["score"] is not None else w("unscored", lang)}
             for r in evaluation_rows(scores)]
    return [
        html.H2(w("institution", lang)),
        html.P([html.Span("-" if inst["score"] is None else f"{inst['score']:.2f}", id="mon-institution-score",
                          className="cm-value"), f" {w('points', lang)} · {inst['grade'] or '-'} · {inst['calls']} {w('n', lang)}"]),
        html.H2(w("teams", lang)),
        _table(group_rows(scores, "team"), [("name", "team"), ("calls", "n"), ("score", "score"), ("grade", "grade")],
               lang, "mon-teams"),
        html.H2(w("calls", lang)),
        _table(calls, [("test_call", "test_call"), ("evaluator", "evaluator"), ("match", "match"),
                       ("person", "person"), ("score", "score"), ("grade", "grade")], lang, "mon-calls"),
        html.H2(w("calibration", lang)),
        _table(differences, [("test_call", "test_call"), ("label", "item"), ("first_evaluator", "first"),
                             ("first", "score"), ("second_evaluator", "second"), ("second", "score")],
               lang, "mon-calibration") if differences else html.P(w("no_differences", lang), id="mon-calibration",
                                                                   className="cm-muted"),
    ]


@dash.callback(
    Output("mon-test-call", "options"),
    Output("mon-test-call", "value"),
    Output("mon-evaluator", "options"),
    Output("mon-evaluator", "value"),
    Output("mon-items", "children"),
    Input("mon-session", "value"),
)
def form_for(session):
    v = view()
    s = v.session(session)
    template = v.template(s)
    plan = v.plan(session)
    calls = [{"label": f"{p['seq']} · {p['team']} · {p['extension']}", "value": str(p["seq"])} for p in plan]
    evaluators = sorted(s["evaluators"])
    items = [html.Div([
        html.Span(f"{i.stage} · {i.label}", className="cm-muted", style={"minWidth": "22rem", "display": "inline-block"}),
        dcc.RadioItems(id={"type": "mon-mark", "item": i.key}, options=[{"label": lbl, "value": v} for v, lbl in MARKS],
                       value=None, inline=True, inputStyle={"marginLeft": ".6rem"}),
    ]) for i in template.items if not i.automatic]
    return (calls, calls[0]["value"] if calls else None, [{"label": e, "value": e} for e in evaluators],
            evaluators[0] if evaluators else None, items)


def _raw(test_call, evaluator, called_at, number, values, ids, reason=None) -> dict[str, Any]:
    marks = {i["item"]: v for i, v in zip(ids, values) if v}
    return {"test_call": test_call, "evaluator": evaluator, "called_at": called_at or None, "number": number or None,
            "marks": marks, "reason": reason or None}


@dash.callback(
    Output("mon-preview", "children"),
    Input("mon-test-call", "value"),
    Input("mon-evaluator", "value"),
    Input("mon-called-at", "value"),
    Input("mon-number", "value"),
    Input({"type": "mon-mark", "item": ALL}, "value"),
    State({"type": "mon-mark", "item": ALL}, "id"),
    State("mon-session", "value"),
    State("mon-at", "data"),
)
def preview(test_call, evaluator, called_at, number, values, ids, session, fixed):
    lang = current_lang()
    if not may_evaluate():
        return w("denied", lang)
    try:
        p = monitoring().preview(session, _raw(test_call, evaluator, called_at, number, values, ids), _now(fixed))
    except CallmonError as exc:
        return str(exc)
    cs = p.score
    if cs.score is None:
        detail = ", ".join(cs.missing) if cs.missing else ", ".join(p.match.candidates)
        return f"{w('unscored', lang)} ({cs.status}{': ' + detail if detail else ''})"
    return f"{cs.score:.2f} {w('points', lang)} · {cs.grade}"


@dash.callback(
    Output("mon-result", "children"),
    Output("mon-version", "data"),
    Input("mon-save", "n_clicks"),
    State("mon-test-call", "value"),
    State("mon-evaluator", "value"),
    State("mon-called-at", "value"),
    State("mon-number", "value"),
    State({"type": "mon-mark", "item": ALL}, "value"),
    State({"type": "mon-mark", "item": ALL}, "id"),
    State("mon-reason", "value"),
    State("mon-session", "value"),
    State("mon-version", "data"),
    prevent_initial_call=True,
)
def save(_n, test_call, evaluator, called_at, number, values, ids, reason, session, version):
    lang = current_lang()
    if not may_evaluate():
        return w("denied", lang), no_update
    try:
        row = monitoring().evaluate(session, _raw(test_call, evaluator, called_at, number, values, ids, reason),
                                    author=current_user.name, source="dashboard")
    except CallmonError as exc:
        return str(exc), no_update
    return w("saved", lang, tc=row["test_call"], ev=row["evaluator"], v=row["version"]), (version or 0) + 1


@dash.callback(
    Output({"type": "mon-mark", "item": ALL}, "value"),
    Output("mon-suggestions", "children"),
    Input("mon-suggest", "n_clicks"),
    State("mon-transcript", "value"),
    State({"type": "mon-mark", "item": ALL}, "value"),
    State({"type": "mon-mark", "item": ALL}, "id"),
    prevent_initial_call=True,
)
def suggest(_n, transcript, values, ids):
    """The transcript check's suggestions put into the form (found: Y, not found: N); the other
    items keep their marks. The evaluator checks them before saving."""
    from callmon.monitoring.transcript import suggest as suggest_items

    lang = current_lang()
    if not transcript or not transcript.strip():
        return [no_update] * len(ids), ""
    found = {x.item: x for x in suggest_items(transcript)}
    marks = [("Y" if found[i["item"]].found else "N") if i["item"] in found else v for i, v in zip(ids, values)]
    note = " · ".join(f"{k}: {'Y' if x.found else 'N'}{' (' + x.evidence + ')' if x.evidence else ''}"
                      for k, x in found.items())
    return marks, f"{w('suggested', lang)}: {note}"


@dash.callback(
    Output("mon-download", "data"),
    Output("mon-written", "children"),
    Input("mon-pdf", "n_clicks"),
    Input("mon-html", "n_clicks"),
    State("mon-anonymise", "value"),
    State("mon-session", "value"),
    State("mon-at", "data"),
    prevent_initial_call=True,
)
def publish(_pdf, _html, anonymise, session, fixed):
    """The session's report as the command line's ``monitor report`` writes it."""
    import tempfile
    from pathlib import Path

    from callmon.reporting.monitoring import build_monitoring_report, write_monitoring_report

    lang = current_lang()
    if not may_publish():
        return no_update, w("denied", lang)
    fmt = "pdf" if dash.ctx.triggered_id == "mon-pdf" else "html"
    v = view()
    try:
        report = build_monitoring_report(v, session, _now(fixed), anonymise=bool(anonymise))
        with tempfile.TemporaryDirectory(prefix="callmon-monitoring-") as tmp:
            path = write_monitoring_report(report, Path(tmp) / f"monitoring-{v.session(session)['id']}.{fmt}")[0]
            data = dcc.send_bytes(path.read_bytes(), path.name)
    except CallmonError as exc:
        return no_update, str(exc)
    return data, w("written", lang, name=data["filename"])
