"""Calls of a single Master.csv record, built column-wise: the bulk of a large import.

Most calls of a Master.csv are one record (a direct call, a queue call answered by its first
member, an outbound call). For those, :func:`single_record_calls` computes every field of the
call over whole columns (pandas/numpy) by the very definitions :mod:`callmon.calls.facts`
and :mod:`callmon.calls.build` apply to one record, and only makes the frozen records at the
end; it gives the same :class:`~callmon.core.model.Call` as :func:`~callmon.calls.assemble_calls`
(tests compare them on the real samples and on a generated file), at a fraction of the cost.

Records it does not take (a Local channel as party B) are returned for the assembler.

>>> from callmon.core.config import Config
>>> from callmon.sources.files import read_cdr
>>> rows = list(read_cdr("sample_cdr/a_direct_fast_caller_hangs_up/Master.csv", Config(timezone="UTC")))
>>> calls, rest = single_record_calls(rows, Config(), "pbx1")
>>> [(c.outcome, c.answered_by, round(c.ring_seconds, 2)) for c in calls], rest
([('answered', '2001', 2.0)], [])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from callmon.calls.interpret import endpoint_of
from callmon.core.config import Config
from callmon.core.model import SIDES
from callmon.sources.files.cdr import FIELDS, CdrRow
from callmon.calls.facts import _FRACTIONS, DISPOSITION_STATUS, REFUSED
from callmon.core.model import Call, Leg


def _times(f: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~callmon.calls.facts.cdr_times` over columns: start, answer (NaN: none), end."""
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
    records = SingleRecords(rows, config, pbx)
    return records.calls(), records.rest


