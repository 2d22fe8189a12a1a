"""The call assembler: grouping rows per call, streaming a long file, sources that overlap in part."""

from __future__ import annotations

from dataclasses import replace

from callmon.core.config import Employee
from callmon.calls import FileCalls, calls_from_files
from callmon.sources.files import read_cdr, read_cdr_batches, read_cel, read_queue_log
from tests.conftest import SAMPLES
from tests.samples import CFG, calls_from, rows_of

J = SAMPLES / "j_load"


def test_streaming_with_a_horizon_gives_the_same_calls():
    """Feeding Master.csv block by block and taking the calls older than a 2-minute horizon, then
    the rest, gives exactly the calls of the whole file at once."""
    assembler = FileCalls(CFG, "pbx1")
    streamed = []
    for batch in read_cdr_batches(J / "Master.csv", CFG, block_bytes=4096):
        assembler.add(batch.rows)
        streamed += assembler.pop_ready(max(r.end for r in batch.rows) - 120)
    assert streamed, "the horizon released some calls before the end"
    streamed += assembler.finish()
    assert sorted(streamed, key=lambda c: c.call_id) == sorted(calls_from("j_load", "cdr"), key=lambda c: c.call_id)


def test_rows_of_one_call_from_three_files_make_one_call():
    """Each j_load call is one record naming the sources it came from, not one per file."""
    calls = calls_from("j_load", "cdr", "cel", "queue_log")
    assert len(calls) == 140 == len({c.call_id for c in calls})
    in_queue_log = {r.callid for r in rows_of(J / "queue_log", read_queue_log)[0]}
    assert all(c.sources == ("cdr", "cel", "queue_log") for c in calls if c.call_id in in_queue_log)


def test_cel_of_some_calls_completes_only_those():
    """A CEL file covering part of the period: its calls get CEL's hang-up side, the others keep CDR's view."""
    cel_rows, _ = rows_of(J / "cel.csv", read_cel)
    cdr_rows, _ = rows_of(J / "Master.csv")
    covered = {r.linkedid for r in cel_rows[: len(cel_rows) // 2]}
    part = [r for r in cel_rows if r.linkedid in covered]
    calls = calls_from_files(cdr_rows, part, (), CFG, "pbx1")
    assert len(calls) == 140
    for call in calls:
        if call.call_id in covered:
            assert call.sources == ("cdr", "cel") and call.hangup_by is not None
        else:
            assert call.sources == ("cdr",)
            assert call.hangup_by is None or call.outcome != "answered"


def test_queue_log_alone_names_the_member_from_the_directory():
    """From queue_log only, the answering member's name is turned into its extension by the directory."""
    config = replace(CFG, directory={"2002": Employee("2002", "Lee Agent")})
    (call,) = calls_from_files((), (), read_queue_log(SAMPLES / "d_queue_rna_then_answer" / "queue_log", config), config, "pbx1")
    assert (call.outcome, call.answered_by, call.hangup_by, call.sources) == ("answered", "2002", "customer", ("queue_log",))


def test_rejects_in_the_row_stream_are_ignored(write):
    """A reader's rejects may be passed straight to the assembler with the rows."""
    lines = (J / "Master.csv").read_bytes().splitlines(keepends=True)
    lines[0] = b"\x00" + lines[0]
    calls = calls_from_files(read_cdr(write("m.csv", lines), CFG), config=CFG)
    assert len(calls) == 139
