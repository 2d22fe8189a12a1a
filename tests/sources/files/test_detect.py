"""``--kind auto``: telling AMI captures, Master.csv, CEL and queue_log apart by their first lines."""

from __future__ import annotations

import pytest

from callmon.core.errors import InputError
from callmon.sources.files import detect_kind
from callmon.sources.files.cdr import FIELDS
from tests.conftest import SAMPLES, SCENARIOS

FILES = {"ami.raw": "ami", "Master.csv": "cdr", "cel.csv": "cel"}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_sample_file_is_recognised(scenario):
    """Each real capture, Master.csv, CEL file (where the PBX kept one) and (non-empty) queue_log is
    named for what it is."""
    for name, kind in FILES.items():
        if name == "cel.csv" and not (SAMPLES / scenario / name).exists():
            continue  # the chan_sip PBX kept no CEL
        assert detect_kind(SAMPLES / scenario / name) == kind
    queue_log = SAMPLES / scenario / "queue_log"
    if queue_log.stat().st_size:
        assert detect_kind(queue_log) == "queue_log"


def test_header_exports_are_recognised(write):
    """CSV exports with their tables' column names are recognised by the header."""
    cdr_lines = (SAMPLES / "a_direct_fast_caller_hangs_up" / "Master.csv").read_bytes()
    assert detect_kind(write("cdr.csv", ",".join(FIELDS[:-2]).encode() + b"\n" + cdr_lines)) == "cdr"
    assert detect_kind(write("cel.csv", b"id,eventtype,eventtime,channame,uniqueid,linkedid,extra\n")) == "cel"
    assert detect_kind(write("ql.csv", b"time,callid,queuename,agent,event,data1\n")) == "queue_log"


def test_unknown_or_empty_files_raise_input_error(write):
    """A file of none of the kinds, or an empty one, is an InputError asking for --kind."""
    with pytest.raises(InputError, match="--kind"):
        detect_kind(SAMPLES / "README.md")
    with pytest.raises(InputError, match="empty"):
        detect_kind(write("empty", b""))
    with pytest.raises(InputError, match="no such file"):
        detect_kind(SAMPLES / "nothing-here.csv")
