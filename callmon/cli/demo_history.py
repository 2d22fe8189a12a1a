"""The demo's history: the bundled captures' Asterisk files (Master.csv, cel.csv, queue_log of
every scenario, one recording of one PBX) repeated over the past weeks, shifted in time so every
page of the dashboard has data.

Each copy (a "block") is the whole recording moved to a working day and hour: every epoch in the
files (CEL event times, queue_log times, uniqueids and linkedids, inside the JSON extras too)
and every Master.csv date (written in UTC) moves by the same whole number of seconds, so ids stay
unique between blocks that do not overlap in time, and each block's calls are new calls, as the
replay server's ``--loop`` makes new calls of each pass.

Each block has callers of its own: every outside number (``010`` and eight digits) is rewritten
per block (``010-2BBB-NNNN``: block BBB, the number's place in the recording), the same way in
every row of a call, so a day's missed calls open obligations of their own instead of folding
into one opened weeks ago (and the live replay's original numbers are new to the history). The
recording's one outbound call (f_outbound_callback) is made a callback: it dials a number missed
in the same block, or one missed a day or two earlier in the same week (met or late by the rule).

>>> shift_text('"x","2026-11-22 19:47:17","1795376837.0"', 3600, 1795370000, 1795380000)
'"x","2026-11-22 20:47:17","1795380437.0"'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from callmon.metrics.calendar import WorkingCalendar

FILES = (("Master.csv", "cdr"), ("cel.csv", "cel"), ("queue_log", "queue_log"))
# the CEL alone gives every figure the three files give together (measured on the bundled
# recording: the same outcomes, rings, verdicts and waits), in a third of the import time
HISTORY_KINDS = ("cel",)
_EPOCH = re.compile(r"(?<![\d.])(1\d{9})(?=[.|\",\s]|$)")
_NUMBER = re.compile(r"(?<!\d)(010\d{8})(?!\d)")
OUTBOUND_NUMBER = "01055551234"  # f_outbound_callback dials it
# (blocks back, the number it then dials): missed in c_direct_abandon, e_queue_abandon, l_direct_ring_timeout
CALLBACK_TARGETS = ((0, "01010200001"), (1, "01010400001"), (2, "01010900001"))
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\b")
# where the blocks of a day start (local time), rotated from day to day so every hour has calls
# the recording the history repeats: the busy hour and the scenarios recorded around it
ANCHOR = "j_load"
SESSION = 6 * 3600  # s
STARTS = (time(9, 5), time(10, 20), time(11, 10), time(13, 15), time(14, 30), time(15, 40), time(16, 50))


def shift_text(text: str, delta: int, lo: int, hi: int) -> str:
    """``text`` with every epoch second in [lo, hi] moved by ``delta`` and every UTC date-time
    ``YYYY-MM-DD HH:MM:SS`` too."""
    def epoch(m: re.Match) -> str:
        value = int(m.group(1))
        return str(value + delta) if lo <= value <= hi else m.group(1)

    def moment(m: re.Match) -> str:
        dt = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S") + timedelta(seconds=delta)
        return dt.strftime("%Y-%m-%d %H:%M:%S")

    return _DATE.sub(moment, _EPOCH.sub(epoch, text))


@dataclass(frozen=True)
class Recording:
    """The bundled files of every scenario, joined per kind, and the span of their epochs."""

    texts: dict[str, str]  # kind -> the joined file text
    start: int
    end: int

    @classmethod
    def of(cls, samples: Path, anchor: str = ANCHOR) -> Recording:
        """The scenarios recorded in the same session as ``anchor`` (the busy hour the live replay
        plays): within :data:`SESSION` of it. Scenarios recorded on other days or other PBXs are
        left out, or one block would span days."""
        folders = {}
        for folder in sorted(p for p in samples.iterdir() if p.is_dir()):
            texts = {}
            for name, kind in FILES:
                f = folder / name
                if f.is_file():
                    body = f.read_text(encoding="utf-8")
                    texts[kind] = body if body.endswith("\n") or not body else body + "\n"
            stamps = [int(m.group(1)) for m in _EPOCH.finditer(texts.get("cel", "") + texts.get("queue_log", ""))]
            if stamps:
                folders[folder.name] = (texts, min(stamps), max(stamps))
        if anchor not in folders:
            raise ValueError(f"no CEL or queue_log times in {samples / anchor}")
        _, a_lo, a_hi = folders[anchor]
        texts = {kind: "" for _, kind in FILES}
        lo, hi = a_lo, a_hi
        for name, (own, f_lo, f_hi) in folders.items():
            if f_lo >= a_lo - SESSION and f_hi <= a_hi + SESSION:
                for kind, body in own.items():
                    texts[kind] += body
                lo, hi = min(lo, f_lo), max(hi, f_hi)
        return cls(texts, lo, hi)


def block_starts(today: date, weeks: int, per_day: int, tz: ZoneInfo, calendar: WorkingCalendar) -> list[datetime]:
    """Where the blocks go: ``per_day`` a working day, on the working days of the ``weeks``
    weeks before ``today`` (today itself is left to the live replay)."""
    out = []
    day = today - timedelta(days=7 * weeks)
    n = 0
    while day < today:
        if calendar.is_working_day(day):
            for k in range(per_day):
                t = STARTS[(n + k * 3) % len(STARTS)]
                out.append(datetime.combine(day, t, tz))
            n += 1
        day += timedelta(days=1)
    return sorted(out)


def _template(text: str, lo: int, hi: int) -> tuple[list[str], list[int | str]]:
    """``text`` cut at its epochs in [lo, hi] and its outside numbers: the literal pieces between
    them and the epochs (int) and numbers (str)."""
    pieces, tokens, last = [], [], 0
    found = [(m.start(1), m.end(1), int(m.group(1))) for m in _EPOCH.finditer(text) if lo <= int(m.group(1)) <= hi]
    found += [(m.start(1), m.end(1), m.group(1)) for m in _NUMBER.finditer(text)]
    for start, end, value in sorted(found, key=lambda f: f[0]):
        pieces.append(text[last:start])
        tokens.append(value)
        last = end
    pieces.append(text[last:])
    return pieces, tokens


def block_numbers(numbers: list[str], starts: list[datetime]) -> list[dict[str, str]]:
    """Per block, each outside number of the recording -> the block's own number; the outbound
    call's number -> a number missed in this block or in one a day or two before in the same ISO
    week (rotating, so the history has callbacks met in time and late)."""
    place = {n: k for k, n in enumerate(sorted(set(numbers) | {OUTBOUND_NUMBER}))}
    maps = []
    for i, start in enumerate(starts):
        own = {n: f"010{2000 + i % 8000:04d}{place[n] % 10000:04d}" for n in place}
        back, target = CALLBACK_TARGETS[i % len(CALLBACK_TARGETS)]
        j = i - back
        if j < 0 or starts[j].isocalendar()[:2] != start.isocalendar()[:2] or target not in place:
            back, target, j = CALLBACK_TARGETS[0] + (i,)
        own[OUTBOUND_NUMBER] = f"010{2000 + j % 8000:04d}{place[target] % 10000:04d}"
        maps.append(own)
    return maps


def write_history(samples: Path, folder: Path, starts: list[datetime],
                  kinds: tuple[str, ...] = HISTORY_KINDS) -> list[tuple[Path, str]]:
    """Write the blocks' files of ``kinds`` (default the CEL) into ``folder``; return (path,
    kind) in the order to import them."""
    rec = Recording.of(samples)
    span = rec.end - rec.start
    shifts, last_end = [], None
    for start in starts:
        t0 = int(start.astimezone(timezone.utc).timestamp())
        if last_end is not None and t0 <= last_end:
            raise ValueError(f"demo history blocks overlap at {start}")
        last_end = t0 + span
        shifts.append(t0 - rec.start)
    maps = block_numbers(_NUMBER.findall("".join(rec.texts.values())), starts)
    out = []
    for name, kind in FILES:
        if kind not in kinds:
            continue
        text = rec.texts[kind]
        if _DATE.search(text):  # Master.csv: its dates too (slower, the file is small)
            body = "".join(_NUMBER.sub(lambda m, nums=nums: nums[m.group(1)],
                                       shift_text(text, d, rec.start - 3600, rec.end + 3600))
                           for d, nums in zip(shifts, maps))
        else:
            pieces, tokens = _template(text, rec.start - 3600, rec.end + 3600)
            parts = []
            for d, nums in zip(shifts, maps):
                for piece, token in zip(pieces, tokens):
                    parts.append(piece)
                    parts.append(nums[token] if isinstance(token, str) else str(token + d))
                parts.append(pieces[-1])
            body = "".join(parts)
        path = folder / f"history-{name}"
        path.write_text(body, encoding="utf-8")
        out.append((path, kind))
    return out
