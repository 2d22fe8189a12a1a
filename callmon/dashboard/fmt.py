"""How values read on the pages: times to the second in the PBX's zone, rates, durations, and a
plain HTML table of a DataFrame (pure; no database).

>>> from zoneinfo import ZoneInfo
>>> stamp(1795377344.579927, ZoneInfo("Asia/Seoul")), clock(1795377344.6, ZoneInfo("Asia/Seoul"))
('2026-11-23 04:55:44', '04:55:44')
>>> percent(0.75), percent(None), number(3.6083), span(5400, "ko"), span(-90, "en")
('75.0%', '-', '3.6', '1시간 30분', '-1m 30s')
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Callable, Sequence
from zoneinfo import ZoneInfo

from dash import html

from callmon.dashboard.i18n import t


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def stamp(ts: float | None, tz: ZoneInfo) -> str:
    """Epoch seconds -> ``YYYY-MM-DD HH:MM:SS`` in ``tz`` (truncated to the second)."""
    if _missing(ts):
        return ""
    return datetime.fromtimestamp(math.floor(float(ts)), tz).strftime("%Y-%m-%d %H:%M:%S")


def clock(ts: float | None, tz: ZoneInfo) -> str:
    """Epoch seconds -> ``HH:MM:SS`` in ``tz``."""
    if _missing(ts):
        return ""
    return datetime.fromtimestamp(math.floor(float(ts)), tz).strftime("%H:%M:%S")


def percent(rate: float | None) -> str:
    return "-" if _missing(rate) else f"{float(rate) * 100:.1f}%"


def number(v: float | None, digits: int = 1) -> str:
    if _missing(v):
        return "-"
    if isinstance(v, (int,)) or float(v).is_integer() and digits == 0:
        return f"{int(v):,}"
    return f"{float(v):,.{digits}f}"


def count(v: Any) -> str:
    return "-" if _missing(v) else f"{int(v):,}"


def span(seconds: float | None, lang: str) -> str:
    """A duration as hours and minutes (``1시간 30분`` / ``1h 30m``), minutes and seconds when
    under an hour; negative when past."""
    if _missing(seconds):
        return "-"
    sign = "-" if seconds < 0 else ""
    s = int(round(abs(seconds)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if lang == "ko":
        text = f"{h}시간 {m}분" if h else f"{m}분 {sec}초"
    else:
        text = f"{h}h {m}m" if h else f"{m}m {sec}s"
    return sign + text


Column = tuple[str, str, Callable[[Any], str]]  # (field, heading key, format)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], lang: str, *, table_id: str | None = None,
          row_class: Callable[[dict[str, Any]], str | None] | None = None, text_fields: frozenset[str] = frozenset(),
          empty: str = "no_data") -> html.Div | html.Table:
    """An HTML table of ``rows`` (dicts); the headings in ``lang``; ``row_class`` may mark rows
    (``overdue``)."""
    if not rows:
        return html.Div(t(empty, lang), className="cm-muted", id=table_id or "")
    head = html.Thead(html.Tr([html.Th(t(key, lang), className="text" if f in text_fields else None)
                               for f, key, _ in columns]))
    body = html.Tbody([
        html.Tr([html.Td(fmt(r.get(f)), className="text" if f in text_fields else None) for f, _, fmt in columns],
                className=row_class(r) if row_class else None)
        for r in rows
    ])
    kw = {"id": table_id} if table_id else {}
    return html.Table([head, body], className="cm-table", **kw)


def text(v: Any) -> str:
    return "" if _missing(v) else str(v)


NONE = "(none)"  # the aggregates' name of the calls without a team, agent or queue


def records(frame, lang: str) -> list[dict[str, Any]]:
    """A DataFrame's rows as dicts (NaN -> None), the group without a name in ``lang``."""
    if not len(frame):
        return []
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    word = t("none", lang)
    return [{k: (word if v == NONE else v) for k, v in r.items()} for r in rows]
