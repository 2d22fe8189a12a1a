"""Reading Master.csv: layouts, header or not, bad lines, encodings, zones, blocks."""

from __future__ import annotations

import csv
import io
import logging
import os

import pytest

from callmon.core.config import Config
from callmon.core.errors import InputError
from callmon.calls import calls_from_files
from callmon.sources.files import CdrRow, Reject, observed_utc_offset, read_cdr, read_cdr_batches
from callmon.sources.files.cdr import FIELDS
from tests.conftest import SAMPLES
from tests.samples import CFG, calls_from, rows_of

HEADER = ",".join(FIELDS[:-2]).encode() + b"\n"


def _fields(line: bytes) -> list[str]:
    return next(csv.reader([line.decode("utf-8")]))


def _line(fields: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(fields)
    return out.getvalue().encode("utf-8")


def test_real_file_reads_every_record(master_lines):
    """All 140 records of j_load, numbered by line, times as epoch seconds, nothing rejected."""
    rows, rejects = rows_of(SAMPLES / "j_load" / "Master.csv")
    assert rejects == [] and len(rows) == len(master_lines) == 140
    assert [r.line for r in rows] == list(range(1, 141))
    first = rows[0]
    assert (first.channel, first.dstchannel, first.disposition) == ("PJSIP/pstn-in-00000000", "PJSIP/2001-00000001", "ANSWERED")
    assert first.start == float(first.uniqueid.split(".")[0])  # written at the second the channel began


def test_header_row_gives_the_same_rows(master_lines, write):
    """A header line (a database export) is recognised and skipped; the records are the same."""
    plain, _ = rows_of(write("plain.csv", master_lines))
    headed, rejects = rows_of(write("headed.csv", [HEADER] + master_lines))
    assert rejects == []
    assert [r._replace(file="", line=r.line - 1) for r in headed] == [r._replace(file="") for r in plain]
    assert [r.key for r in headed] == [r.key for r in plain]


def test_file_without_newcdrcolumns_groups_calls_by_uniqueid(master_lines, write):
    """18 columns (no peeraccount, linkedid, sequence): read, hashed keys, the same 140 calls."""
    short = [line.rstrip(b"\n").rsplit(b",", 3)[0] + b"\n" for line in master_lines]
    rows, rejects = rows_of(write("old.csv", short))
    assert rejects == [] and len(rows) == 140
    assert {(r.linkedid, r.sequence) for r in rows} == {("", None)}
    assert all(r.key.startswith("cdr:h:") for r in rows) and len({r.key for r in rows}) == 140
    calls = calls_from_files(rows, config=CFG)
    full = calls_from("j_load", "cdr")
    assert [(c.call_id, c.outcome, c.answered_by) for c in calls] == [(c.call_id, c.outcome, c.answered_by) for c in full]


def test_base_columns_only_group_by_channel_chain(write):
    """16 columns (no uniqueid either): the two records of a blind transfer are one call by their channel."""
    lines = (SAMPLES / "h_blind_transfer" / "Master.csv").read_bytes().splitlines(keepends=True)
    base = [_line(_fields(line)[:16]) for line in lines]
    rows, rejects = rows_of(write("base.csv", base))
    assert rejects == [] and {r.uniqueid for r in rows} == {""}
    (call,) = calls_from_files(rows, config=CFG)
    assert (call.outcome, call.answered_by, call.transferred) == ("answered", "2001", True)


def test_wrong_column_count_is_rejected_and_the_rest_kept(master_lines, write):
    """A record missing a field is rejected with its line number; the other 139 are kept."""
    lines = list(master_lines)
    lines[4] = _line(_fields(lines[4])[:-1])
    rows, rejects = rows_of(write("short.csv", lines))
    assert len(rows) == 139
    assert [(r.line, r.reason) for r in rejects] == [(5, "expected 21 columns, found 20")]


def test_bad_date_is_rejected(master_lines, write):
    """An impossible start time is a reject naming the column and the value."""
    lines = list(master_lines)
    fields = _fields(lines[6])
    fields[9] = "2026-13-45 25:61:00"
    lines[6] = _line(fields)
    rows, rejects = rows_of(write("date.csv", lines))
    assert len(rows) == 139
    assert [(r.line, r.reason) for r in rejects] == [(7, "bad date in start: '2026-13-45 25:61:00'")]


def test_binary_junk_lines_are_rejected(master_lines, write):
    """NUL bytes, and bytes that are neither UTF-8 nor CP949, make a line junk; the rest is read."""
    lines = list(master_lines)
    lines[9] = lines[9][:30] + b"\x00\x00\x89PNG\x1a" + lines[9][30:]
    lines[20] = lines[20][:50] + b"\xff\xfe\xff" + lines[20][50:]
    rows, rejects = rows_of(write("junk.csv", lines))
    assert len(rows) == 138
    assert [r.line for r in rejects] == [10, 21]
    assert all(r.reason.startswith("binary junk") for r in rejects)


def test_truncated_last_line_is_rejected(master_lines, write):
    """A last line cut before its line end (a copy taken mid-write) is rejected, not half-read."""
    lines = master_lines[:-1] + [master_lines[-1][:-9]]  # cut inside the last fields
    rows, rejects = rows_of(write("cut.csv", lines))
    assert len(rows) == 139
    assert [(r.line, r.reason) for r in rejects] == [(140, "truncated last line (no line end at the end of the file)")]


def test_utf8_caller_names_are_read(master_lines, write):
    """Korean caller names in UTF-8 come out as text; the file is named UTF-8."""
    lines = [line.replace(b"Customer", "홍길동".encode("utf-8")) for line in master_lines]
    batches = list(read_cdr_batches(write("utf8.csv", lines), CFG))
    rows = [r for b in batches for r in b.rows]
    assert rows[0].clid == '"홍길동" <01071000001>'
    assert {b.encoding for b in batches} == {"utf-8"}


@pytest.mark.parametrize("block_bytes", [None, 4096])
def test_cp949_caller_names_are_read_and_the_encoding_named(master_lines, write, block_bytes):
    """A CP949 file (an older Korean setup) is read whole, and its batches say cp949."""
    lines = [line.decode("utf-8").replace("Customer", "홍길동").encode("cp949") for line in master_lines]
    path = write("cp949.csv", lines)
    batches = list(read_cdr_batches(path, CFG, block_bytes=block_bytes))
    rows = [r for b in batches for r in b.rows]
    assert [r for b in batches for r in b.rejects] == []
    assert len(rows) == 140 and rows[0].clid == '"홍길동" <01071000001>'
    assert {b.encoding for b in batches} == {"cp949"}


def test_one_cp949_line_in_a_utf8_file_is_read_per_line(master_lines, write):
    """Mixed encodings are decoded line by line and the batch says both."""
    lines = [line.replace(b"Customer", "홍길동".encode("utf-8")) for line in master_lines]
    lines[3] = master_lines[3].decode("utf-8").replace("Customer", "김민수").encode("cp949")
    (batch,) = list(read_cdr_batches(write("mixed.csv", lines), CFG))
    assert batch.rejects == [] and len(batch.rows) == 140
    assert batch.rows[3].clid.startswith('"김민수"') and batch.rows[4].clid.startswith('"홍길동"')
    assert batch.encoding == "utf-8+cp949"


def test_unreadable_files_raise_input_error(tmp_path):
    """A missing file or a directory is an InputError naming the file, raised before any row."""
    with pytest.raises(InputError, match="no such file") as err:
        read_cdr(tmp_path / "missing.csv", CFG)
    assert err.value.file == str(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="directory"):
        read_cdr(tmp_path, CFG)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_file_without_read_permission_raises_input_error(master_lines, write):
    """A file we may not read is an InputError naming the file."""
    path = write("secret.csv", master_lines)
    path.chmod(0)
    with pytest.raises(InputError, match="permission denied"):
        read_cdr(path, CFG)


def test_not_a_cdr_file_raises_input_error():
    """A CEL file given as CDR is refused at once, not rejected line by line."""
    with pytest.raises(InputError, match="not a cdr_csv file"):
        read_cdr(SAMPLES / "a_direct_fast_caller_hangs_up" / "cel.csv", CFG)


def test_local_times_are_read_in_the_configured_zone(caplog):
    """The same wall-clock times read in Asia/Seoul are 9 h earlier, and the mismatch with the
    uniqueid epochs is logged as a warning."""
    path = SAMPLES / "a_direct_fast_caller_hangs_up" / "Master.csv"
    utc, _ = rows_of(path)
    with caplog.at_level(logging.WARNING, logger="callmon.sources.files.cdr"):
        seoul, _ = rows_of(path, config=Config(timezone="Asia/Seoul"))
    assert seoul[0].start == utc[0].start - 9 * 3600
    assert "UTC+0" in caplog.text and "Asia/Seoul" in caplog.text
    assert observed_utc_offset(path) == 0.0


def test_blocks_split_anywhere_give_the_same_rows(master_lines, write):
    """Reading in tiny blocks (fast and line-by-line paths mixed) gives the same rows and rejects."""
    lines = list(master_lines)
    lines[70] = b"\x00junk\n"
    path = write("blocks.csv", lines)
    whole = list(read_cdr(path, CFG))
    pieces = [item for b in read_cdr_batches(path, CFG, block_bytes=1500) for item in b.rejects + b.rows]
    assert sorted(pieces, key=lambda i: i.line) == whole
    assert [i.line for i in whole if isinstance(i, Reject)] == [71]


def test_rows_rebuild_from_their_stored_columns():
    """columns() -> from_columns() gives the row back, also when the store returns text."""
    rows, _ = rows_of(SAMPLES / "d_queue_rna_then_answer" / "Master.csv")
    for row in rows:
        assert CdrRow.from_columns(row.columns()) == row
        as_text = {k: ("" if v is None else str(v)) for k, v in row.columns().items()}
        assert CdrRow.from_columns(as_text) == row


def test_keys_are_uniqueid_and_sequence():
    """The dedupe key is Asterisk's own numbering, unique over every sample record."""
    keys = []
    for path in sorted(SAMPLES.glob("*/Master.csv")):
        rows, _ = rows_of(path)
        keys += [r.key for r in rows]
        assert all(r.key == f"cdr:{r.uniqueid}:{r.sequence}" for r in rows)
    assert len(keys) == len(set(keys))


def test_database_export_with_calldate_works_out_answer_and_end(master_lines, write):
    """A cdr-table export (calldate, no answer/end columns): end = start + duration, answer = end - billsec."""
    names = ["calldate", "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata",
             "duration", "billsec", "disposition", "amaflags", "accountcode", "uniqueid", "userfield"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(names)
    for line in master_lines:
        d = dict(zip(FIELDS, _fields(line)))
        w.writerow([d["start"] if n == "calldate" else d[n] for n in names])
    rows, rejects = rows_of(write("export.csv", out.getvalue().encode()))
    original, _ = rows_of(SAMPLES / "j_load" / "Master.csv")
    assert rejects == [] and len(rows) == 140
    for got, want in zip(rows, original):
        assert got.end == got.start + got.duration
        assert got.answer == (got.end - got.billsec if got.billsec else None)
        assert (got.start, got.dstchannel, got.disposition) == (want.start, want.dstchannel, want.disposition)


def test_crlf_line_ends_and_blank_lines_read_like_the_original(master_lines, write):
    """A copy with Windows line ends and a blank line in it gives the same records, same line numbers
    for those before the blank line."""
    lines = [line.replace(b"\n", b"\r\n") for line in master_lines]
    lines.insert(100, b"\r\n")
    rows, rejects = rows_of(write("crlf.csv", lines))
    original, _ = rows_of(SAMPLES / "j_load" / "Master.csv")
    assert rejects == []
    assert [r._replace(file="", line=0) for r in rows] == [r._replace(file="", line=0) for r in original]
    assert [r.line for r in rows[:100]] == list(range(1, 101)) and rows[100].line == 102
