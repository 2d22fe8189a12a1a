"""An attended transfer read from Master.csv is ONE call, as it is from AMI and CEL.

No recording has an attended transfer, so the Master.csv below is WRITTEN BY HAND in the style
of the real ones (the columns of sample_cdr/*/Master.csv; records cut at a change of parties as
in sample_cdr/h_blind_transfer, where the transferred caller's next record starts when the
previous one ends): a customer calls 2001; 2001 puts them on hold and dials 2002 on a second
channel (its own record, with its own linkedid); 2002 answers; 2001 completes the transfer and
the customer talks to 2002.
"""

from __future__ import annotations

from callmon.calls import calls_from_files
from callmon.core.config import Config
from callmon.sources.files import read_cdr

L1, L2 = "1796549400.30", "1796549410.32"
MASTER = (
    # the customer's call to 2001, until the transfer
    f'"","01011900003","2001","from-pstn","""Customer"" <01011900003>","PJSIP/pstn-in-00000020","PJSIP/2001-00000021",'
    f'"Dial","PJSIP/2001,40,t","2026-12-06 09:30:00","2026-12-06 09:30:02","2026-12-06 09:30:20",20,18,"ANSWERED",'
    f'"DOCUMENTATION","{L1}","","","{L1}",30\n'
    # the consultation: 2001's second channel dials 2002, until the transfer
    f'"","2001","2002","from-staff","""Kim Agent"" <2001>","PJSIP/2001-00000022","PJSIP/2002-00000023",'
    f'"Dial","PJSIP/2002,40","2026-12-06 09:30:10","2026-12-06 09:30:13","2026-12-06 09:30:20",10,7,"ANSWERED",'
    f'"DOCUMENTATION","{L2}","","","{L2}",32\n'
    # the customer with 2002 after the transfer
    f'"","01011900003","2001","from-pstn","""Customer"" <01011900003>","PJSIP/pstn-in-00000020","PJSIP/2002-00000023",'
    f'"Dial","PJSIP/2001,40,t","2026-12-06 09:30:20","2026-12-06 09:30:20","2026-12-06 09:30:40",20,20,"ANSWERED",'
    f'"DOCUMENTATION","{L1}","","","{L1}",34\n'
)


def calls_of(tmp_path, text: str):
    path = tmp_path / "Master.csv"
    path.write_text(text)
    cfg = Config(timezone="UTC")
    return calls_from_files(read_cdr(path, cfg), config=cfg)


def test_consultation_merges_into_the_transferred_call(tmp_path):
    """Three records, two linkedids: one inbound call answered by 2001, transferred, 2002 among its legs."""
    (call,) = calls_of(tmp_path, MASTER)
    assert (call.call_id, call.direction, call.outcome, call.answered_by, call.transferred) == (
        L1, "inbound", "answered", "2001", True)
    assert "PJSIP/2002-00000023" in [leg.channel for leg in call.legs]


def test_a_channel_name_given_again_later_is_another_call(tmp_path):
    """Asterisk numbers channels again from 0 after a restart: the same party B name an hour later
    is not the same call."""
    later = MASTER.splitlines(keepends=True)[0].replace("09:30", "10:45").replace(L1, "1796553900.1")
    calls = calls_of(tmp_path, MASTER.splitlines(keepends=True)[0] + later)
    assert len(calls) == 2
