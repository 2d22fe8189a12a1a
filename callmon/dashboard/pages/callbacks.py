"""회신 (``/callbacks``): the callback backlog (overdue first, in red; due time and the working
time left by the callback rule's calendar), a memo form, cancelling with a reason, and the
history of the obligations closed (met, late, resolved by the customer calling again,
cancelled). Memos and cancellations go through the same service the command line's
``callmon callbacks add`` and ``cancel`` use; the page follows the database as the live page
does (a 1 s look at the data version).
"""

from __future__ import annotations

import time

import dash
from dash import Input, Output, State, dcc, html, no_update

from callmon.core.errors import CallmonError
from callmon.dashboard import auth
from callmon.dashboard.context import ctx
from callmon.dashboard.fmt import span, stamp, table, text
from callmon.dashboard.i18n import current_lang, page_title, t
from callmon.dashboard.params import moment_param

dash.register_page(__name__, path="/callbacks", title=page_title("nav_callbacks"), order=1, title_key="nav_callbacks",
                   name="callbacks")

HISTORY_ROWS = 200  # the latest closed obligations: met, late, resolved by the customer, cancelled


def layout(at: str | None = None, **_query) -> html.Div:
    lang = current_lang()
    fixed = moment_param(at)
    inp = lambda i, key, **kw: html.Label([t(key, lang), dcc.Input(className="cm-input", id=i, type="text", **kw)])  # noqa: E731
    return html.Div([
        dcc.Store(id="cb-at", data=fixed),
        dcc.Store(id="cb-version"),
        dcc.Interval(id="cb-tick", interval=1000, disabled=fixed is not None),
        html.H1([t("cb_title", lang), " ", html.Span(id="cb-clock", className="cm-muted")]),
        html.Div(id="cb-backlog", className="cm-card"),
        html.Div([
            html.Div([
                html.H2(t("cb_add", lang)),
                html.Div([
                    inp("memo-number", "col_number", placeholder="010-1234-5678"),
                    inp("memo-name", "col_name"),
                    inp("memo-purpose", "col_purpose"),
                    inp("memo-agent", "col_owner", placeholder="2001"),
                    html.Button(t("cb_add_button", lang), id="memo-add"),
                ], className="cm-form"),
                html.Div(id="memo-result", className="cm-note", role="status"),
            ], className="cm-card"),
            html.Div([
                html.H2(t("cb_cancel", lang)),
                html.Div([
                    html.Label([t("cb_select", lang), dcc.Dropdown(id="cancel-id", placeholder=t("select", lang), style={"minWidth": "14rem"})]),
                    inp("cancel-reason", "cb_reason"),
                    html.Button(t("cb_cancel_button", lang), id="cancel-button", className="secondary"),
                ], className="cm-form"),
                html.Div(id="cancel-result", className="cm-note", role="status"),
            ], className="cm-card"),
        ], className="cm-row", style={"marginTop": ".8rem"}),
        html.H2(t("cb_history", lang)),
        html.Div(id="cb-history", className="cm-card"),
    ])


def _now(fixed: float | None) -> float:
    return fixed if fixed is not None else time.time()


@dash.callback(
    Output("cb-version", "data"),
    Input("cb-tick", "n_intervals"),
    State("cb-version", "data"),
)
def tick(_n, version):
    current = list(ctx().reader.data_version())
    return current if current != version else no_update


def backlog_rows(rows: list[dict], tz, lang: str) -> list[dict]:
    """The backlog as the table shows it: times to the second, working time left or overdue by
    (both counted by the callback rule's working-day calendar, as the due time is)."""
    out = []
    for r in rows:
        left = r.get("working_seconds_left")
        overdue = r["status"] == "overdue"
        out.append({
            "callback_id": r["callback_id"], "number": r["number"], "first_missed_at": stamp(r["first_missed_at"], tz),
            "due_at": stamp(r["due_at"], tz), "status": t(r["status"], lang), "overdue": overdue,
            "left": t("overdue_by", lang, t=span(-left, lang)) if overdue else span(left, lang),  # both in working time
            "agent": r.get("agent") or "", "purpose": r.get("purpose") or r.get("name") or "",
        })
    return out


