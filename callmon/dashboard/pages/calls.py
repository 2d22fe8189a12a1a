"""통화 내역 (``/calls``): every call in a grid whose rows come from the server a block at a time
(ag-grid's infinite row model over the read side's ``calls_page``: filter, sort, offset and
limit in SQL), so a million calls page as fast as a hundred. Filters: dates, team, agent,
outcome, rule result; the grid's headers sort. Clicking a row shows the call's legs on a
timeline (ringing, answered, hung up; who hung up first).

Supervisors and admins may show full numbers for a stated reason; the reveal and every block of
rows or call shown with full numbers afterwards is written to the access log.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime, timedelta

import dash
import dash_ag_grid as dag
from dash import ALL, Input, Output, State, dcc, html, no_update

from callmon.core.model import DIRECTIONS, HANGUP_SIDES, OUTCOMES, RULE_RESULTS
from callmon.dashboard import auth, figures
from callmon.dashboard.context import ctx
from callmon.dashboard.fmt import number, stamp
from callmon.dashboard.i18n import current_lang, page_title, t
from callmon.read import CallFilter

dash.register_page(__name__, path="/calls", title=page_title("nav_calls"), order=2, title_key="nav_calls", name="calls")

RULE_CHOICES = ("ring_fail", "ring_pass", "hangup_fail", "hangup_pass")
BLOCK = 100
# (field, heading key, width, is a time); the field is the column the server sorts by
GRID = (
    ("arrived_at", "col_arrived", 175, True), ("direction", "col_direction", 90, False),
    ("caller", "col_caller", 150, False), ("called", "col_called", 120, False), ("queue", "col_queue", 100, False),
    ("outcome", "col_outcome", 100, False), ("answered_by", "col_answered_by", 110, False),
    ("agent", "col_agent", 120, False), ("team", "col_team", 110, False), ("rings", "col_rings", 75, False),
    ("ring_seconds", "col_ring_seconds", 105, False), ("talk_seconds", "col_talk_seconds", 100, False),
    ("hangup_by", "col_hangup_by", 120, False), ("ring_rule", "col_ring_rule", 95, False),
    ("hangup_rule", "col_hangup_rule", 100, False), ("call_id", "col_call_id", 170, False),
)
WORDS = frozenset({"direction", "outcome", "hangup_by", "ring_rule", "hangup_rule"})
# the values a word column can hold (shown translated)
VOCABULARY = {"direction": DIRECTIONS, "outcome": OUTCOMES, "hangup_by": HANGUP_SIDES,
              "ring_rule": RULE_RESULTS, "hangup_rule": RULE_RESULTS}


def _text_px(s: str) -> int:
    """About how wide ``s`` is drawn in the grid's font (13-14 px): wide (Hangul) characters
    count double, narrow ones 8 px."""
    return sum(15 if unicodedata.east_asian_width(ch) in "WF" else 8 for ch in s)


def column_width(field: str, heading: str, width: int, lang: str) -> int:
    """The column's width: at least ``width`` (its values' width), and wide enough for its heading
    (with the padding and the sort arrow) and for every word it can show in ``lang``."""
    words = [t(v, lang) for v in VOCABULARY.get(field, ())]
    return max(width, _text_px(heading) + 52, *(_text_px(w) + 36 for w in words))


def layout(**_query) -> html.Div:
    lang = current_lang()
    opts = ctx().reader.filter_options()
    choice = lambda values, words=False: [{"label": t(v, lang) if words else v, "value": v} for v in values]  # noqa: E731
    state = html.Span(id="reveal-state", className="cm-muted",
                      children=t("unmask_on", lang) if auth.reveal_reason() else "")
    reveal = [html.Div([state], style={"display": "none"})]
    if auth.may_reveal():
        reveal = [html.Div([
            dcc.Input(className="cm-input", id="reveal-reason", placeholder=t("unmask_reason", lang), type="text", debounce=False,
                      style={"minWidth": "16rem"}),
            html.Button(t("unmask", lang), id="reveal-button", className="secondary"),
            html.Button(t("mask_again", lang), id="reveal-stop", className="secondary"),
            state,
        ], className="cm-form cm-note")]
    return html.Div([
        html.H1(t("calls_title", lang)),
        html.Div([
            _field("filter_from", dcc.Input(className="cm-input", id="f-since", type="text", placeholder="YYYY-MM-DD", debounce=True), lang),
            _field("filter_to", dcc.Input(className="cm-input", id="f-until", type="text", placeholder="YYYY-MM-DD", debounce=True), lang),
            _field("filter_team", dcc.Dropdown(choice(opts["team"]), id="f-team", placeholder=t("filter_all", lang)), lang),
            _field("filter_agent", dcc.Dropdown(choice(opts["agent"]), id="f-agent", placeholder=t("filter_all", lang)), lang),
            _field("filter_outcome", dcc.Dropdown(choice(OUTCOMES, True), id="f-outcome",
                                                  placeholder=t("filter_all", lang)), lang),
            _field("filter_rule", dcc.Dropdown([{"label": t("rule_" + r, lang), "value": r} for r in RULE_CHOICES],
                                               id="f-rule", placeholder=t("filter_all", lang)), lang),
        ], className="cm-filters"),
        *reveal,
        html.Div(id="calls-count", className="cm-note cm-muted"),
        html.Div(_grid(lang), id="calls-grid-holder"),
        html.Div([html.H2(t("call_detail", lang)), html.Div(t("pick_call", lang), id="call-detail")],
                 className="cm-card", style={"marginTop": "1rem"}),
    ])


def _field(label: str, control, lang: str) -> html.Label:
    return html.Label([t(label, lang), control])


def _grid(lang: str, n: int = 0) -> dag.AgGrid:
    """The grid; each filter change makes a new one (a new ``n``), whose blocks are fetched anew."""
    columns = [{"field": f, "headerName": t(h, lang), "width": column_width(f, t(h, lang), w, lang), "sortable": True,
                **({"sort": "desc"} if f == "arrived_at" else {})} for f, h, w, _ in GRID]
    return dag.AgGrid(
        id={"type": "calls-grid", "n": n},
        columnDefs=columns,
        rowModelType="infinite",
        getRowId="params.data.call_id",
        defaultColDef={"resizable": True, "filter": False},
        dashGridOptions={"cacheBlockSize": BLOCK, "maxBlocksInCache": 20, "infiniteInitialRowCount": BLOCK,
                         "rowSelection": {"mode": "singleRow", "enableClickSelection": True, "checkboxes": False},
                         "suppressCellFocus": True},
        className="ag-theme-alpine",
        style={"height": "62vh", "width": "100%"},
    )


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def call_filter(since: str | None, until: str | None, team, agent, outcome, rule, tz) -> CallFilter:
    """The grid's filters as the read side's :class:`CallFilter`: ``until`` is the last day
    shown (inclusive); a rule choice is ``ring_fail`` and the like."""
    lo, hi = _day(since), _day(until)
    start = datetime(lo.year, lo.month, lo.day, tzinfo=tz).timestamp() if lo else None
    end = None
    if hi:
        nxt = hi + timedelta(days=1)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).timestamp()
    kw = {}
    if rule in RULE_CHOICES:
        which, result = rule.split("_")
        kw[f"{which}_rule"] = result
    return CallFilter(since=start, until=end, team=team or None, agent=agent or None, outcome=outcome or None, **kw)


def display_row(row: dict, tz, lang: str) -> dict:
    """A call as the grid shows it: times to the second in the PBX's zone, words translated."""
    out = {}
    for f, _, _, is_time in GRID:
        v = row.get(f)
        if is_time:
            v = stamp(v, tz)
        elif f in WORDS and v is not None:
            v = t(v, lang)
        elif f in ("ring_seconds", "talk_seconds"):
            v = None if v is None else round(float(v), 1)
        out[f] = v
    return out


