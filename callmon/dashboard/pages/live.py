"""실시간 (``/``): today's tiles, the calls ringing now with their ring count climbing (amber at
ring 2, red from the limit), per team and per agent, and calls per hour by the ring they were
answered in.

A 1 s interval reads the ringing calls (one small query) and the database's data version; the
tiles, tables and chart are read again only when the version changed, so the page follows the
database within a second without reading the day's calls every second.
``/?at=2026-11-23T10:00`` shows the day holding that moment as it stood then (no interval).
"""

from __future__ import annotations

import time

import dash
from dash import Input, Output, State, dcc, html, no_update

from callmon.dashboard import figures
from callmon.dashboard.auth import viewer
from callmon.dashboard.context import ctx
from callmon.dashboard.fmt import records, clock, count, number, percent, stamp, table, text
from callmon.dashboard.i18n import current_lang, page_title, t
from callmon.dashboard.params import moment_param

dash.register_page(__name__, path="/", title=page_title("nav_live"), order=0, title_key="nav_live", name="live")


def layout(at: str | None = None, **_query) -> html.Div:
    lang = current_lang()
    fixed = moment_param(at)
    return html.Div([
        html.H1([t("live_title", lang), " ", html.Span(id="live-clock", className="cm-muted")]),
        dcc.Store(id="live-at", data=fixed),
        dcc.Store(id="live-version"),
        dcc.Interval(id="live-tick", interval=1000, disabled=fixed is not None),
        html.Div(id="live-tiles", className="cm-tiles"),
        html.H2(t("ringing_now", lang)),
        html.Div(id="live-ringing", className="cm-ringing"),
        html.Div([
            html.Div([html.H2(t("per_team", lang)), html.Div(id="live-teams")], className="cm-card"),
            html.Div([html.H2(t("per_agent", lang)), html.Div(id="live-agents")], className="cm-card"),
        ], className="cm-row"),
        html.Div([html.H2(t("per_hour", lang)), dcc.Graph(id="live-hours", config={"displayModeBar": False})],
                 className="cm-card"),
    ])


def _now(fixed: float | None) -> float:
    return fixed if fixed is not None else time.time()


@dash.callback(
    Output("live-ringing", "children"),
    Output("live-version", "data"),
    Output("live-clock", "children"),
    Input("live-tick", "n_intervals"),
    State("live-at", "data"),
    State("live-version", "data"),
)
def tick(_n, fixed, version):
    """Every second: the ringing calls with their ring count now, and the data version."""
    c, lang = ctx(), current_lang()
    now = _now(fixed)
    current = list(c.reader.data_version())
    ringing = ringing_cards(c.reader.ringing_now(now, viewer()), c.reader.ring_limit, c.reader.tz, lang)
    label = f"{t('as_of', lang)} {stamp(now, c.reader.tz)}"
    return ringing, (current if current != version else no_update), label


def ringing_cards(calls, limit: int, tz, lang: str) -> list[html.Div]:
    """One card per call not yet answered: the caller (as the reader may see them), where it
    rings, since when, and the ring it is in, amber the ring before ``limit`` and red from it."""
    waiting = [c for c in calls if c.state in ("ringing", "queued") and c.answered_at is None]
    if not waiting:
        return [html.Div(t("no_ringing", lang), className="cm-muted", id="no-ringing")]
    cards = []
    for c in waiting:
        level = "r3" if c.rings >= limit else "r2" if c.rings >= limit - 1 else "r1"
        level = level if c.first_ring_at is not None else "queued"
        where = c.queue or c.called or ""
        rung = c.first_ring_at is not None
        cards.append(html.Div([
            html.Div(t("ring_n", lang, n=c.rings) if rung else t("queued", lang),
                     className="cm-count", **({"data-rings": str(c.rings)} if rung else {})),
            html.Div(f"{c.caller or ''} → {where}"),
            html.Div(f"{t('col_arrived', lang)} {clock(c.arrived_at, tz)}", className="cm-small"),
        ], className=f"cm-ring {level}", **{"data-call": c.call_id}))
    return cards


@dash.callback(
    Output("live-tiles", "children"),
    Output("live-teams", "children"),
    Output("live-agents", "children"),
    Output("live-hours", "figure"),
    Input("live-version", "data"),
    State("live-at", "data"),
    State("viewport", "data"),
)
def refresh(_version, fixed, width):
    """The day's figures, read again when the database changed."""
    c, lang = ctx(), current_lang()
    now = _now(fixed)
    day = c.reader.today(now)
    until = min(day.end, now)
    tiles = c.reader.tiles(now)
    tables = c.reader.span_tables(day.start, until, now)
    hours = c.reader.hourly(day.start, until)
    return (tile_row(tiles, c.reader.ring_limit, lang), team_table(tables["team"], lang),
            agent_table(tables["agent"], lang),
            figures.for_screen(figures.calls_per_hour(hours.rename(columns={"unanswered": "abandoned"}), lang,
                                                      hours_shown=None if _late(hours) else range(7, 22)), width))


def _late(hours) -> bool:
    """Calls outside 07-21 h: show every hour then."""
    return bool(hours[(hours["hour"] < 7) | (hours["hour"] > 21)]["calls"].sum())


def tile_row(tiles, limit: int, lang: str) -> list[html.Div]:
    """The headline tiles; a tile turns red when the charter is not kept (ring rate below 90 %,
    overdue callbacks, agent-first hang-ups)."""
    rate = tiles.ring_rate
    items = [
        ("tile_calls", count(tiles.calls), None),
        ("tile_answered", count(tiles.answered), None),
        ("tile_ring_rate", percent(rate), None if rate is None else "ok" if rate >= 0.9 else "bad"),
        ("tile_avg_rings", number(tiles.avg_rings), None),
        ("tile_p90_rings", number(tiles.p90_rings), None if tiles.p90_rings is None else
         "ok" if tiles.p90_rings < limit else "bad"),
        ("tile_abandoned", count(tiles.abandoned), "warn" if tiles.abandoned else None),
        ("tile_agent_first", count(tiles.agent_first_hangups), "bad" if tiles.agent_first_hangups else None),
        ("tile_cb_waiting", count(tiles.callbacks_waiting), None),  # every unmet one; overdue is its subset
        ("tile_cb_overdue", count(tiles.callbacks_overdue), "bad" if tiles.callbacks_overdue else "ok"),
    ]
    return [html.Div([html.Div(t(key, lang), className="cm-label"), html.Div(value, className="cm-value")],
                     className=f"cm-tile {level or ''}", id=f"tile-{key.removeprefix('tile_').replace('_', '-')}")
            for key, value, level in items]


TEAM_COLUMNS = (("team", "col_team", text), ("calls", "col_calls", count), ("answered", "col_answered", count),
                ("abandoned", "col_abandoned", count), ("ring_rate", "col_ring_rate", percent),
                ("avg_ring_seconds", "col_avg_ring_seconds", number),
                ("agent_first_hangups", "col_agent_first", count))
AGENT_COLUMNS = (("agent", "col_agent", text), ("team", "col_team", text), ("rang", "col_rang", count),
                 ("answered", "col_answered", count), ("ring_rate", "col_ring_rate", percent),
                 ("avg_ring_seconds", "col_avg_ring_seconds", number),
                 ("agent_first_hangups", "col_agent_first", count))



def team_table(frame, lang: str):
    return table(records(frame, lang), TEAM_COLUMNS, lang, table_id="team-table", text_fields=frozenset({"team"}))


def agent_table(frame, lang: str):
    return table(records(frame, lang), AGENT_COLUMNS, lang, table_id="agent-table",
                 text_fields=frozenset({"agent", "team"}))
