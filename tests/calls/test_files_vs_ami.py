"""A call imported from Asterisk's files equals the same call followed over AMI, field by field
where both know the field."""

from __future__ import annotations

from dataclasses import fields

import pytest

from callmon.sources.ami.framing import read_capture
from callmon.calls.tracker import track_events
from callmon.core.config import Config
from callmon.core.model import Call, Leg
from tests.conftest import CEL_SCENARIOS, SAMPLES, SCENARIOS
from tests.samples import calls_from

TIMES = {"arrived_at", "first_ring_at", "answered_at", "ended_at", "created_at", "ring_started_at", "ring_ended_at"}


def _ami(scenario: str) -> dict[str, Call]:
    events, _ = read_capture(SAMPLES / scenario / "ami.raw")
    return {c.call_id: c for c in track_events(events, Config(), "pbx1")}


def _same(name: str, a, b, tolerance: float) -> bool:
    if name in TIMES and a is not None and b is not None:
        return abs(a - b) <= tolerance
    return a == b


def _leg_known_to_both(name: str, leg: Leg) -> bool:
    # A leg that never rang (busy at once) has no ring end in the files; the tracker closes it
    # at the DialEnd. Both end ringing at the answer, or at the end of the dial.
    return name != "ring_ended_at" or leg.ring_started_at is not None


@pytest.mark.parametrize("scenario", CEL_SCENARIOS)
def test_three_files_equal_ami_field_by_field(scenario):
    """CDR + CEL + queue_log: every Call and Leg field equals the AMI record's (times within 50 ms)."""
    ami = _ami(scenario)
    files = {c.call_id: c for c in calls_from(scenario, "cdr", "cel", "queue_log")}
    assert files.keys() == ami.keys()
    for call_id, a in ami.items():
        f = files[call_id]
        for field in fields(Call):
            name = field.name
            if name in ("legs", "sources"):
                continue
            a_value, f_value = getattr(a, name), getattr(f, name)
            if name == "uniqueids":
                a_value, f_value = set(a_value), set(f_value)
            assert _same(name, a_value, f_value, 0.05), f"call {call_id}: {name} {a_value!r} != {f_value!r}"
        assert [leg.channel for leg in f.legs] == [leg.channel for leg in a.legs], f"call {call_id}"
        for a_leg, f_leg in zip(a.legs, f.legs):
            for field in fields(Leg):
                if _leg_known_to_both(field.name, a_leg):
                    a_value, f_value = getattr(a_leg, field.name), getattr(f_leg, field.name)
                    assert _same(field.name, a_value, f_value, 0.05), f"call {call_id} leg {a_leg.channel}: {field.name}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cdr_alone_equals_ami_in_what_cdr_knows(scenario):
    """Master.csv alone: direction, parties, outcome, answerer, transfer, legs and their statuses
    equal AMI's; times within a second (where CDR has them)."""
    ami = _ami(scenario)
    files = {c.call_id: c for c in calls_from(scenario, "cdr")}
    assert files.keys() == ami.keys()
    for call_id, a in ami.items():
        f = files[call_id]
        for name in ("direction", "caller", "outcome", "answered_by", "transferred", "queue"):
            assert getattr(f, name) == getattr(a, name), f"call {call_id}: {name}"
        for name in ("arrived_at", "ended_at", "first_ring_at", "answered_at"):
            if getattr(f, name) is not None:
                assert getattr(f, name) == pytest.approx(getattr(a, name), abs=1.0), f"call {call_id}: {name}"
        assert [(leg.channel, leg.party, leg.dial_status) for leg in f.legs] == [
            (leg.channel, leg.party, leg.dial_status) for leg in a.legs], f"call {call_id}"
