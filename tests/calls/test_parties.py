"""Staff or outside, from what the PBX shows (calls/parties.py), on real captures."""

from __future__ import annotations

from dataclasses import replace

from callmon.calls import calls_from_files
from callmon.calls.parties import Evidence, Parties, Sighting, decide
from callmon.calls.tracker import track_events
from callmon.core.config import Config, Employee
from callmon.sources.ami.framing import read_capture
from callmon.sources.files import read_cdr, read_cel
from tests.conftest import SAMPLES

D = SAMPLES / "d_queue_rna_then_answer"
UTC = Config(timezone="UTC")


def _renamed(tmp_path, name: str) -> dict:
    """d_queue_rna_then_answer with phone 2002 renamed ``PJSIP/lee-desk`` (its caller ID stays 2002):
    numbered 2001 and named lee-desk on one PBX."""
    out = {}
    for f in ("ami.raw", "Master.csv", "cel.csv"):
        path = tmp_path / f
        path.write_bytes((D / f).read_bytes().replace(b"PJSIP/2002-", f"PJSIP/{name}-".encode()))
        out[f] = path
    return out


def test_numbered_and_named_phones_on_one_pbx(tmp_path):
    """2001 (numbered) rings out, lee-desk (named, caller ID 2002) answers: both are staff; the
    answer is the named phone's extension, from AMI and from CEL; its leg keeps the channel."""
    files = _renamed(tmp_path, "lee-desk")
    events, _ = read_capture(files["ami.raw"])
    (ami,) = track_events(events, Config())
    (cel,) = calls_from_files(read_cdr(files["Master.csv"], UTC), read_cel(files["cel.csv"], UTC), config=UTC)
    for call in (ami, cel):
        assert (call.outcome, call.answered_by, call.direction) == ("answered", "2002", "inbound")
        assert [(leg.endpoint, leg.party) for leg in call.legs] == [("2001", "staff"), ("lee-desk", "staff")]
        assert call.legs[1].channel.startswith("PJSIP/lee-desk-")


def test_master_csv_alone_names_the_phone_by_what_the_pbx_told_before(tmp_path):
    """Master.csv of a queue call does not say a named phone's extension: alone it names the
    endpoint; once the PBX told it (an AMI call of that phone learnt), the extension."""
    files = _renamed(tmp_path, "lee-desk")
    (alone,) = calls_from_files(read_cdr(files["Master.csv"], UTC), config=UTC)
    assert (alone.outcome, alone.answered_by) == ("answered", "lee-desk")
    parties = Parties(Config())
    track_events(read_capture(files["ami.raw"])[0], Config(), parties=parties)
    (taught,) = calls_from_files(read_cdr(files["Master.csv"], UTC), config=UTC, parties=parties)
    assert taught.answered_by == "2002"


def test_the_configuration_settles_an_endpoint():
    """The directory makes an endpoint staff; an explicit staff_endpoint_pattern decides every
    endpoint, whatever the evidence."""
    phone_like = Evidence(own_numbers=["2001"])
    assert decide("agent1", phone_like, Config()).kind == "staff"
    explicit = Config(staff_endpoint_pattern=r"^agent\d$")
    assert decide("agent1", Evidence(outside_numbers=3), explicit).kind == "staff"
    assert decide("desk9", phone_like, explicit).kind == "outside"
    listed = replace(Config(), directory={"desk9": Employee("desk9", "Kim")})
    assert decide("desk9", Evidence(), listed) .strong


def test_weak_evidence_is_marked_weak():
    """Dialled as a short number, nothing else known: staff, but weak; no evidence: outside, weak."""
    p = Parties(Config())
    dialled = p.classify("agent2", [Sighting("agent2", dialled_as="2002")])
    assert (dialled.kind, dialled.strong, dialled.extension) == ("staff", False, "2002")
    assert (p.classify("mystery").kind, p.classify("mystery").strong) == ("outside", False)
    trunk = p.classify("carrier", [Sighting("carrier", own_number="01055501234", started=True)])
    assert (trunk.kind, trunk.strong) == ("outside", True)
