"""AMI framing: real captures in any chunking, bare line ends, damage of every kind."""

from __future__ import annotations

import logging

import pytest

from callmon.sources.ami.framing import FrameReader, read_capture
from tests.conftest import ROOT, SAMPLES

CAPTURE = SAMPLES / "d_queue_rna_then_answer" / "ami.raw"
FOREIGN = sorted((ROOT / "tests" / "fixtures" / "foreign-ami").glob("*.raw"))


def _events(data: bytes, step: int | None = None):
    reader = FrameReader("t")
    out = []
    if step is None:
        out.extend(reader.feed(data))
    else:
        for i in range(0, len(data), step):
            out.extend(reader.feed(data[i:i + step]))
    out.extend(reader.close())
    return out, reader.stats


def test_events_are_the_same_whatever_the_chunking():
    """Feeding a capture byte by byte gives exactly the events of feeding it whole."""
    data = CAPTURE.read_bytes()
    whole, _ = _events(data)
    for step in (1, 7, 4096):
        chunked, _ = _events(data, step)
        assert [e.headers for e in chunked] == [e.headers for e in whole]


def test_capture_event_count_matches_event_lines():
    """Every 'Event:' frame of a real capture becomes one event; the login response is not one."""
    data = CAPTURE.read_bytes()
    events, stats = _events(data)
    assert len(events) == data.count(b"\r\nEvent: ") + data.startswith(b"Event: ")
    assert stats.responses == 1 and stats.malformed == 0 and stats.truncated == 0


def test_bare_newlines_read_like_crlf():
    """A transcript with bare \\n line ends gives the same events as the \\r\\n original."""
    data = CAPTURE.read_bytes()
    a, _ = _events(data)
    b, _ = _events(data.replace(b"\r\n", b"\n"))
    assert [e.headers for e in a] == [e.headers for e in b]


def test_cut_off_last_frame_is_reported_not_parsed():
    """A stream cut in the middle of a frame keeps every complete event and reports the rest."""
    data = CAPTURE.read_bytes()
    full, _ = _events(data)
    cut = data[: data.rindex(b"\r\nEvent: ") + 40]  # into the last frame
    events, stats = _events(cut)
    assert [e.headers for e in events] == [e.headers for e in full[: len(events)]]
    assert len(events) == len(full) - 1
    assert stats.truncated == 1 and "cut-off" in stats.problems[0]


def test_junk_bytes_between_frames_are_counted_and_skipped(caplog):
    """Binary junk between frames is one malformed frame, logged; the events around it survive."""
    data = CAPTURE.read_bytes()
    full, _ = _events(data)
    at = data.index(b"Event: Newstate")
    damaged = data[:at] + b"\x00\xff\xfe garbage without colon\r\n\r\n" + data[at:]
    with caplog.at_level(logging.WARNING):
        events, stats = _events(damaged)
    assert [e.headers for e in events] == [e.headers for e in full]
    assert stats.malformed == 1
    assert "malformed frame" in caplog.text


def test_frame_without_event_or_response_is_malformed():
    """A frame of headers with no Event/Response/Action (a damaged header) is skipped and counted."""
    data = CAPTURE.read_bytes()
    at = data.index(b"Event: DialEnd")
    damaged = data[:at] + b"Evnt" + data[at + 5:]
    events, stats = _events(damaged)
    full, _ = _events(data)
    assert len(events) == len(full) - 1 and stats.malformed == 1


@pytest.mark.parametrize("path", FOREIGN, ids=lambda p: p.name)
def test_foreign_transcripts_read_without_crashing(path):
    """Older transcripts of another project (bare \\n, actions mixed in) are read; damage is counted."""
    events, stats = read_capture(path)
    assert events, "a transcript with events gives events"
    text = path.read_bytes().replace(b"\r\n", b"\n")
    frames_with_event = sum(1 for f in text.split(b"\n\n") if b"Event: " in f)
    # every frame holding an Event header is an event, or counted as damaged
    assert stats.events + stats.malformed + stats.truncated >= frames_with_event - stats.malformed


def test_unreadable_capture_is_a_clear_error(tmp_path):
    """A missing file raises InputError naming the file."""
    from callmon.core.errors import InputError

    with pytest.raises(InputError, match="nope.raw"):
        read_capture(tmp_path / "nope.raw")


def test_a_chunk_with_one_odd_frame_reads_each_frame_as_alone():
    """A chunk whose frames are canonical but for one (a key without its space, a stray CR, a
    name with '#') is read frame by frame: every frame is the event it is when fed alone."""
    frames = [b"Event: Newstate\r\nUniqueid: 1.1\r\nChannelState: 5\r\n\r\n",
              b"Event: Hangup\r\nUniqueid:1.1\r\nCause: 16\r\n\r\n",
              b"Event: VarSet\r\nValue: a\rb\r\n\r\n",
              b"Event: VarSet\r\nA#b: 1\r\n\r\n",
              b"Response: Success\r\nActionID: 1\r\n\r\n",
              b"Event: DialEnd\nUniqueid: 1.2\n\n\n\n"]
    alone = [e for f in frames for e in _events(f)[0]]
    together, stats = _events(b"".join(frames))
    assert [(e.name, e.text, e.headers) for e in together] == [(e.name, e.text, e.headers) for e in alone]
    assert [e.name for e in together] == ["Newstate", "Hangup", "VarSet", "VarSet", "DialEnd"]
    assert (stats.events, stats.responses, stats.malformed) == (5, 1, 0)
    assert together[1].headers["Uniqueid"] == "1.1"  # parsed, not canonical: the value without the missing space


def test_headers_ending_finds_in_the_text_what_the_parsed_headers_hold():
    """The ids the tracker asks for, found in an unparsed event's text, are its parsed
    headers with those suffixes, in order, first value of a repeated header, for every event
    of the real captures."""
    suffixes = [("Uniqueid", "Linkedid"), ("Uniqueid",), ("Channel",)]
    checked = 0
    for path in sorted(SAMPLES.glob("*/ami.raw")):
        for e in read_capture(path)[0]:
            if e._headers is not None:
                continue
            for suffix in suffixes:
                fresh = type(e)(e.name, text=e.text)
                assert fresh.headers_ending(suffix) == [(k, v) for k, v in e.headers.items() if k.endswith(suffix)]
                checked += 1
    assert checked > 1000
    odd = type(e)("X", text="Event: X\nUniqueid: 1\nVal: has Uniqueid: inside\nUniqueid: 3\nDestLinkedid: \n"
                            "BridgeUniqueid: 5\nLinkedid: 4")
    assert odd.headers_ending(("Uniqueid", "Linkedid")) == [
        ("Uniqueid", "1"), ("DestLinkedid", ""), ("BridgeUniqueid", "5"), ("Linkedid", "4")]


def test_journal_fields_are_the_events_own_key_time_and_ids():
    """What the journal keeps of an event, read off its text at once, is what its properties
    give one by one (also for an event without Linkedid, whose call is a prefixed one's)."""
    events = [e for path in sorted(SAMPLES.glob("*/ami.raw")) for e in read_capture(path)[0]]
    events.append(FrameReader().feed(b"Event: BlindTransfer\r\nTimestamp: 12.5\r\nTransfererLinkedid: 7.1\r\n\r\n")[0])
    for e in events:
        fresh = type(e)(e.name, text=e.text) if e._headers is None else e
        assert fresh.journal_fields() == (e.key, e.timestamp, e.call_linkedid, e.uniqueid, e.text)
    assert events[-1].journal_fields()[1:4] == (12.5, "7.1", None)
