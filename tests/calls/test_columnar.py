"""The column-wise path for calls of one Master.csv record gives the assembler's records exactly."""

from __future__ import annotations

import itertools
import sys
from collections import Counter

import pytest

from callmon.core.config import Config
from callmon.calls import calls_from_files
from callmon.sources.files import CdrRow, read_cdr
from callmon.calls.columnar import single_record_calls
from tests.conftest import ROOT, SAMPLES
from tests.samples import CFG, rows_of


def single_records(rows: list[CdrRow]) -> list[CdrRow]:
    """The records that are their call's only record (no id shared with another record)."""
    ids = Counter(i for r in rows for i in {r.uniqueid, r.linkedid} - {""})
    return [r for r in rows if all(ids[i] == 1 for i in {r.uniqueid, r.linkedid} - {""})]


def assert_same(rows: list[CdrRow], config: Config = CFG) -> int:
    fast, rest = single_record_calls(rows, config, "pbx1")
    slow = calls_from_files([r for r in rows if r not in rest], config=config, pbx="pbx1")
    assert sorted(fast, key=_key) == sorted(slow, key=_key)
    return len(fast)


def _key(call):
    return call.call_id, call.arrived_at


def test_equals_the_assembler_on_every_sample():
    """Every single-record call of the real samples, field by field (legs included)."""
    rows = [r for p in sorted(SAMPLES.glob("*/Master.csv")) for r in rows_of(p)[0]]
    assert assert_same(single_records(rows)) > 100


def test_equals_the_assembler_on_a_generated_file(tmp_path):
    """A benchmark file of 20,000 records made from the samples' real calls."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import import_speed
    finally:
        sys.path.pop(0)
    path = tmp_path / "Master.csv"
    import_speed.generate(path, 20_000)
    rows = [r for r in read_cdr(path, CFG)]
    assert assert_same(single_records(rows)) > 15_000


@pytest.mark.parametrize("lastapp", ["Dial", "Queue", "VoiceMail", "Playback"])
def test_equals_the_assembler_for_every_disposition_and_shape(lastapp):
    """Every disposition (and an unknown one), answered or not, with or without party B, a Local
    party B, no linkedid, inbound, outbound and internal."""
    base = rows_of(SAMPLES / "a_direct_fast_caller_hangs_up" / "Master.csv")[0][0]
    variants = []
    shapes = itertools.product(
        ("ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION", "CANCEL", "ODD"),
        (None, base.answer),
        ("PJSIP/2001-00000001", "", "Local/2001@from-staff-00000001;1", "PJSIP/pstn-out-00000002"),
        (("01010000001", "PJSIP/pstn-in-00000000"), ("2002", "PJSIP/2002-00000003")),
        (base.linkedid, ""),
    )
    for n, (disposition, answer, dst, (src, chan), lid) in enumerate(shapes):
        billsec = 0 if answer is None else base.billsec
        variants.append(base._replace(disposition=disposition, answer=answer, billsec=billsec, dstchannel=f"{dst}{n}" if dst else "", src=src,
                                      channel=f"{chan}{n}", lastapp=lastapp, lastdata="support,t" if lastapp == "Queue" else "",
                                      uniqueid=f"{base.uniqueid}{n}", linkedid=f"{lid}{n}" if lid else "", line=n))
    assert assert_same(variants) > 100


def test_endpoints_of_a_column_equal_endpoint_of():
    """The column-wise endpoint of each channel name is endpoint_of's, odd names included."""
    import pandas as pd

    from callmon.calls.interpret import endpoint_of
    from callmon.calls.columnar import _endpoints

    names = ["PJSIP/2001-00000001", "PJSIP/pstn-out-0000000d", "SIP/ddddd", "Local/259@default-0000;1", "", "x",
             "PJSIP/a-b-zz", "PJSIP/a-", "IAX2/foo-1a2B", "DAHDI/1-1", "PJSIP/-0001", "a/b/c-01", "PJSIP/x-0-0"]
    assert _endpoints(pd.Series(names)) == [endpoint_of(n) if n else "" for n in names]
