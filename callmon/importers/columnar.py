"""Calls of a single Master.csv record, built column-wise: the bulk of a large import.

Most calls of a Master.csv are one record (a direct call, a queue call answered by its first
member, an outbound call). For those, :func:`single_record_calls` computes every field of the
call over whole columns (pandas/numpy) by the very definitions :mod:`callmon.importers.facts`
and :mod:`callmon.importers.build` apply to one record, and only makes the frozen records at the
end; it gives the same :class:`~callmon.model.Call` as :func:`~callmon.importers.assemble_calls`
(tests compare them on the real samples and on a generated file), at a fraction of the cost.

Records it does not take (a Local channel as party B) are returned for the assembler.

>>> from callmon.config import Config
>>> from callmon.importers import read_cdr
>>> rows = list(read_cdr("sample_cdr/a_direct_fast_caller_hangs_up/Master.csv", Config(timezone="UTC")))
>>> calls, rest = single_record_calls(rows, Config(), "pbx1")
>>> [(c.outcome, c.answered_by, round(c.ring_seconds, 2)) for c in calls], rest
([('answered', '2001', 2.0)], [])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from callmon.ami.interpret import endpoint_of
from callmon.config import Config
from callmon.model import SIDES
from callmon.importers.cdr import FIELDS, CdrRow
from callmon.importers.facts import _FRACTIONS, DISPOSITION_STATUS, REFUSED
from callmon.model import Call, Leg


def _times(f: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~callmon.importers.facts.cdr_times` over columns: start, answer (NaN: none), end."""
    start, end = f["start"].to_numpy(float), f["end"].to_numpy(float)
    answer = f["answer"].to_numpy(float)
    duration, billsec = f["duration"].to_numpy(float), f["billsec"].to_numpy(float)
    below_s = duration == end - start
    consistent = below_s | (duration == end - start - 1)
    has_answer = ~np.isnan(answer)
    below_a = billsec == end - answer
    answer_ok = below_a | (billsec == end - answer - 1)
    fs = np.full(len(f), 0.5)
    fa = np.full(len(f), 0.5)
    fe = np.full(len(f), 0.5)
    plain = ~has_answer & consistent
    fs[plain] = np.where(below_s[plain], 1 / 3, 2 / 3)
    fe[plain] = np.where(below_s[plain], 2 / 3, 1 / 3)
    for (bs, ba), (s_, a_, e_) in _FRACTIONS.items():
        sel = has_answer & consistent & answer_ok & (below_s == bs) & (below_a == ba)
        fs[sel], fa[sel], fe[sel] = s_, a_, e_
    return start + fs, answer + fa, end + fe


