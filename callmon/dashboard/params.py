"""Query parameters the pages take (``?at=2026-11-23T10:00``: look from that moment)."""

from __future__ import annotations

from datetime import datetime

from callmon.dashboard.context import ctx


def moment_param(text: str | None) -> float | None:
    """``?at=`` as epoch seconds (a naive time is in the PBX's zone); None when absent or not a
    date-time (the page then follows the clock)."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ctx().reader.tz)
    return dt.timestamp()
