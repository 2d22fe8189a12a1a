"""Reading queue_log: the pipe-separated file and a CSV export of the realtime table."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

from callmon.sources.files import QueueLogRow, read_queue_log
from tests.conftest import SAMPLES
from tests.samples import CFG, rows_of

QL = SAMPLES / "j_load" / "queue_log"


def test_every_line_is_a_row_with_its_data_fields():
    """401 lines, time in epoch seconds, data fields in Asterisk's positions."""
    rows, rejects = rows_of(QL, read_queue_log)
    assert rejects == [] and len(rows) == 401
    connect = next(r for r in rows if r.event == "CONNECT")
    assert (connect.time, connect.callid, connect.queuename, connect.agent) == (1795376839.0, "1795376837.0", "support", "Kim Agent")
    assert (connect.data1, connect.data2, connect.data3) == ("1", "1795376838.1", "1")


def test_bad_queue_log_lines_are_rejected(write):
    """Too few fields, a bad time, a cut last line: rejected with their numbers, the rest kept."""
    lines = QL.read_bytes().splitlines(keepends=True)
    lines[0] = b"|".join(lines[0].split(b"|")[:3]) + b"\n"
    lines[1] = b"soon" + lines[1][10:]
    lines[-1] = lines[-1].rstrip(b"\n")
    rows, rejects = rows_of(write("queue_log", lines), read_queue_log)
    assert len(rows) == 398
    assert [(r.line, r.reason.split(":")[0].split(" (")[0]) for r in rejects] == [
        (1, "expected at least 5 fields"), (2, "bad time"), (401, "truncated last line")]


def test_csv_export_with_a_data_column_gives_the_same_rows(write):
    """An export of the queue_log table (header, local times, one ``data`` column) reads as the file."""
    original, _ = rows_of(QL, read_queue_log)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["time", "callid", "queuename", "agent", "event", "data"])
    for line in QL.read_text().splitlines():
        t, callid, queue, agent, event, *data = line.split("|")
        w.writerow([datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%d %H:%M:%S"), callid, queue, agent, event, "|".join(data)])
    exported, rejects = rows_of(write("ql.csv", out.getvalue().encode()), read_queue_log)
    assert rejects == []
    assert [r.key for r in exported] == [r.key for r in original]


def test_queue_log_rows_rebuild_from_their_stored_columns():
    """columns() -> from_columns() gives each row back; the same line twice has one key."""
    rows, _ = rows_of(QL, read_queue_log)
    assert [QueueLogRow.from_columns(r.columns()) for r in rows] == rows
    assert rows[0]._replace(line=99).key == rows[0].key