@dash.callback(
    Output("calls-grid-holder", "children"),
    Input("f-since", "value"), Input("f-until", "value"), Input("f-team", "value"), Input("f-agent", "value"),
    Input("f-outcome", "value"), Input("f-rule", "value"), Input("reveal-state", "children"),
    prevent_initial_call=True,
)
def refilter(*_values):
    """A new grid (its blocks fetched afresh) whenever a filter or the reveal changes."""
    return _grid(current_lang(), n=uuid.uuid4().int % 1_000_000_000)


@dash.callback(
    Output({"type": "calls-grid", "n": ALL}, "getRowsResponse"),
    Output("calls-count", "children"),
    Input({"type": "calls-grid", "n": ALL}, "getRowsRequest"),
    State("f-since", "value"), State("f-until", "value"), State("f-team", "value"), State("f-agent", "value"),
    State("f-outcome", "value"), State("f-rule", "value"),
)
def rows(requests, since, until, team, agent, outcome, rule):
    """One block of rows, filtered and sorted by the server (there is one grid at a time)."""
    request = requests[0] if requests else None
    if not request:
        return [no_update] * len(requests), no_update
    c, lang = ctx(), current_lang()
    f = call_filter(since, until, team, agent, outcome, rule, c.reader.tz)
    sort = [(s["colId"], s["sort"] == "desc") for s in request.get("sortModel") or [] if s.get("colId")]
    start, end = int(request.get("startRow", 0)), int(request.get("endRow", BLOCK))
    page = c.reader.calls_page(f, auth.viewer(revealable=True), sort or [("arrived_at", True)], offset=start, limit=end - start)
    why = auth.reveal_reason()
    if why and page.rows:
        auth.log_access("view", f"calls rows {start}-{start + len(page.rows) - 1} of {page.total} ({_describe(f)})", why)
    count = t("rows", lang, n=f"{page.total:,}")
    bad = [v for v in (since, until) if v and _day(v) is None]
    if bad:
        count = f"{count} · {t('bad_date', lang, value=bad[0])}"
    return ([{"rowData": [display_row(r, c.reader.tz, lang) for r in page.rows], "rowCount": page.total}], count)