BACKLOG = (("callback_id", "col_callback_id", text), ("number", "col_number", text),
           ("first_missed_at", "col_missed", text), ("due_at", "col_due", text), ("left", "col_left", text),
           ("status", "col_status", text), ("agent", "col_owner", text), ("purpose", "col_purpose", text))
_TEXT = frozenset({"number", "first_missed_at", "due_at", "left", "status", "agent", "purpose", "fulfilled_at",
                   "fulfilled_by_agent", "cancel_reason"})
HISTORY = (("callback_id", "col_callback_id", text), ("number", "col_number", text),
           ("first_missed_at", "col_missed", text), ("due_at", "col_due", text),
           ("fulfilled_at", "col_fulfilled", text), ("fulfilled_by_agent", "col_fulfilled_by", text),
           ("status", "col_status", text), ("cancel_reason", "cb_reason", text))


@dash.callback(
    Output("cb-backlog", "children"),
    Output("cb-history", "children"),
    Output("cancel-id", "options"),
    Output("cb-clock", "children"),
    Input("cb-version", "data"),
    State("cb-at", "data"),
)
def refresh(_version, fixed):
    c, lang = ctx(), current_lang()
    now = _now(fixed)
    tz = c.reader.tz
    viewer = auth.viewer()
    backlog = backlog_rows(c.reader.callback_backlog(now, viewer), tz, lang)
    history = [{**r, "first_missed_at": stamp(r["first_missed_at"], tz), "due_at": stamp(r["due_at"], tz),
                "fulfilled_at": stamp(r["fulfilled_at"], tz), "status": t(r["status"], lang)}
               for r in c.reader.callback_history(None, now, viewer, limit=HISTORY_ROWS)]
    options = [{"label": f"{r['callback_id']} · {r['number']}", "value": r["callback_id"]} for r in backlog]
    return (table(backlog, BACKLOG, lang, table_id="cb-backlog-table", empty="cb_none",
                  row_class=lambda r: "overdue" if r["overdue"] else None, text_fields=_TEXT),
            table(history, HISTORY, lang, table_id="cb-history-table", text_fields=_TEXT),
            options, f"{t('as_of', lang)} {stamp(now, tz)}")


@dash.callback(
    Output("memo-result", "children"),
    Output("cb-version", "data", allow_duplicate=True),
    Input("memo-add", "n_clicks"),
    State("memo-number", "value"), State("memo-name", "value"), State("memo-purpose", "value"),
    State("memo-agent", "value"), State("cb-at", "data"),
    prevent_initial_call=True,
)
def add_memo(_n, number, name, purpose, agent, fixed):
    """Record a memo: it opens (or joins) the number's callback obligation."""
    c, lang = ctx(), current_lang()
    try:
        row = c.desk.add_memo(number or "", _now(fixed), name=name or None, purpose=purpose or None,
                              agent=agent or None)
    except CallmonError as exc:
        return html.Span(str(exc), className="cm-bad"), no_update
    return (html.Span(t("cb_added", lang, id=row["callback_id"], due=stamp(row["due_at"], c.reader.tz)),
                      className="cm-ok", id="memo-ok"), [time.time()])


@dash.callback(
    Output("cancel-result", "children"),
    Output("cb-version", "data", allow_duplicate=True),
    Input("cancel-button", "n_clicks"),
    State("cancel-id", "value"), State("cancel-reason", "value"), State("cb-at", "data"),
    prevent_initial_call=True,
)
def cancel(_n, callback_id, reason, fixed):
    """Cancel the chosen obligation with a reason (kept with it, and who cancelled)."""
    c, lang = ctx(), current_lang()
    if callback_id is None:
        return html.Span(t("cb_select", lang), className="cm-bad"), no_update
    try:
        row = c.desk.cancel(int(callback_id), reason or "", _now(fixed), auth.user().name)
    except CallmonError as exc:
        return html.Span(str(exc), className="cm-bad"), no_update
    return (html.Span(t("cb_cancelled", lang, id=row["callback_id"]), className="cm-ok", id="cancel-ok"),
            [time.time()])