def single_record_calls(rows: Sequence[CdrRow], config: Config, pbx: str) -> tuple[list[Call], list[CdrRow]]:
    """``(calls, rows left)``: one call per record (each record must be its call's only row)."""
    if not rows:
        return [], []
    f = pd.DataFrame.from_records(rows, columns=FIELDS)
    local = f["dstchannel"].str.startswith("Local/").to_numpy()
    rest = [rows[i] for i in np.flatnonzero(local)]
    if local.any():
        f = f[~local].reset_index(drop=True)
    if f.empty:
        return [], rest
    start, answer, end = _times(f)
    has_b = (f["dstchannel"] != "").to_numpy()
    lastapp = f["lastapp"]
    in_queue = (lastapp == "Queue").to_numpy()
    disposition = f["disposition"]
    status = disposition.map(DISPOSITION_STATUS)  # NaN: unknown
    refused = status.isin(REFUSED).to_numpy()
    answered = (disposition == "ANSWERED").to_numpy() & has_b
    # the caller was answered before the dial (a queue, or an answer not B's): B's ring start is unknown
    pre_answered = in_queue | (~np.isnan(answer) & (disposition != "ANSWERED").to_numpy())
    b_answered_at = np.where(answered & ~pre_answered, answer, np.nan)

    staff = _Staff(config)
    a_staff = np.fromiter(map(staff, _endpoints(f["channel"])), bool, len(f))
    b_end = _endpoints(f["dstchannel"])
    b_staff = np.fromiter((staff(e) if e else False for e in b_end), bool, len(f))
    direction = np.where(~a_staff, "inbound", np.where(has_b & ~b_staff, "outbound", "internal"))
    candidate = has_b & np.where(direction == "outbound", ~b_staff, b_staff)
    won = candidate & answered
    ring_from = candidate & ~refused & ~pre_answered
    first_ring = np.where(ring_from, start, np.nan)
    answered_at = np.where(won, b_answered_at, np.nan)
    went_on = ~has_b & ~lastapp.isin(("Dial", "Queue")).to_numpy()
    # unanswered: CDR says the dialplan went on (system) or the caller hung up while it rang
    hangup_system = ~won & went_on
    caller_hung_up = ~won & ~went_on
    refusal = np.where(refused & has_b, status.fillna("").to_numpy(object), "")  # a refusal is B's
    voicemail = (lastapp == "VoiceMail").to_numpy()
    queue = np.where(in_queue, f["lastdata"].str.split(",", n=1).str[0], "")
    start_l, end_l = start.tolist(), end.tolist()
    first_ring_l, answered_at_l, b_answered_l = first_ring.tolist(), answered_at.tolist(), b_answered_at.tolist()

    direction, won, has_b, b_staff = direction.tolist(), won.tolist(), has_b.tolist(), b_staff.tolist()
    answered, refused, pre_answered = answered.tolist(), refused.tolist(), pre_answered.tolist()
    hangup_system, caller_hung_up, voicemail = hangup_system.tolist(), caller_hung_up.tolist(), voicemail.tolist()
    status_l, refusal, queue = status.tolist(), refusal.tolist(), queue.tolist()
    out = []
    for i, (call_id, channel, dst_channel, src, dst, uid) in enumerate(zip(
            f["linkedid"], f["channel"], f["dstchannel"], f["src"], f["dst"], f["uniqueid"])):
        d = direction[i]
        caller_side = SIDES[d][0]
        if won[i]:
            outcome, hangup_by, hangup_channel = "answered", None, None
            answered_by = dst if d == "outbound" else b_end[i]
        else:
            answered_by = None
            hangup_by, hangup_channel = ("system", None) if hangup_system[i] else (caller_side, channel)
            outcome = _missed(d, voicemail[i], refusal[i], hangup_by)
        legs = ()
        if has_b[i]:
            legs = (_leg(dst_channel, b_end[i], b_staff[i], start_l[i], end_l[i], b_answered_l[i], answered[i],
                         refused[i], pre_answered[i], status_l[i], caller_hung_up[i] and caller_side == hangup_by),)
        out.append(Call(
            pbx=pbx, call_id=call_id or uid or channel, direction=d, caller=src, called=dst,
            arrived_at=start_l[i], outcome=outcome, queue=queue[i] or None, first_ring_at=_num(first_ring_l[i]),
            answered_at=_num(answered_at_l[i]), ended_at=end_l[i], answered_by=answered_by, answered_leg=None, hangup_by=hangup_by,
            hangup_channel=hangup_channel, transferred=False, incomplete=False, legs=legs,
            uniqueids=(uid,) if uid else (), sources=("cdr",),
        ))
    return out, rest


_ENDPOINT = r"^[^/]*/(?P<base>.*)-[0-9a-fA-F]+$"


def _endpoints(channels: pd.Series) -> list[str]:
    """:func:`~callmon.ami.interpret.endpoint_of` of a column of channel names ('' stays '')."""
    found = channels.str.extract(_ENDPOINT, expand=False)
    out = found.where(found.notna(), channels.str.partition("/")[2]).tolist()
    for i, c in enumerate(channels.tolist()):
        if "/" not in c or c.startswith("Local/") or not out[i]:
            out[i] = endpoint_of(c) if c else ""
    return out


def _num(v: float) -> float | None:
    return None if v != v else v


def _missed(direction: str, voicemail: bool, refusal: str, hangup_by: str) -> str:
    """:func:`~callmon.importers.build._outcome` of an unanswered single-record call."""
    if voicemail:
        return "voicemail"
    if refusal == "BUSY":
        return "busy"
    if refusal in ("CHANUNAVAIL", "CONGESTION"):
        return "failed"
    if direction != "inbound":
        return "no_answer"
    return "abandoned" if hangup_by == "customer" else "no_answer"


def _leg(channel: str, endpoint: str, staff: bool, start: float, end: float, answered_at: float, answered: bool,
         refused: bool, pre_answered: bool, status, caller_hung_up: bool) -> Leg:
    """Party B of the record, as :func:`~callmon.importers.build._leg` and ``_dial_status`` make it."""
    status = status if isinstance(status, str) else None
    never_rang = bool(refused)
    if answered:
        dial_status = "ANSWER"
    elif (status not in (None, "NOANSWER")) or never_rang:
        dial_status = status
    elif caller_hung_up:
        dial_status = "CANCEL"
    else:
        dial_status = status or "NOANSWER"
    ans = _num(answered_at)
    return Leg(
        uniqueid="", channel=channel, endpoint=endpoint, party="staff" if staff else "outside", created_at=start,
        ring_started_at=None if never_rang or pre_answered else start,
        ring_ended_at=None if never_rang else (ans if ans is not None else end),
        answered_at=ans, ended_at=end, dial_status=dial_status, hangup_cause=None,
    )


class _Staff:
    """``config.is_staff_endpoint`` remembered per endpoint (a file names few of them)."""

    def __init__(self, config: Config):
        self.config = config
        self.seen: dict[str, bool] = {}

    def __call__(self, endpoint: str) -> bool:
        v = self.seen.get(endpoint)
        if v is None:
            v = self.seen[endpoint] = self.config.is_staff_endpoint(endpoint)
        return v
