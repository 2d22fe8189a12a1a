"""`callmon endpoints` and the weak-evidence warning of `ingest`, through the real command line."""

from __future__ import annotations

import json

from tests.conftest import SAMPLES, run_cli

CHANSIP = SAMPLES / "chansip"
UTC_FILES = str(SAMPLES / "callmon.toml")


def endpoints(db: str) -> dict[str, dict]:
    return {e["endpoint"]: e for e in json.loads(run_cli("endpoints", "--format", "json", "--db", db).stdout)}


def test_endpoints_lists_what_the_pbx_showed(db_url):
    """AMI and Master.csv of the chan_sip PBX: agent1 is staff (its own caller ID is 2001), the
    trunk carrier outside; one call each, though two sources told of it."""
    a = CHANSIP / "a_direct_answer_2s5_caller_hangup"
    run_cli("ingest", str(a / "ami.raw"), str(a / "Master.csv"), "--db", db_url, "--config", UTC_FILES, "--pbx", "lab2")
    got = endpoints(db_url)
    assert set(got) == {"agent1", "carrier"}
    agent = got["agent1"]
    assert (agent["pbx"], agent["class"], agent["strong"], agent["extension"], agent["calls"]) == ("lab2", "staff", True, "2001", 1)
    assert agent["evidence"] == "own caller ID is extension 2001"
    assert (got["carrier"]["class"], got["carrier"]["strong"]) == ("outside", True)
    assert got["agent1"]["first_seen"].startswith("2026-11-23T05:22:24")
    table = run_cli("endpoints", "--db", db_url).stdout
    assert "agent1" in table and "엔드포인트" in table


def test_ingest_warns_once_per_endpoint_on_weak_evidence(sqlite_url, tmp_path):
    """Master.csv alone of two busy calls: agent2 and agent3 are phones only because they were
    dialled as 2002 and 2003: ingest says so once each, with the line that settles it; with that
    line in the configuration it says nothing and the class is strong."""
    g = str(CHANSIP / "g_busy_486" / "Master.csv")
    out = run_cli("ingest", g, "--db", sqlite_url, "--config", UTC_FILES)
    warned = [line for line in out.stderr.splitlines() if "weak evidence" in line]
    assert len(warned) == 2 and "'agent2'" in warned[0] and '[directory] "2002"' in warned[0]
    assert run_cli("ingest", g, "--db", sqlite_url, "--config", UTC_FILES).stderr.count("weak evidence") == 0

    settled = tmp_path / "settled.toml"
    settled.write_text('[pbx]\ncdr_timezone = "UTC"\n[directory]\n"2002" = { name = "Lee" }\n"2003" = { name = "Park" }\n')
    db = f"sqlite:///{tmp_path / 'settled.db'}"
    out = run_cli("ingest", g, "--db", db, "--config", str(settled))
    assert "weak evidence" not in out.stderr
    got = json.loads(run_cli("endpoints", "--format", "json", "--db", db, "--config", str(settled)).stdout)
    assert {(e["endpoint"], e["class"], e["strong"]) for e in got} >= {("agent2", "staff", True), ("agent3", "staff", True)}
