"""`callmon demo`: the README's first command replays a real capture live and shows verdicts."""

from __future__ import annotations

import json

from tests.conftest import SAMPLES, run_cli


def test_demo_replays_a_capture_live_and_summarises(sqlite_url):
    """The demo's listener stores every call of the replayed capture and prints the per-agent table."""
    result = run_cli("demo", "--speed", "0", "--capture", str(SAMPLES / "d_queue_rna_then_answer" / "ami.raw"),
                     "--db", sqlite_url)
    assert "per agent (1 calls)" in result.stdout
    (call,) = json.loads(run_cli("calls", "--format", "json", "--db", sqlite_url).stdout)
    assert (call["answered_by"], call["rings"], call["ring_rule"]) == ("2002", 5, "fail")
