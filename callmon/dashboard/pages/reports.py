"""보고서 (``/reports``): a day, week, month, quarter or half-year; the institution's figures, per
team and per agent compliance, the trend over the periods before, and the report exported as
CSV, XLSX, HTML or PDF by the reporting writers (``callmon report`` writes the same files).

Exports show numbers masked unless a supervisor or admin asks for full numbers with a reason;
such an export is written to the access log.
"""

from __future__ import annotations

import io
import tempfile
import time
import zipfile
from pathlib import Path

import dash
from dash import Input, Output, State, dcc, html, no_update

from callmon.dashboard import auth, figures
from callmon.dashboard.context import ctx
from callmon.dashboard.data import period_tables_cached
from callmon.dashboard.fmt import records, count, number, percent, table, text
from callmon.dashboard.i18n import current_lang, page_title, t
from callmon.dashboard.params import moment_param
from callmon.read import Period

dash.register_page(__name__, path="/reports", title=page_title("nav_reports"), order=3, title_key="nav_reports",
                   name="reports")

KINDS = (("day", "kind_day", 14), ("week", "kind_week", 12), ("month", "kind_month", 12),
         ("quarter", "kind_quarter", 8), ("half-year", "kind_half", 6))
FORMATS = ("csv", "xlsx", "html", "pdf")
TREND_PERIODS = 6


def period_options(kind: str, now: float, tz) -> list[str]:
    """The labels of the last periods of ``kind`` up to the one holding ``now``, newest first."""
    n = dict((k, n) for k, _, n in KINDS)[kind]
    return [p.label for p in reversed(Period.containing(kind, now, tz).back(n))]


def layout(at: str | None = None, kind: str = "month", period: str | None = None, **_query) -> html.Div:
    c, lang = ctx(), current_lang()
    now = moment_param(at) or time.time()
    kind = kind if kind in dict((k, n) for k, n, _ in KINDS) else "month"
    labels = period_options(kind, now, c.reader.tz)
    chosen = period if period else labels[0]
    if chosen not in labels:
        labels = [chosen, *labels]
    export = [html.Button(f.upper(), id={"type": "export", "format": f}, className="secondary") for f in FORMATS]
    # only supervisors and admins see the full-numbers choice (viewers get it hidden and unset)
    full = [html.Span([
        dcc.Checklist([{"label": " " + t("export_full", lang), "value": "full"}], [], id="export-full", inline=True),
        dcc.Input(className="cm-input", id="export-reason", type="text", placeholder=t("unmask_reason", lang)),
    ], className="cm-form", style=None if auth.may_reveal() else {"display": "none"})]
    return html.Div([
        dcc.Store(id="rep-at", data=now),
        html.H1(t("reports_title", lang)),
        html.Div([
            html.Label([t("period_kind", lang), dcc.Dropdown([{"label": t(key, lang), "value": k} for k, key, _ in KINDS],
                                                              kind, id="rep-kind", clearable=False)]),
            html.Label([t("period", lang), dcc.Dropdown(labels, chosen, id="rep-period", clearable=False)]),
        ], className="cm-filters", style={"maxWidth": "40rem"}),
        html.Div([html.Strong(t("export", lang)), *export, *full], className="cm-form cm-note"),
        html.Div(id="export-result", className="cm-note", role="status"),
        dcc.Download(id="rep-download"),
        dcc.Loading(html.Div(id="rep-body")),
    ])


@dash.callback(
    Output("rep-period", "options"),
    Output("rep-period", "value"),
    Input("rep-kind", "value"),
    State("rep-at", "data"),
    prevent_initial_call=True,
)
def kind_changed(kind, now):
    labels = period_options(kind, now, ctx().reader.tz)
    return labels, labels[0]


SUMMARY = (("calls", "col_calls", count), ("answered", "col_answered", count), ("abandoned", "col_abandoned", count),
           ("ring_rate", "col_ring_rate", percent), ("avg_ring_seconds", "col_avg_ring_seconds", number),
           ("p90_ring_seconds", "col_p90_ring_seconds", number), ("outbound", "col_outbound", count),
           ("agent_first_hangups", "col_agent_first", count))
