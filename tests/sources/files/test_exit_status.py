"""`callmon ingest` of a small file exits 0, every time.

It used to abort at exit now and then (status 134, ``terminate called without an active
exception``; 14 of 320 runs of a small CEL file, 4 side by side): pyarrow's CSV reader had been
lent a Python ``bytes`` buffer, and a worker thread released it while the interpreter shut down.
Each import runs in its own process, as cron or systemd would start it.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle, islice

import pytest

from tests.conftest import ROOT, SAMPLES

SMALL_FILES = [  # (kind, file, rows)
    ("cdr", SAMPLES / "a_direct_fast_caller_hangs_up" / "Master.csv", 1),
    ("cel", SAMPLES / "a_direct_fast_caller_hangs_up" / "cel.csv", 13),
    ("queue_log", SAMPLES / "d_queue_rna_then_answer" / "queue_log", 4),
]
SIDE_BY_SIDE = 4


def ingest_many(tmp_path, runs: int) -> None:
    """``runs`` imports of the small files in turn, 4 processes at a time, each into its own
    database; every one must exit 0 with its normal summary."""

    def one(job):
        i, (kind, path, rows) = job
        result = subprocess.run(
            [sys.executable, "-m", "callmon", "ingest", str(path), "--kind", kind, "--db", f"sqlite:///{tmp_path / f'{i}.db'}",
             "--config", str(SAMPLES / "callmon.toml")],
            capture_output=True, text=True, cwd=ROOT, timeout=300)
        return kind, rows, result

    jobs = enumerate(islice(cycle(SMALL_FILES), runs))
    with ThreadPoolExecutor(SIDE_BY_SIDE) as pool:
        results = list(pool.map(one, jobs))
    failed = [(kind, r.returncode, r.stderr[-300:]) for kind, _, r in results if r.returncode != 0]
    assert not failed, f"{len(failed)} of {runs} runs failed: {failed[:3]}"
    for kind, rows, r in results:
        assert f": {kind}, {rows} rows ({rows} new)" in r.stdout and "0 line(s) rejected" in r.stdout


def test_small_file_imports_exit_0_every_time(tmp_path):
    ingest_many(tmp_path, 12)


@pytest.mark.slow
def test_small_file_imports_exit_0_two_hundred_times_in_a_row(tmp_path):
    """The issue's bar: 200 of 200."""
    ingest_many(tmp_path, 200)