def _describe(f: CallFilter) -> str:
    return ", ".join(f"{k}={v}" for k, v in f.__dict__.items() if v is not None) or "all"


@dash.callback(
    Output("call-detail", "children"),
    Input({"type": "calls-grid", "n": ALL}, "cellClicked"),
    State("viewport", "data"),
    prevent_initial_call=True,
)
def detail(clicks, width):
    """The clicked call's summary and its timeline."""
    clicked = next((c for c in clicks if c), None)
    if not clicked or not clicked.get("rowId"):
        return no_update
    c, lang = ctx(), current_lang()
    call_id = str(clicked["rowId"])
    call = c.reader.call(call_id, auth.viewer(revealable=True))
    if call is None:
        return t("no_data", lang)
    why = auth.reveal_reason()
    if why:
        auth.log_access("view", f"call {call_id}", why)
    tz = c.reader.tz
    facts = [
        ("col_call_id", call["call_id"]), ("col_direction", t(call["direction"], lang)),
        ("col_caller", call.get("caller")), ("col_called", call.get("called")),
        ("col_arrived", stamp(call.get("arrived_at"), tz)), ("col_answered_at", stamp(call.get("answered_at"), tz)),
        ("col_ended", stamp(call.get("ended_at"), tz)), ("col_outcome", t(call["outcome"], lang)),
        ("col_rings", call.get("rings")), ("col_ring_seconds", number(call.get("ring_seconds"))),
        ("col_hangup_by", t(call["hangup_by"], lang) if call.get("hangup_by") else "-"),
        ("col_ring_rule", t(call["ring_rule"], lang)), ("col_hangup_rule", t(call["hangup_rule"], lang)),
    ]
    summary = html.Table(html.Tbody([html.Tr([html.Th(t(k, lang), className="text"), html.Td(str(v if v is not None else ""), className="text")])
                                     for k, v in facts]), className="cm-table", id="call-facts",
                         style={"width": "auto"})
    return html.Div([
        summary,
        html.Div([html.H2(t("timeline", lang), style={"marginTop": 0}),
                  dcc.Graph(id="call-timeline", figure=figures.for_screen(figures.timeline(call, tz, lang), width),
                            config={"displayModeBar": False})]),
    ], className="cm-detail", **{"data-call-id": call_id})


@dash.callback(
    Output("reveal-state", "children"),
    Input("reveal-button", "n_clicks"),
    Input("reveal-stop", "n_clicks"),
    State("reveal-reason", "value"),
    prevent_initial_call=True,
)
def reveal(_show, _hide, reason):
    """A supervisor or admin asks for full numbers, with a reason (logged), or masks them again."""
    lang = current_lang()
    if dash.ctx.triggered_id == "reveal-stop":
        auth.stop_reveal()
        return t("unmask_off", lang)
    if not (reason or "").strip():
        return t("unmask_need_reason", lang)
    auth.start_reveal(reason.strip(), "calls page")
    return t("unmask_on", lang)
