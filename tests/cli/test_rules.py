"""The shared captures through the real CLI give the rule results their truth implies: the
customer's view on each call, the agents' view on each phone that rang, the hang-up side, and
one callback obligation per unanswered call; the rules follow the TOML config.

Expectations are computed here from truth.json (the phones' own SIP traces) with the Korean
cadence: ring 3 starts 6.0 s after the first ring."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import pytest

from callmon.storage import Store
from tests.conftest import LEG_SCENARIOS, SAMPLES, expected, run_cli, truth

SCENARIOS = LEG_SCENARIOS  # judged leg by leg: the scenarios whose truth lists the legs

ALL = [str(SAMPLES / s / "ami.raw") for s in SCENARIOS]
LIMIT = 6.0


def ring_verdict(seconds: float | None, answered: bool) -> str:
    if seconds is None:
        return "na"
    if answered:
        return "pass" if seconds < LIMIT else "fail"
    return "fail" if seconds >= LIMIT else "na"


def leg_seconds(leg: dict, t: dict) -> float | None:
    end = next((x for x in (leg["answered_at"], leg["cancelled_at"], leg["hung_up_at"], leg["was_hung_up_at"],
                            t["ended_at"]) if x is not None), None)
    return None if leg["ringing_at"] is None or end is None else end - leg["ringing_at"]


def expected_rules(t: dict) -> tuple[str, str]:
    """(ring rule, hang-up rule) the truth implies for one call."""
    e = expected(t)
    staff = [leg for leg in t["legs"] if leg["phone"] != "customer" and leg["ringing_at"] is not None]
    if e["direction"] != "inbound":
        ring = "na"
    elif t["answered_at"] is not None:
        ring = ring_verdict(t["ring_seconds"], True)
    elif staff:
        end = max(leg["ringing_at"] + leg_seconds(leg, t) for leg in staff)
        ring = ring_verdict(end - min(leg["ringing_at"] for leg in staff), False)
    else:
        ring = "na"
    if t["answered_at"] is None or e["direction"] == "internal":
        hangup = "na"
    else:
        hangup = {"agent": "fail", "customer": "pass"}.get(e["hangup_by"], "na")
    return ring, hangup


def matched(calls: list[dict]) -> list[tuple[dict, dict]]:
    """Each stored call with its truth (same caller, nearest start)."""
    truths = [t for s in SCENARIOS for t in truth(s)]
    out = []
    for c in calls:
        arrived = datetime.fromisoformat(c["arrived_at"]).timestamp()
        out.append((c, min((t for t in truths if t["caller"] == c["caller"]), key=lambda t: abs(t["invite_at"] - arrived))))
    return out


def test_captures_give_the_rule_results_their_truth_implies(db_url):
    """Every call of every capture: ring rule and hang-up rule; every phone that rang: the agent's
    ring verdict; every unanswered inbound call: one obligation, referenced by the call."""
    run_cli("ingest", *ALL, "--db", db_url)
    calls = json.loads(run_cli("calls", "--format", "json", "--db", db_url).stdout)
    pairs = matched(calls)
    assert len(pairs) == sum(len(truth(s)) for s in SCENARIOS)
    for c, t in pairs:
        assert (c["ring_rule"], c["hangup_rule"]) == expected_rules(t), (c["call_id"], c["ring_reason"])

    want = Counter((leg["phone"], ring_verdict(leg_seconds(leg, t), leg["answered_at"] is not None))
                   for c, t in pairs if c["direction"] == "inbound"
                   for leg in t["legs"] if leg["phone"] != "customer" and leg["ringing_at"] is not None)
    store = Store(db_url)
    results = store.agent_results_frame("default")
    store.dispose()
    ring = results[results["rule"] == "answer_before_ring"]
    assert Counter(zip(ring["extension"], ring["result"])) == want
    hangups = results[results["rule"] == "agent_hangs_up_last"]
    assert sorted(hangups["result"]) == sorted(c["hangup_rule"] for c in calls if c["hangup_rule"] != "na")

    # seen from after every capture (m-p were recorded in December 2026): each is past its due time
    callbacks = json.loads(run_cli("callbacks", "--format", "json", "--at", "2027-01-29T12:00", "--db", db_url).stdout)
    missed = [c for c in calls if c["direction"] == "inbound" and c["answered_at"] is None]
    assert sorted(cb["missed_call_ids"][0] for cb in callbacks) == sorted(c["call_id"] for c in missed)
    by_id = {cb["callback_id"]: cb for cb in callbacks}
    for c in missed:
        assert by_id[c["callback_id"]]["number"] == "+82" + c["caller"][1:]
        assert by_id[c["callback_id"]]["status"] == "overdue"  # nobody called them back


@pytest.mark.parametrize("toml, rings, ring_rule", [
    ("", 3, "fail"),                                       # kr, before ring 3: 7.5 s is ring 3
    ("[rules]\nring_limit = 4\n", 3, "pass"),              # ring 4 starts at 9 s
    ('[rules]\ncadence = "uk"\n', 6, "fail"),              # 0.4/0.2/0.4/2.0: bursts at 0, 0.6, 3, 3.6, 6, 6.6 s
    ("[rules]\ncadence = [1.0, 4.0]\n", 2, "pass"),        # custom 1 s on, 4 s off: ring 3 at 10 s
])
def test_ring_rule_follows_the_config(sqlite_url, tmp_path, toml, rings, ring_rule):
    """[rules] cadence (profile or custom pattern) and ring_limit, on b (answered after 7.5 s)."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text(toml, encoding="utf-8")
    run_cli("ingest", str(SAMPLES / "b_direct_late_agent_hangs_up" / "ami.raw"), "--db", sqlite_url, "--config", str(cfg))
    (c,) = json.loads(run_cli("calls", "--format", "json", "--db", sqlite_url).stdout)
    assert (c["rings"], c["ring_rule"], c["hangup_rule"]) == (rings, ring_rule, "fail")
