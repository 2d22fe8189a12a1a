"""The journal's rows made in one pass are the rows of its columns (the listener's batches use
the first, the import's bulk path the second)."""

from __future__ import annotations

from callmon.sources.ami.framing import read_capture
from callmon.service.pipeline import journal_row
from callmon.storage.store import JOURNAL_COLUMNS, JournalRow, journal_columns, journal_tuples
from tests.conftest import SAMPLES


def test_rows_are_the_columns_transposed():
    """Every event of a real capture, and file rows with a JSON payload and a line number: the
    same values in the same order (but the moment of writing, taken per call)."""
    events, _ = read_capture(SAMPLES / "h_blind_transfer" / "ami.raw")
    rows = [journal_row(e) for e in events]
    rows.append(JournalRow("cdr", "k1", 1.5, "x" * 80, "1.0", "1.1", {"src": "0101", "billsec": 3}, 7))
    rows.append(JournalRow("queue_log", "k2", None, "ENTERQUEUE", None, None, '["a","b"]', 8))
    got = journal_tuples("pbx1", "ami://10.0.0.1:5038", rows, file_id=3)
    want = list(zip(*journal_columns("pbx1", "ami://10.0.0.1:5038", rows, file_id=3)))
    at = JOURNAL_COLUMNS.index("ingested_at")
    assert len(got) == len(rows) > 100
    assert [t[:at] + t[at + 1:] for t in got] == [t[:at] + t[at + 1:] for t in want]
    assert abs(got[0][at] - want[0][at]) < 60 and {t[-1] for t in got} == {3}
    assert got[-2][4] == "x" * 64 and got[-2][7] == '{"src":"0101","billsec":3}'
