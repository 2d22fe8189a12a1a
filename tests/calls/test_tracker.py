"""The tracker on real Asterisk captures, judged by the phones' own SIP traces (truth.json)."""

from __future__ import annotations

import pytest

from callmon.sources.ami.framing import read_capture
from callmon.calls.tracker import CallTracker, track_events
from callmon.core.config import Config
from tests.conftest import SAMPLES, SCENARIOS, expected, same_fields, truth


def _calls(scenario: str):
    events, _ = read_capture(SAMPLES / scenario / "ami.raw")
    return track_events(events, Config())


def assert_matches_truth(call, t: dict) -> None:
    exp = expected(t)
    got, want = same_fields(call, exp, ("caller", "called", "direction", "outcome", "answered_by", "hangup_by", "transferred"))
    assert got == want, f"call {call.call_id}"
    if exp["ring_seconds"] is None:
        assert call.ring_seconds is None
    else:
        assert call.ring_seconds == pytest.approx(exp["ring_seconds"], abs=0.3)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_tracker_agrees_with_truth(scenario):
    """Every call of every capture: outcome, answered_by, hangup_by, transferred, ring seconds."""
    calls = _calls(scenario)
    truths = truth(scenario)
    assert len(calls) == len(truths)
    by_caller = {}
    for t in truths:
        by_caller.setdefault(t["caller"], []).append(t)
    for call in calls:
        candidates = by_caller[call.caller]
        t = min(candidates, key=lambda t: abs(t["invite_at"] - call.arrived_at))
        assert abs(t["invite_at"] - call.arrived_at) < 0.1
        assert_matches_truth(call, t)
        assert not call.incomplete


def test_queue_call_is_not_answered_by_the_pbx():
    """The dialplan's Answer() before Queue() is not a staff answer: answered_at is the phone's."""
    (call,) = _calls("e_queue_abandon")
    (t,) = truth("e_queue_abandon")
    assert t["pbx_answered_at"] is not None
    assert call.answered_at is None and call.outcome == "abandoned" and call.queue == "support"


def test_ring_starts_at_the_leg_ringing_not_at_dial_begin():
    """first_ring_at is the first 180 Ringing of a staff phone (Newstate 5), within 10 ms."""
    for scenario in ("a_direct_fast_caller_hangs_up", "d_queue_rna_then_answer", "i_ring_group"):
        (call,) = _calls(scenario)
        (t,) = truth(scenario)
        assert call.first_ring_at == pytest.approx(t["first_ring_at"], abs=0.01)


def test_transfer_target_shows_in_the_legs():
    """After a blind transfer the call keeps its Linkedid; the target phone is one of its legs."""
    (call,) = _calls("h_blind_transfer")
    (t,) = truth("h_blind_transfer")
    phones = [leg.endpoint for leg in call.legs]
    assert phones == [leg["phone"] for leg in t["legs"]]
    target = call.legs[1]
    assert target.answered_at == pytest.approx(t["legs"][1]["answered_at"], abs=0.01)


def test_queue_legs_keep_each_agent_ring_window():
    """A queue leg that rang out keeps its own ring window (8 s), the next agent's its own."""
    (call,) = _calls("d_queue_rna_then_answer")
    (t,) = truth("d_queue_rna_then_answer")
    first, second = call.legs
    assert first.dial_status == "NOANSWER" and first.answered_at is None
    assert first.ring_seconds == pytest.approx(t["legs"][0]["cancelled_at"] - t["legs"][0]["ringing_at"], abs=0.05)
    assert second.ring_seconds == pytest.approx(t["legs"][1]["answered_at"] - t["legs"][1]["ringing_at"], abs=0.05)


def test_stream_cut_mid_call_flushes_it_incomplete():
    """A stream that ends while a call is up gives that call marked incomplete, never guessed."""
    events, _ = read_capture(SAMPLES / "a_direct_fast_caller_hangs_up" / "ami.raw")
    cut = [e for e in events if e.name != "Hangup"]
    tracker = CallTracker(Config())
    finished = [c for e in cut for c in tracker.feed(e)]
    assert finished == []
    (call,) = tracker.flush()
    assert call.incomplete and call.outcome == "answered" and call.hangup_by == "customer"


def test_active_shows_a_ringing_call_before_it_ends():
    """While a call rings, active() shows it with its ring start and no answer."""
    events, _ = read_capture(SAMPLES / "c_direct_abandon" / "ami.raw")
    tracker = CallTracker(Config())
    for e in events:
        tracker.feed(e)
        if e.name == "Newstate" and e.get("ChannelState") == "5":
            break
    (live,) = tracker.active()
    assert live.first_ring_at == e.timestamp and live.answered_at is None


def test_late_event_of_a_finished_call_makes_no_ghost_call():
    """An event arriving after its call ended is dropped, not turned into a second call."""
    events, _ = read_capture(SAMPLES / "a_direct_fast_caller_hangs_up" / "ami.raw")
    last_hangup = max(i for i, e in enumerate(events) if e.name == "Hangup")
    replay = events + [events[last_hangup]]
    assert len(track_events(replay, Config())) == 1


def test_events_without_timestamp_do_not_crash_the_tracker():
    """The foreign transcripts (no Timestamp, Local channels) give calls or nothing, never a crash."""
    from tests.conftest import ROOT

    for path in sorted((ROOT / "tests" / "fixtures" / "foreign-ami").glob("*.raw")):
        events, _ = read_capture(path)
        for call in track_events(events, Config()):
            assert call.outcome in ("answered", "abandoned", "no_answer", "busy", "failed", "voicemail")


def test_a_call_that_cannot_be_assembled_is_skipped_and_the_stream_goes_on(monkeypatch, caplog):
    """One broken call is logged and left out; feed never hands back a None (the listener's
    writer would die on it) and the calls after it still come out."""
    from callmon.calls import tracker as tracker_module

    events, _ = read_capture(SAMPLES / "j_load" / "ami.raw")
    good = track_events(events, Config())
    broken = good[0].call_id
    real = tracker_module.assemble

    def assemble(evs, *args, **kwargs):
        if any(e.linkedid == broken for e in evs):
            raise ValueError("a bug in one call's interpretation")
        return real(evs, *args, **kwargs)

    monkeypatch.setattr(tracker_module, "assemble", assemble)
    tracker = CallTracker(Config())
    out = [c for e in events for c in tracker.feed(e)]
    assert None not in out
    assert [c.call_id for c in out] == [c.call_id for c in good if c.call_id != broken and not c.incomplete]
    assert "could not be assembled" in caplog.text