TEAM = (("team", "col_team", text), *SUMMARY[:5], SUMMARY[7])
AGENT = (("agent", "col_agent", text), ("team", "col_team", text), ("rang", "col_rang", count),
         ("answered", "col_answered", count), ("ring_rate", "col_ring_rate", percent),
         ("avg_ring_seconds", "col_avg_ring_seconds", number), ("agent_first_hangups", "col_agent_first", count))



@dash.callback(
    Output("rep-body", "children"),
    Input("rep-period", "value"),
    State("rep-at", "data"),
    State("viewport", "data"),
)
def show(label, now, width):
    """The period's figures, aggregated by the database (a half-year of a busy centre is not
    read call by call): the institution's, per team and per agent, and their trends."""
    c, lang = ctx(), current_lang()
    if not label:
        return no_update
    tables = period_tables_cached(c.reader, label, TREND_PERIODS)
    graph = lambda gid, fig: dcc.Graph(id=gid, figure=figures.for_screen(fig, width),  # noqa: E731
                                       config={"displayModeBar": False})
    card = lambda title, body: html.Div([html.H2(title), body], className="cm-card")  # noqa: E731
    return html.Div([
        html.H2(f"{t('report_summary', lang)} · {tables['label']}"),
        html.Div(table(records(tables["summary"], lang), SUMMARY, lang, table_id="rep-summary"), className="cm-card"),
        html.Div([
            card(f"{t('trend', lang)} · {t('per_team', lang)}",
                 graph("rep-trend", figures.trend(tables["trend"], lang, groups=tables["team_trend"], by="team"))),
            card(f"{t('trend', lang)} · {t('per_agent', lang)}",
                 graph("rep-trend-agents", figures.trend(tables["trend"], lang, groups=tables["agent_trend"],
                                                         by="agent"))),
        ], className="cm-row", style={"marginTop": ".8rem"}),
        html.Div([
            card(f"{t('col_ring_rate', lang)} · {t('per_team', lang)}",
                 graph("rep-team-bars", figures.rate_bars(tables["team"], "team", lang))),
            card(f"{t('col_ring_rate', lang)} · {t('per_agent', lang)}",
                 graph("rep-agent-bars", figures.rate_bars(tables["agent"], "agent", lang))),
        ], className="cm-row", style={"marginTop": ".8rem"}),
        html.H2(t("per_team", lang)),
        html.Div(table(records(tables["team"], lang), TEAM, lang, table_id="rep-team", text_fields=frozenset({"team"})),
                 className="cm-card"),
        html.H2(t("per_agent", lang)),
        html.Div(table(records(tables["agent"], lang), AGENT, lang, table_id="rep-agent",
                       text_fields=frozenset({"agent", "team"})), className="cm-card"),
    ])


def _build(label: str, now: float, viewer=None):
    from callmon.reporting.report import build_report

    c = ctx()
    return build_report(c.reader, label, now, viewer or auth.viewer())


@dash.callback(
    Output("rep-download", "data"),
    Output("export-result", "children"),
    Input({"type": "export", "format": dash.ALL}, "n_clicks"),
    State("rep-period", "value"),
    State("rep-at", "data"),
    State("export-full", "value"),
    State("export-reason", "value"),
    prevent_initial_call=True,
)
def export(clicks, label, now, full, reason):
    """Write the report in the chosen format and hand it to the browser (CSV: a zip of the
    report's CSV files)."""
    from callmon.reporting.writers import write_report

    lang = current_lang()
    trigger = dash.ctx.triggered_id
    if not trigger or not any(clicks) or not label:
        return no_update, no_update
    fmt = trigger["format"]
    viewer = auth.viewer()
    if full and "full" in full and viewer.may_reveal:
        if not (reason or "").strip():
            return no_update, html.Span(t("unmask_need_reason", lang), className="cm-bad")
        viewer = viewer.revealed()
        auth.log_access("export", f"report {label} as {fmt.upper()} with full numbers", reason.strip())
    report = _build(label, now, viewer)
    name = f"callmon-report-{label}"
    with tempfile.TemporaryDirectory(prefix="callmon-export-") as tmp:
        files = write_report(report, Path(tmp) / f"{name}.{fmt}")
        if len(files) == 1:
            return dcc.send_bytes(Path(files[0]).read_bytes(), f"{name}.{fmt}"), f"{name}.{fmt}"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for f in files:
                z.write(f, Path(f).name)
        return dcc.send_bytes(buffer.getvalue(), f"{name}-csv.zip"), f"{name}-csv.zip"

