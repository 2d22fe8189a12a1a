"""Helpers for the importer tests: the real sample files, read with the zone they were written in.

The sample Master.csv files were written in UTC wall-clock time (each record's ``start`` equals
the epoch in its uniqueid, to the second), although the PBX ran with ``TZ=Asia/Seoul``; CEL and
queue_log carry epoch seconds. So the samples are read with ``timezone = "UTC"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callmon.config import Config
from callmon.importers import Reject, read_cdr
from tests.conftest import SAMPLES

CFG = Config(timezone="UTC")


def rows_of(path: Path, reader=read_cdr, config: Config = CFG) -> tuple[list, list[Reject]]:
    """(rows, rejects) of one file."""
    rows, rejects = [], []
    for item in reader(path, config):
        (rejects if isinstance(item, Reject) else rows).append(item)
    return rows, rejects


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
