"""Stored rows -> what the command line prints (DESIGN.md's JSON contracts, CSV, a table).

Calls have their own functions; callbacks, the training list and the directory share
:class:`Layout` and the ``records_*`` functions."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence
from zoneinfo import ZoneInfo

CALL_FIELDS = (
    "call_id", "pbx", "direction", "caller", "called", "queue", "arrived_at", "first_ring_at", "answered_at",
    "ended_at", "outcome", "answered_by", "agent", "team", "ring_seconds", "rings", "wait_seconds",
    "talk_seconds", "hangup_by", "transferred", "ring_rule", "hangup_rule", "callback_id", "incomplete",
    "sources", "ring_reason", "hangup_reason",
)
TIME_FIELDS = frozenset({"arrived_at", "first_ring_at", "answered_at", "ended_at"})
DURATION_FIELDS = frozenset({"ring_seconds", "wait_seconds", "talk_seconds"})
LEG_FIELDS = ("uniqueid", "channel", "endpoint", "party", "created_at", "ring_started_at", "ring_ended_at",
              "answered_at", "ended_at", "ring_seconds", "dial_status", "hangup_cause")
LEG_TIMES = frozenset({"created_at", "ring_started_at", "ring_ended_at", "answered_at", "ended_at"})


def iso(ts: float | None, tz: ZoneInfo) -> str | None:
    """Epoch seconds -> ISO-8601 with the zone's offset, to the millisecond."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="milliseconds")


def parse_time(text: str, tz: ZoneInfo) -> float:
    """ISO date or date-time (naive = the configured zone) -> epoch seconds."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.timestamp()


def _duration(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def call_json(row: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """One stored call as DESIGN.md's ``callmon calls --format json`` object."""
    out: dict[str, Any] = {}
    for f in CALL_FIELDS:
        v = row.get(f)
        if f in TIME_FIELDS:
            v = iso(v, tz)
        elif f in DURATION_FIELDS:
            v = _duration(v)
        elif f in ("transferred", "incomplete"):
            v = bool(v)
        elif f == "sources":
            v = v.split(",") if v else []
        out[f] = v
    out["legs"] = [_leg_json(leg, tz) for leg in row.get("legs", [])]
    return out


def _leg_json(leg: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in LEG_FIELDS:
        if f == "ring_seconds":
            start = leg.get("ring_started_at")
            end = leg.get("answered_at") if leg.get("answered_at") is not None else leg.get("ring_ended_at")
            out[f] = None if start is None or end is None else round(max(0.0, end - start), 3)
        elif f in LEG_TIMES:
            out[f] = iso(leg.get(f), tz)
        else:
            out[f] = leg.get(f)
    return out


def calls_json(rows: Sequence[dict[str, Any]], tz: ZoneInfo) -> str:
    return json.dumps([call_json(r, tz) for r in rows], ensure_ascii=False, indent=2)


def calls_csv(rows: Sequence[dict[str, Any]], tz: ZoneInfo) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CALL_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        obj = call_json(r, tz)
        obj["sources"] = "+".join(obj["sources"])
        writer.writerow(obj)
    return buf.getvalue()


TABLE_COLUMNS = (
    ("arrived_at", "도착 arrived"), ("direction", "방향 dir"), ("caller", "발신 caller"), ("called", "수신 called"),
    ("outcome", "결과 outcome"), ("answered_by", "응답 by"), ("agent", "상담원 agent"), ("rings", "벨 rings"),
    ("ring_seconds", "벨(초) ring s"), ("ring_rule", "3벨 rule"), ("hangup_by", "먼저 끊음 hung up"),
    ("hangup_rule", "끊기 rule"),
)


def calls_table(rows: Sequence[dict[str, Any]], tz: ZoneInfo):
    """A rich Table of calls (Korean first, English second in the headings)."""
    from rich.table import Table

    table = Table(title=f"통화 {len(rows)}건 / {len(rows)} calls", show_lines=False)
    for _, heading in TABLE_COLUMNS:
        table.add_column(heading)
    for r in rows:
        obj = call_json(r, tz)
        cells = []
        for f, _ in TABLE_COLUMNS:
            v = obj.get(f)
            if f == "arrived_at" and v:
                v = v[:19].replace("T", " ")
            cells.append("" if v is None else str(v))
        table.add_row(*cells)
    return table


# -- other records (callbacks, training, directory): one spec, three formats ------------------


@dataclass(frozen=True)
class Layout:
    """How rows of one kind are printed: their fields, which are times and lists, the table's
    columns (Korean first, English second) and its title (``{n}`` = the number of rows)."""

    fields: tuple[str, ...]
    title: str
    columns: tuple[tuple[str, str], ...]
    times: frozenset[str] = frozenset()
    lists: frozenset[str] = frozenset()


def record_json(row: dict[str, Any], layout: Layout, tz: ZoneInfo) -> dict[str, Any]:
    """One row as a JSON object: times ISO-8601 with offset, lists as arrays (JSON text decoded)."""
    out: dict[str, Any] = {}
    for f in layout.fields:
        v = row.get(f)
        if f in layout.times:
            v = iso(v, tz)
        elif f in layout.lists:
            v = list(json.loads(v) if isinstance(v, str) else (v or ()))
        out[f] = v
    return out


def records_json(rows: Sequence[dict[str, Any]], layout: Layout, tz: ZoneInfo) -> str:
    return json.dumps([record_json(r, layout, tz) for r in rows], ensure_ascii=False, indent=2)


def records_csv(rows: Sequence[dict[str, Any]], layout: Layout, tz: ZoneInfo) -> str:
    """CSV with a header; list fields joined by ``;``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=layout.fields, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        obj = record_json(r, layout, tz)
        writer.writerow({k: ";".join(map(str, v)) if k in layout.lists else v for k, v in obj.items()})
    return buf.getvalue()


def records_table(rows: Sequence[dict[str, Any]], layout: Layout, tz: ZoneInfo):
    """A rich Table of the layout's columns; times shortened to the minute."""
    from rich.table import Table

    table = Table(title=layout.title.format(n=len(rows)))
    for _, heading in layout.columns:
        table.add_column(heading)
    for r in rows:
        obj = record_json(r, layout, tz)
        cells = []
        for f, _ in layout.columns:
            v = obj.get(f)
            if f in layout.times and v:
                v = v[:16].replace("T", " ")
            elif f in layout.lists:
                v = " ".join(map(str, v))
            cells.append("" if v is None else str(v))
        table.add_row(*cells)
    return table
