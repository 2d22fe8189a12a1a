"""Real captures rewritten into a callback story (for the callback and report tests).

Nothing here writes an event by hand: each variant is the bytes of a capture in sample_cdr/
with a few header values rewritten, so the tracker sees what a real Asterisk sent.

- ``moved``: every ``Timestamp`` moved by whole seconds, and the integer part of every
  ``...Uniqueid``/``...Linkedid`` moved by the same amount, so the copy is a new call (new
  Linkedid, new journal keys) at another time;
- ``renumbered``: one phone number replaced by another, everywhere in the bytes (Exten,
  CallerIDNum, ConnectedLineNum, DialString, Dial() data ...);
- ``unanswered``: the frames from the customer's answer up to the hang-ups dropped (Newstate Up,
  DialEnd ANSWER, the bridge, HangupRequest ...), so the staff phone gives up while the
  customer's phone rings; the recorded Hangup frames end the call.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callmon.core.config import load_config
from callmon.read import Reader
from tests.conftest import SAMPLES, SCENARIOS, run_cli

SEOUL = ZoneInfo("Asia/Seoul")
MISSED_NUMBER = "01010200001"  # c_direct_abandon's caller
CALLBACK_NUMBER = "01055551234"  # whom f_outbound_callback dials

_TIMESTAMP = re.compile(rb"(?m)^Timestamp: (\d+)\.(\d+)")
_IDS = re.compile(rb"(?m)^(\w*(?:Uniqueid|Linkedid)): (\d+)\.(\d+)")
_FIRST_CALL_TS = re.compile(rb"Event: Newchannel\r\n(?:[^\r\n]*\r\n)*?Timestamp: (\d+\.\d+)")


def kst(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


def frames(raw: bytes) -> list[bytes]:
    return [f for f in raw.split(b"\r\n\r\n") if f]


def first_call_time(raw: bytes) -> float:
    """The Timestamp of the first Newchannel: when the call started."""
    return float(_FIRST_CALL_TS.search(raw).group(1))


def moved(raw: bytes, seconds: int) -> bytes:
    raw = _TIMESTAMP.sub(lambda m: b"Timestamp: %d.%s" % (int(m.group(1)) + seconds, m.group(2)), raw)
    return _IDS.sub(lambda m: b"%s: %d.%s" % (m.group(1), int(m.group(2)) + seconds, m.group(3)), raw)


def renumbered(raw: bytes, old: str, new: str) -> bytes:
    return raw.replace(old.encode(), new.encode())


def unanswered(raw: bytes) -> bytes:
    parts = frames(raw)
    answer = next(i for i, f in enumerate(parts) if b"Event: Newstate" in f and b"ChannelState: 6" in f)
    hangup = next(i for i, f in enumerate(parts) if f.startswith(b"Event: Hangup\r\n"))
    return b"\r\n\r\n".join(parts[:answer] + parts[hangup:]) + b"\r\n\r\n"


def variant(tmp_path: Path, name: str, scenario: str, *, at: datetime | None = None,
            number: tuple[str, str] | None = None, drop_answer: bool = False) -> Path:
    """Write a rewritten copy of a scenario's ami.raw; its call starts in the second after ``at``."""
    raw = (SAMPLES / scenario / "ami.raw").read_bytes()
    if number:
        raw = renumbered(raw, *number)
    if drop_answer:
        raw = unanswered(raw)
    if at is not None:
        raw = moved(raw, math.ceil(at.timestamp() - first_call_time(raw)))  # starts within a second after ``at``
    path = tmp_path / f"{name}.raw"
    path.write_bytes(raw)
    return path


def missed(tmp_path: Path, at: datetime | None = None) -> Path:
    """c_direct_abandon: 01010200001 rings 2001 for 20 s and gives up (Mon 2026-11-23 04:43 KST)."""
    return variant(tmp_path, "missed", "c_direct_abandon", at=at) if at else SAMPLES / "c_direct_abandon" / "ami.raw"


def callback(tmp_path: Path, at: datetime, *, answered: bool = True, number: str = MISSED_NUMBER) -> Path:
    """f_outbound_callback: 2001 dials ``number`` (answered, or the unanswered variant) at ``at``."""
    name = f"callback-{'answered' if answered else 'attempt'}-{at:%d%H%M}"
    return variant(tmp_path, name, "f_outbound_callback", at=at, number=(CALLBACK_NUMBER, number),
                   drop_answer=not answered)


@pytest.fixture
def stored(db_url, cfg_path, tmp_path):
    """The database of the reader, report and rollup tests (``db_url``, configured by ``cfg_path``):
    every capture, and c_direct_abandon's caller called back late (Tue 10:00; due Mon 18:00)."""
    files = [SAMPLES / s / "ami.raw" for s in SCENARIOS if s != "c_direct_abandon"]
    files += [missed(tmp_path), callback(tmp_path, kst(2026, 11, 24, 10))]
    run_cli("ingest", *map(str, files), "--db", db_url, "--config", cfg_path)
    reader = Reader.open(db_url, load_config(cfg_path))
    yield db_url, cfg_path, reader
    reader.close()
