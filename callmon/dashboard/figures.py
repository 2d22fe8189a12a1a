"""Figure builders (pure): DataFrames in, plotly Figures out; no database, no Dash, no clock.

Each takes the words it prints (``lang``) and nothing else from the page, so the tests build
the same figures the pages show and compare them with the read side's numbers.

>>> import pandas as pd
>>> fig = calls_per_hour(pd.DataFrame({"hour": [9, 10], "rings_1": [3, 1], "rings_2": [0, 2],
...     "rings_3": [1, 0], "rings_4": [0, 0], "rings_5": [0, 0], "rings_6plus": [0, 0]}), "en")
>>> [tr.name for tr in fig.data][:3], list(fig.data[0].y)
(['ring 1', 'ring 2', 'ring 3'], [3, 1])
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

from callmon.core.model import SIDES
from callmon.dashboard.i18n import t
from callmon.dashboard.theme import BAD, FONT, MUTED, OK, RING_BUCKET_COLOURS, WARN

NONE = "(none)"  # the aggregates' group of calls without a team or agent
RING_COLUMNS = ("rings_1", "rings_2", "rings_3", "rings_4", "rings_5", "rings_6plus")


def _layout(fig: go.Figure, *, height: int = 320, **kw: Any) -> go.Figure:
    fig.update_layout(
        template="plotly_white", height=height, margin=dict(l=10, r=10, t=30, b=10),
        font=dict(family=FONT, size=14), legend=dict(orientation="h", y=-0.2, traceorder="normal"), **kw,
    )
    return fig


def for_screen(fig: go.Figure, width: float | None) -> go.Figure:
    """``fig`` with its text and height scaled to a wide screen (a wall display across the room
    reads a chart drawn for a laptop as specks): 1 up to 1440 px wide, growing to 1.8 at 2600 px."""
    scale = 1.0 if not width else min(1.8, max(1.0, float(width) / 1440.0))
    if scale > 1.0:
        fig.update_layout(font_size=round(14 * scale), height=round((fig.layout.height or 320) * scale))
    return fig


def ring_label(column: str, lang: str) -> str:
    """``rings_2`` -> "2번째 벨" / "ring 2"; ``rings_6plus`` -> "6+"."""
    n = column.removeprefix("rings_").replace("plus", "+")
    return t("ring_n", lang, n=n)


def calls_per_hour(hours: pd.DataFrame, lang: str, *, hours_shown: Sequence[int] | None = None) -> go.Figure:
    """Answered calls per hour of the day, stacked by the ring they were answered in (green to
    red), and the calls nobody answered in grey when the frame has ``abandoned``.

    ``hours`` has ``hour`` and the ``rings_*`` columns (the read side's per-hour table)."""
    frame = hours.copy()
    if hours_shown is not None:
        frame = frame.set_index("hour").reindex(list(hours_shown), fill_value=0).reset_index()
    x = [f"{int(h):02d}" for h in frame["hour"]] if len(frame) else []
    fig = go.Figure()
    for column, colour in zip(RING_COLUMNS, RING_BUCKET_COLOURS):
        y = [int(v) for v in frame[column]] if column in frame else [0] * len(x)
        fig.add_bar(x=x, y=y, name=ring_label(column, lang), marker_color=colour)
    if "abandoned" in frame:
        fig.add_bar(x=x, y=[int(v) for v in frame["abandoned"]], name=t("abandoned", lang), marker_color="#9aa5b1")
    return _layout(fig, barmode="stack", xaxis_title=t("col_hour", lang), yaxis_title=t("col_calls", lang),
                   yaxis=dict(rangemode="tozero", tickformat=",d", dtick=None if _peak(fig) > 5 else 1))


def _peak(fig: go.Figure) -> int:
    """The tallest stack of a stacked bar chart."""
    totals: dict[str, int] = {}
    for trace in fig.data:
        for x, y in zip(trace.x or (), trace.y or ()):
            totals[x] = totals.get(x, 0) + int(y)
    return max(totals.values(), default=0)


def rate_bars(table: pd.DataFrame, key: str, lang: str, *, limit: int = 3) -> go.Figure:
    """The ring rule's pass rate per ``key`` (team or agent), as horizontal bars coloured by how
    close to 100 % they are."""
    frame = table.dropna(subset=["ring_rate"]).sort_values("ring_rate") if len(table) else table
    rates = [round(float(r) * 100, 1) for r in frame["ring_rate"]] if len(frame) else []
    names = [t("none", lang) if k == NONE else str(k) for k in frame[key]] if len(frame) else []
    colours = [OK if r >= 90 else WARN if r >= 70 else BAD for r in rates]
    fig = go.Figure(go.Bar(x=rates, y=names, orientation="h", marker_color=colours,
                           text=[f"{r:.1f}%" for r in rates], textposition="outside", cliponaxis=False))
    ticks = [0, 20, 40, 60, 80, 100]
    return _layout(fig, height=max(180, 60 + 34 * len(names)),
                   xaxis=dict(range=[0, 112], tickvals=ticks, ticktext=[f"{v}%" for v in ticks]),
                   xaxis_title=t("col_ring_rate", lang))


def trend(periods: pd.DataFrame, lang: str, *, groups: pd.DataFrame | None = None, by: str = "team") -> go.Figure:
    """The ring rule's pass rate over consecutive periods: the institution's line (``periods``:
    ``period`` in order and ``ring_rate``, 0..1 or None), and a thinner line per ``by`` value of
    ``groups`` (the read side's trend by team or agent) when given."""
    fig = go.Figure()
    order = list(periods["period"])

    def pct(frame: pd.DataFrame) -> list[float | None]:
        return [None if pd.isna(r) else round(float(r) * 100, 1) for r in frame["ring_rate"]]

    fig.add_scatter(x=order, y=pct(periods), mode="lines+markers", name=t("report_summary", lang),
                    line=dict(width=4, color="#102a43"), marker=dict(size=9))
    if groups is not None and len(groups):
        for name, frame in groups.groupby(groups[by].fillna(NONE), sort=True):
            frame = frame.set_index("period").reindex(order).reset_index()
            label = t("none", lang) if name == NONE else str(name)
            fig.add_scatter(x=order, y=pct(frame), mode="lines+markers", name=label, line=dict(width=2, dash="dot"))
    return _layout(fig, height=360, yaxis=dict(range=[0, 105], ticksuffix="%"), yaxis_title=t("col_ring_rate", lang),
                   xaxis=dict(type="category", categoryorder="array", categoryarray=order, tickangle=0,
                              automargin=True))


def _local(ts: float | None, tz: ZoneInfo) -> datetime | None:
    if ts is None or pd.isna(ts):
        return None
    return datetime.fromtimestamp(float(ts), tz).replace(tzinfo=None)


def timeline(call: Mapping[str, Any], tz: ZoneInfo, lang: str) -> go.Figure:
    """One call on a time axis (the PBX's zone, to the second): a row for the caller (waiting
    from arrival to the answer, or to the end when nobody answered, then talking) and one per leg (ringing amber, talking
    green), and a cross where the side that hung up first put the phone down.

    ``call`` is a stored call with its ``legs`` (the read side's ``call`` with numbers already
    masked as the reader may see them)."""
    rows: list[tuple[str, str, float, float, str]] = []  # (row label, segment, start, end, colour)
    caller_label = f"{t('col_caller', lang)} {call.get('caller') or ''}".strip()
    arrived = call.get("arrived_at")
    answered, ended = call.get("answered_at"), call.get("ended_at")
    if arrived is not None:
        # the caller waits (queue, ringback) from arrival to the answer, or to the end
        until = answered if answered is not None else ended
        if until is not None and until > arrived:
            rows.append((caller_label, t("seg_waiting", lang), arrived, until, "#9aa5b1"))
        if answered is not None and ended is not None:
            rows.append((caller_label, t("seg_talking", lang), answered, ended, OK))
    for i, leg in enumerate(call.get("legs") or []):
        label = f"{i + 1}. {leg.get('endpoint') or leg.get('channel') or ''}"
        start, end_ring = leg.get("ring_started_at"), leg.get("answered_at") or leg.get("ring_ended_at")
        if start is not None and end_ring is not None and end_ring >= start:
            rows.append((label, t("seg_ringing", lang), start, max(end_ring, start + 0.05), WARN))
        if leg.get("answered_at") is not None and leg.get("ended_at") is not None:
            rows.append((label, t("seg_talking", lang), leg["answered_at"], leg["ended_at"], OK))
    fig = go.Figure()
    shown: set[str] = set()
    for label, segment, start, end, colour in rows:
        fig.add_bar(
            y=[label], base=[_local(start, tz)], x=[(end - start) * 1000.0], orientation="h",
            marker_color=colour, name=segment, legendgroup=segment, showlegend=segment not in shown,
            hovertemplate=(f"{segment}: {_local(start, tz):%H:%M:%S} – {_local(end, tz):%H:%M:%S}"
                           f" ({end - start:.1f}s)<extra>{label}</extra>"),
        )
        shown.add(segment)
    who = call.get("hangup_by")
    if who and ended is not None:
        callers_side = SIDES.get(call.get("direction") or "inbound", SIDES["inbound"])[0]
        answering = [f"{i + 1}. {leg.get('endpoint') or leg.get('channel') or ''}"
                     for i, leg in enumerate(call.get("legs") or []) if leg.get("answered_at") is not None]
        y = caller_label if who == callers_side or not answering else answering[-1]
        fig.add_scatter(x=[_local(ended, tz)], y=[y], mode="markers+text", marker=dict(symbol="x", size=16, color=BAD),
                        text=[t("ev_hangup", lang)], textposition="top center", name=t("ev_hangup", lang))
    labels = list(dict.fromkeys(r[0] for r in rows))
    _layout(fig, height=max(200, 90 + 48 * len(labels)), barmode="overlay",
            title=t("hung_up_first", lang, who=t(who, lang) if who else "-"))
    fig.update_xaxes(type="date", tickformat="%H:%M:%S")
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels, color=MUTED)
    return fig