class SingleRecords:
    """Records that are each a whole call, as columns: every field of their calls is computed
    here over the columns; :meth:`call` makes the record of one, :meth:`calls` of all.
    ``rest`` holds the records it does not take (a Local channel as party B)."""

    def __init__(self, rows: Sequence[CdrRow], config: Config, pbx: str):
        self.pbx = pbx
        self.rest: list[CdrRow] = []
        self.n = 0
        if not rows:
            return
        f = pd.DataFrame.from_records(rows, columns=FIELDS)
        local = f["dstchannel"].str.startswith("Local/").to_numpy()
        self.rest = [rows[i] for i in np.flatnonzero(local)]
        if local.any():
            f = f[~local].reset_index(drop=True)
        self.n = len(f)
        if f.empty:
            return
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
        self.b_end = b_end = _endpoints(f["dstchannel"])
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
        # times as columns (NaN: none) and as lists for the records
        self.t_start, self.t_end, self.t_first_ring, self.t_answered = start, end, first_ring, answered_at
        self.t_b_answered = b_answered_at
        self.start, self.end = start.tolist(), end.tolist()
        self.first_ring, self.answered_at, self.b_answered = first_ring.tolist(), answered_at.tolist(), b_answered_at.tolist()
        self.direction, self.won, self.has_b, self.b_staff = direction.tolist(), won.tolist(), has_b.tolist(), b_staff.tolist()
        self.answered, self.refused, self.pre_answered = answered.tolist(), refused.tolist(), pre_answered.tolist()
        self.hangup_system, self.caller_hung_up = hangup_system.tolist(), caller_hung_up.tolist()
        self.voicemail, self.status, self.refusal, self.queue = voicemail.tolist(), status.tolist(), refusal.tolist(), queue.tolist()
        for name in ("linkedid", "channel", "dstchannel", "src", "dst", "uniqueid"):
            setattr(self, name, f[name].tolist())
        self.parties = [self._party(i) for i in range(self.n)]

    def _party(self, i: int) -> tuple:
        """``(outcome, answered_by, hangup_by, hangup_channel)`` of record ``i`` (:attr:`parties`)."""
        d = self.direction[i]
        caller_side = SIDES[d][0]
        if self.won[i]:
            return "answered", (self.dst[i] if d == "outbound" else self.b_end[i]), None, None
        hangup_by, hangup_channel = ("system", None) if self.hangup_system[i] else (caller_side, self.channel[i])
        return _missed(d, self.voicemail[i], self.refusal[i], hangup_by), None, hangup_by, hangup_channel

    def call_id(self, i: int) -> str:
        return self.linkedid[i] or self.uniqueid[i] or self.channel[i]

    def _b_party(self, i: int) -> tuple:
        """Party B of record ``i`` as the legs row's columns from ``uniqueid`` on (record ``i``
        has one), as :func:`~callmon.calls.build._leg` and ``_dial_status`` make it."""
        caller_hung_up = self.caller_hung_up[i] and SIDES[self.direction[i]][0] == self.parties[i][2]
        start, end, status = self.start[i], self.end[i], self.status[i]
        status = status if isinstance(status, str) else None
        refused = self.refused[i]
        ans = _num(self.b_answered[i])
        if self.answered[i]:
            dial_status = "ANSWER"
        elif (status not in (None, "NOANSWER")) or refused:
            dial_status = status
        elif caller_hung_up:
            dial_status = "CANCEL"
        else:
            dial_status = status or "NOANSWER"
        return ("", self.dstchannel[i], self.b_end[i], "staff" if self.b_staff[i] else "outside", start,
                None if refused or self.pre_answered[i] else start,
                None if refused else (ans if ans is not None else end), ans, end, dial_status, None)

    def leg(self, i: int) -> Leg | None:
        """Party B of record ``i`` (None when the record has none)."""
        return Leg(*self._b_party(i)) if self.has_b[i] else None

    def leg_rows(self, pbx: str, call_ids: Sequence[str]) -> list[tuple | None]:
        """The ``legs`` row (:data:`~callmon.storage.store.LEG_COLUMNS`) of each record's party B
        (None: none), as :meth:`leg` and :func:`~callmon.storage.store.leg_row` make it."""
        return [(pbx, call_id, *self._b_party(i)) if self.has_b[i] else None for i, call_id in enumerate(call_ids)]

    def call(self, i: int) -> Call:
        outcome, answered_by, hangup_by, hangup_channel = self.parties[i]
        leg = self.leg(i)
        uid = self.uniqueid[i]
        return Call(
            pbx=self.pbx, call_id=self.call_id(i), direction=self.direction[i], caller=self.src[i], called=self.dst[i],
            arrived_at=self.start[i], outcome=outcome, queue=self.queue[i] or None, first_ring_at=_num(self.first_ring[i]),
            answered_at=_num(self.answered_at[i]), ended_at=self.end[i], answered_by=answered_by, answered_leg=None,
            hangup_by=hangup_by, hangup_channel=hangup_channel, transferred=False, incomplete=False,
            legs=(leg,) if leg is not None else (), uniqueids=(uid,) if uid else (), sources=("cdr",),
        )

    def calls(self) -> list[Call]:
        return [self.call(i) for i in range(self.n)]

    def shapes(self) -> list[tuple]:
        """Per record, everything of its call the rules read except who the customer is and when:
        records of one shape get the same score and agent verdicts (times are taken relative to
        the record's start, so a shape is a ring pattern, not a moment)."""
        rel = lambda col: [None if v != v else v for v in (col - self.t_start).tolist()]  # noqa: E731
        first, ans, end, b_ans = rel(self.t_first_ring), rel(self.t_answered), rel(self.t_end), rel(self.t_b_answered)
        return list(zip(
            self.direction, (p[0] for p in self.parties), (p[1] for p in self.parties), (p[2] for p in self.parties),
            (p[3] is not None and p[3] == b for p, b in zip(self.parties, self.dstchannel)),
            (c if d != "inbound" else None for c, d in zip(self.src, self.direction)),
            first, ans, end, b_ans, self.has_b, self.b_end, self.b_staff, self.answered, self.refused,
            self.pre_answered, (s if isinstance(s, str) else None for s in self.status), self.caller_hung_up,
        ))


_ENDPOINT = r"^[^/]*/(?P<base>.*)-[0-9a-fA-F]+$"


def _endpoints(channels: pd.Series) -> list[str]:
    """:func:`~callmon.calls.interpret.endpoint_of` of a column of channel names ('' stays '')."""
    names = channels.tolist()
    # pyarrow's regex runs over the whole column in C++ (pandas' str.extract calls re per name)
    out = pc.extract_regex(pa.array(names, pa.string()), _ENDPOINT).field("base").to_pylist()
    for i, c in enumerate(names):
        v = out[i] if out[i] is not None else c.partition("/")[2]
        if not v or "/" not in c or c.startswith("Local/"):
            v = endpoint_of(c) if c else ""
        out[i] = v
    return out


def _num(v: float) -> float | None:
    return None if v != v else v


def _missed(direction: str, voicemail: bool, refusal: str, hangup_by: str) -> str:
    """:func:`~callmon.calls.build._outcome` of an unanswered single-record call."""
    if voicemail:
        return "voicemail"
    if refusal == "BUSY":
        return "busy"
    if refusal in ("CHANUNAVAIL", "CONGESTION"):
        return "failed"
    if direction != "inbound":
        return "no_answer"
    return "abandoned" if hangup_by == "customer" else "no_answer"


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
