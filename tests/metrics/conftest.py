"""Helpers for the metrics tests: Korean local times and calls built as plain data."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from callmon.core.model import Call, Leg
from tests.conftest import expected

SEOUL = ZoneInfo("Asia/Seoul")


def kst(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A moment in Asia/Seoul."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SEOUL)


def at(*args: int) -> float:
    """A moment in Asia/Seoul as epoch seconds, as the domain records keep it."""
    return kst(*args).timestamp()


def make_call(call_id: str = "c1", *, direction: str = "inbound", caller: str = "01012345678", called: str = "2001",
              arrived_at: float = 0.0, outcome: str = "answered", ring: float | None = None, **kw) -> Call:
    """A call; ``ring`` seconds after arrival the staff phone answered (when answered)."""
    if ring is not None:
        kw.setdefault("first_ring_at", arrived_at)
        kw.setdefault("answered_at", arrived_at + ring)
        kw.setdefault("answered_by", called)
    return Call("default", call_id, direction, caller, called, arrived_at, outcome, **kw)


def staff_leg(endpoint: str, rang_at: float, *, answered_at: float | None = None, stopped_at: float | None = None,
              ended_at: float | None = None, channel: str | None = None) -> Leg:
    """A staff phone that rang from ``rang_at`` until its answer or ``stopped_at``."""
    return Leg(uniqueid=f"u-{endpoint}-{rang_at}", channel=channel or f"PJSIP/{endpoint}-0001", endpoint=endpoint,
               party="staff", ring_started_at=rang_at, ring_ended_at=stopped_at if answered_at is None else answered_at,
               answered_at=answered_at, ended_at=ended_at)


def call_from_truth(t: dict, call_id: str = "truth") -> Call:
    """A truth.json call (the phones' SIP traces) as a domain call, in callmon's terms."""
    e = expected(t)
    legs = tuple(
        Leg(uniqueid=f"{call_id}-{i}", channel=f"PJSIP/{leg['phone']}-{i:08x}", endpoint=leg["phone"],
            party="outside" if leg["phone"] == "customer" else "staff", ring_started_at=leg["ringing_at"],
            ring_ended_at=leg["answered_at"] or leg["cancelled_at"], answered_at=leg["answered_at"],
            ended_at=leg["hung_up_at"] or leg["was_hung_up_at"])
        for i, leg in enumerate(t["legs"])
    )
    return Call("default", call_id, e["direction"], e["caller"], e["called"], t["invite_at"], e["outcome"],
                first_ring_at=t["first_ring_at"], answered_at=t["answered_at"], ended_at=t["ended_at"],
                answered_by=e["answered_by"], hangup_by=e["hangup_by"], transferred=e["transferred"], legs=legs)
