"""접근 기록 (``/access``, admins only): who saw or exported full phone numbers, when, what and
why; exported as CSV (cells that a spreadsheet would read as a formula are escaped)."""

from __future__ import annotations

import csv
import io

import dash
from dash import Input, Output, dcc, html, no_update

from callmon.dashboard import auth
from callmon.dashboard.context import ctx
from callmon.dashboard.fmt import stamp, table, text
from callmon.dashboard.i18n import current_lang, page_title, t, target_text
from callmon.reporting.writers import escape_formula

dash.register_page(__name__, path="/access", title=page_title("nav_access"), order=4, title_key="nav_access",
                   name="access", roles={"admin"})

COLUMNS = (("at", "col_when", text), ("user", "col_who", text), ("role", "col_role", text),
           ("action", "col_action", text), ("what", "col_what", text), ("why", "col_why", text))
FIELDS = ("at", "user", "role", "action", "what", "why")


def _allowed() -> bool:
    return auth.user().role == "admin"


def layout(**_query) -> html.Div:
    lang = current_lang()
    if not _allowed():
        return html.Div(t("forbidden", lang), className="cm-bad", id="forbidden")
    rows = [{**r, "role": t("role_" + r["role"], lang) if r.get("role") else "",
             "action": t("act_" + r["action"], lang), "what": target_text(r.get("what") or "", lang)}
            for r in _rows()]
    return html.Div([
        html.H1(t("access_title", lang)),
        html.Button(t("access_export", lang), id="access-export", className="secondary"),
        dcc.Download(id="access-download"),
        html.Div(table(rows, COLUMNS, lang, table_id="access-table",
                       text_fields=frozenset({"at", "user", "role", "action", "what", "why"})),
                 className="cm-card cm-note"),
    ])


def _rows() -> list[dict]:
    tz = ctx().reader.tz
    return [{**r, "at": stamp(r["at"], tz)} for r in ctx().accounts.access_rows()]


@dash.callback(
    Output("access-download", "data"),
    Input("access-export", "n_clicks"),
    prevent_initial_call=True,
)
def export(_n):
    if not _allowed():
        return no_update
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for r in _rows():
        writer.writerow([escape_formula(r.get(f)) for f in FIELDS])
    auth.log_access("export", "access log as CSV")
    return dcc.send_string("\ufeff" + buffer.getvalue(), "callmon-access-log.csv")
