"""Helpers for the tests of file sources, call assembly and ingest: the real sample files, read with the zone they were written in.

The sample Master.csv files were written in UTC wall-clock time (each record's ``start`` equals
the epoch in its uniqueid, to the second), although the PBX ran with ``TZ=Asia/Seoul``; CEL and
queue_log carry epoch seconds. So the samples are read with ``timezone = "UTC"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callmon.core.config import Config
from callmon.calls import calls_from_files
from callmon.sources.files import Reject, read_cdr, read_cel, read_queue_log
from tests.conftest import SAMPLES, sample_config

CFG = Config(timezone="UTC")
SOURCES = {"cdr": ("Master.csv", read_cdr), "cel": ("cel.csv", read_cel), "queue_log": ("queue_log", read_queue_log)}


def rows_of(path: Path, reader=read_cdr, config: Config = CFG) -> tuple[list, list[Reject]]:
    """(rows, rejects) of one file."""
    rows, rejects = [], []
    for item in reader(path, config):
        (rejects if isinstance(item, Reject) else rows).append(item)
    return rows, rejects


def calls_from(scenario: str, *sources: str, config: Config | None = None):
    """The calls assembled from the named sources of one sample scenario (read in the zone its
    Master.csv was written in); a source the scenario did not record is left out."""
    # the readers take the zone of the files' local times from ``timezone`` (ingest passes cdr_timezone)
    config = config or Config(timezone=sample_config(scenario).file_timezone)
    found = {k: SOURCES[k][1](SAMPLES / scenario / SOURCES[k][0], config)
             if k in sources and (SAMPLES / scenario / SOURCES[k][0]).exists() else () for k in SOURCES}
    return calls_from_files(found["cdr"], found["cel"], found["queue_log"], config, "pbx1")


def match(calls, truths: list[dict], within: float):
    """Pairs (call, truth) matched by caller number and invite time (the nearest within ``within`` s)."""
    pairs = []
    for call in calls:
        near = [t for t in truths if t["caller"] == call.caller]
        assert near, f"call {call.call_id}: no truth call from {call.caller!r}"
        t = min(near, key=lambda t: abs(t["invite_at"] - call.arrived_at))
        assert abs(t["invite_at"] - call.arrived_at) < within, f"call {call.call_id}: no truth call near its arrival"
        pairs.append((call, t))
    assert len({id(t) for _, t in pairs}) == len(truths), "some truth call matched no record"
    return pairs


@pytest.fixture
def master_lines() -> list[bytes]:
    """The real lines of the busiest sample Master.csv (140 records)."""
    return (SAMPLES / "j_load" / "Master.csv").read_bytes().splitlines(keepends=True)


@pytest.fixture
def write(tmp_path):
    """write(name, lines or bytes) -> path of a file in tmp_path."""

    def _write(name: str, content) -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else b"".join(content))
        return path

    return _write
