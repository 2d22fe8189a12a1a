"""A call nobody answered, forwarded to an outside number that answered (follow-me, call forward
on no answer): the caller was served.

No recording has this shape, so the events and CDR rows below are WRITTEN BY HAND in the style of
the real ones (sample_cdr/o_voicemail up to the unanswered ring, then the dialplan of the lab
PBX's extension 2201: ``Dial(PJSIP/2001,10,t)`` then ``Dial(PJSIP/01099998888@pstn-out,60,t)``,
see sample_cdr/asterisk-config/extensions.conf): the AMI frames and Master.csv columns are
Asterisk's, the times are invented.
"""

from __future__ import annotations

import pytest

from callmon.calls import calls_from_files
from callmon.calls.tracker import track_events
from callmon.core.config import Config
from callmon.sources.ami.framing import read_capture
from callmon.sources.files import read_cdr

T0 = 1796549300.0
CALLER, MOBILE = "01011900002", "01099998888"
IN = {"Channel": "PJSIP/pstn-in-00000010", "CallerIDNum": CALLER, "Context": "from-pstn", "Exten": "2201",
      "Uniqueid": "1796549300.20", "Linkedid": "1796549300.20"}
PHONE = {"Channel": "PJSIP/2001-00000011", "CallerIDNum": "2001", "Context": "from-staff", "Exten": "s",
         "Uniqueid": "1796549300.21", "Linkedid": "1796549300.20"}
OUT = {"Channel": "PJSIP/pstn-out-00000012", "CallerIDNum": "<unknown>", "Context": "from-pstn", "Exten": "s",
       "Uniqueid": "1796549310.22", "Linkedid": "1796549300.20"}


def _dest(chan: dict) -> dict:
    return {"DestChannel": chan["Channel"], "DestCallerIDNum": chan["CallerIDNum"],
            "DestUniqueid": chan["Uniqueid"], "DestLinkedid": chan["Linkedid"]}


FRAMES = [  # (seconds after T0, event, headers)
    (0.001, "Newchannel", {**IN, "ChannelState": "4"}),
    (0.002, "Newchannel", {**PHONE, "ChannelState": "0"}),
    (0.003, "DialBegin", {**IN, "ChannelState": "4", **_dest(PHONE), "DialString": "2001"}),
    (0.004, "Newstate", {**PHONE, "ChannelState": "5"}),
    (0.005, "DialState", {**IN, "ChannelState": "4", **_dest(PHONE), "DialStatus": "RINGING"}),
    (10.004, "DialEnd", {**IN, "ChannelState": "4", **_dest(PHONE), "DialStatus": "NOANSWER"}),
    (10.005, "Hangup", {**PHONE, "ChannelState": "5", "Cause": "0"}),
    (10.010, "Newchannel", {**OUT, "ChannelState": "0"}),
    (10.011, "DialBegin", {**IN, "ChannelState": "4", **_dest(OUT), "DialString": f"{MOBILE}@pstn-out"}),
    (10.400, "Newstate", {**OUT, "ChannelState": "5"}),
    (10.401, "DialState", {**IN, "ChannelState": "4", **_dest(OUT), "DialStatus": "RINGING"}),
    (14.500, "Newstate", {**OUT, "ChannelState": "6"}),
    (14.501, "DialEnd", {**IN, "ChannelState": "4", **_dest(OUT), "DialStatus": "ANSWER"}),
    (14.502, "Newstate", {**IN, "ChannelState": "6"}),
    (30.000, "HangupRequest", {**IN, "ChannelState": "6"}),
    (30.001, "SoftHangupRequest", {**OUT, "ChannelState": "6", "Cause": "16"}),
    (30.002, "Hangup", {**OUT, "ChannelState": "6", "Cause": "16"}),
    (30.003, "Hangup", {**IN, "ChannelState": "6", "Cause": "16"}),
]

# Master.csv (UTC), as cdr_csv writes a Dial that rang out and the next Dial that was answered
MASTER = (
    f'"","{CALLER}","2201","from-pstn","""Customer"" <{CALLER}>","PJSIP/pstn-in-00000010","PJSIP/2001-00000011",'
    '"Dial","PJSIP/2001,10,t","2026-12-06 09:28:20",,"2026-12-06 09:28:30",10,0,"NO ANSWER","DOCUMENTATION",'
    '"1796549300.20","","","1796549300.20",20\n'
    f'"","{CALLER}","2201","from-pstn","""Customer"" <{CALLER}>","PJSIP/pstn-in-00000010","PJSIP/pstn-out-00000012",'
    f'"Dial","PJSIP/{MOBILE}@pstn-out,60,t","2026-12-06 09:28:30","2026-12-06 09:28:34","2026-12-06 09:28:50",20,16,'
    '"ANSWERED","DOCUMENTATION","1796549300.20","","","1796549300.20",22\n'
)


@pytest.fixture
def capture(tmp_path):
    text = "Asterisk Call Manager/12.0.0\r\nResponse: Success\r\nMessage: Authentication accepted\r\n\r\n"
    for dt, name, headers in FRAMES:
        text += f"Event: {name}\r\nPrivilege: call,all\r\nTimestamp: {T0 + dt:.6f}\r\n"
        text += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    path = tmp_path / "ami.raw"
    path.write_bytes(text.encode())
    return path


def test_forwarded_call_answered_outside_is_answered_by_that_number(capture):
    """AMI: the staff phone rang out, the forward's outside leg answered: answered, by the number
    it was forwarded to, ring time from the staff phone's ringing, the caller hung up first."""
    events, _ = read_capture(capture)
    (call,) = track_events(events, Config())
    assert (call.direction, call.outcome, call.answered_by, call.hangup_by) == ("inbound", "answered", MOBILE, "customer")
    assert call.ring_seconds == pytest.approx(14.5 - 0.004, abs=0.01)
    assert [(leg.endpoint, leg.party) for leg in call.legs] == [("2001", "staff"), ("pstn-out", "outside")]


def test_forwarded_call_from_master_csv_agrees_with_ami(capture, tmp_path):
    """Master.csv alone: the same outcome and answerer; ring time to the second."""
    path = tmp_path / "Master.csv"
    path.write_text(MASTER)
    (call,) = calls_from_files(read_cdr(path, Config(timezone="UTC")), config=Config(timezone="UTC"))
    events, _ = read_capture(capture)
    (ami,) = track_events(events, Config())
    assert (call.call_id, call.direction, call.outcome, call.answered_by) == (ami.call_id, "inbound", "answered", MOBILE)
    assert call.ring_seconds == pytest.approx(ami.ring_seconds, abs=1.0)
