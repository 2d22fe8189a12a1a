"""The report's charts (pure: DataFrames in, plotly figures out), drawn in the HTML and PDF
reports: answers by ring per team, the trend of the ring rule over the periods, calls per hour."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

RING_COLUMNS = ["rings_1", "rings_2", "rings_3", "rings_4", "rings_5", "rings_6plus"]
RING_NAMES = ["1벨 ring 1", "2벨 ring 2", "3벨 ring 3", "4벨 ring 4", "5벨 ring 5", "6벨+ ring 6+"]
# green while in time, amber at the limit's eve, red from it (the live page's colours)
RING_COLOURS = ["#2e7d32", "#66bb6a", "#f9a825", "#ef6c00", "#d84315", "#b71c1c"]
WIDTH, HEIGHT = 900, 340


def _layout(fig: go.Figure, title: str, **kw) -> go.Figure:
    fig.update_layout(title=title, width=WIDTH, height=HEIGHT, margin=dict(l=50, r=20, t=50, b=40),
                      paper_bgcolor="white", plot_bgcolor="white", font=dict(size=12), **kw)
    fig.update_yaxes(gridcolor="#ddd")
    return fig


def rings_by_group(table: pd.DataFrame, key: str, title: str) -> go.Figure:
    """Answered calls per ``key`` (team, agent) stacked by the ring they were answered in."""
    fig = go.Figure()
    labels = table[key].astype(str).tolist()
    for col, name, colour in zip(RING_COLUMNS, RING_NAMES, RING_COLOURS):
        if col in table:
            fig.add_bar(x=labels, y=table[col].tolist(), name=name, marker_color=colour)
    return _layout(fig, title, barmode="stack")


def hourly(table: pd.DataFrame, title: str) -> go.Figure:
    """Inbound calls per hour of the day, answered by ring and unanswered."""
    rows = table[table["hour"] != "(none)"] if len(table) else table
    fig = go.Figure()
    hours = rows["hour"].astype(int).tolist() if len(rows) else []
    for col, name, colour in zip(RING_COLUMNS, RING_NAMES, RING_COLOURS):
        if col in rows:
            fig.add_bar(x=hours, y=rows[col].tolist(), name=name, marker_color=colour)
    if len(rows):
        unanswered = rows["calls"] - rows[[c for c in RING_COLUMNS if c in rows]].sum(axis=1)
        fig.add_bar(x=hours, y=unanswered.tolist(), name="미응답 unanswered", marker_color="#9e9e9e")
    fig.update_xaxes(dtick=1, title="시 hour")
    return _layout(fig, title, barmode="stack")


def trend(institution: pd.DataFrame, teams: pd.DataFrame | None, title: str) -> go.Figure:
    """The share answered before the limit ring per period: the institution and each team."""
    fig = go.Figure()
    if len(institution):
        fig.add_scatter(x=institution["period"].tolist(), y=(institution["ring_rate"].astype(float) * 100).tolist(),
                        name="기관 institution", mode="lines+markers", line=dict(width=3, color="#1565c0"))
    if teams is not None and len(teams):
        for team, rows in teams.groupby(teams["team"].fillna("(none)"), sort=True):
            fig.add_scatter(x=rows["period"].tolist(), y=(rows["ring_rate"].astype(float) * 100).tolist(),
                            name=str(team), mode="lines+markers")
    fig.update_yaxes(range=[0, 105], title="%")
    return _layout(fig, title)
