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
from callmon.dashboard.i18n import current_lang, t

dash.register_page(__name__, path="/access", title="callmon · access log", order=4, title_key="nav_access",
                   name="access", roles={"admin"})

COLUMNS = (("at", "col_when", text), ("user", "col_who", text), ("action", "col_action", text),
           ("what", "col_what", text), ("why", "col_why", text))
FIELDS = ("at", "user", "action", "what", "why")


def _allowed() -> bool:
    return auth.user().role == "admin"


def layout(**_query) -> html.Div:
    lang = current_lang()
    if not _allowed():
        return html.Div(t("forbidden", lang), className="cm-bad", id="forbidden")
    rows = _rows()
    return html.Div([
        html.H1(t("access_title", lang)),
        html.Button(t("access_export", lang), id="access-export", className="secondary"),
        dcc.Download(id="access-download"),
        html.Div(table(rows, COLUMNS, lang, table_id="access-table",
                       text_fields=frozenset({"user", "action", "what", "why"})), className="cm-card cm-note"),
    ])


def _rows() -> list[dict]:
    tz = ctx().reader.tz
    return [{**r, "at": stamp(r["at"], tz)} for r in ctx().accounts.access_rows()]


def escape_cell(value) -> str:
    """A cell as a spreadsheet may read it: text starting with ``= + - @`` (a formula) gets a
    leading apostrophe."""
    s = "" if value is None else str(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


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
        writer.writerow([escape_cell(r.get(f)) for f in FIELDS])
    auth.log_access("export", "access log as CSV")
    return dcc.send_string("\ufeff" + buffer.getvalue(), "callmon-access-log.csv")
