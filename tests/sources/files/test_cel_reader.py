"""Reading CEL: cel_custom's headerless CSV and a database export with a header row."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callmon.core.config import Config
from callmon.core.errors import InputError
from callmon.sources.files import CelRow, read_cel, read_cel_batches
from callmon.sources.files.cel import CEL_CUSTOM
from tests.conftest import SAMPLES
from tests.samples import CFG, rows_of

CEL = SAMPLES / "d_queue_rna_then_answer" / "cel.csv"
DB_COLUMNS = ["id", "eventtype", "eventtime", "userdeftype", "cid_name", "cid_num", "cid_ani", "cid_rdnis", "cid_dnid",
              "exten", "context", "channame", "appname", "appdata", "amaflags", "accountcode", "peeraccount",
              "uniqueid", "linkedid", "userfield", "peer", "extra"]


def _records(path=CEL) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return [dict(zip(CEL_CUSTOM, r)) for r in csv.reader(f)]


def test_cel_custom_rows_keep_microseconds_and_extra():
    """Every event of the file, its epoch time to the microsecond, its extra JSON as written."""
    rows, rejects = rows_of(CEL, read_cel)
    assert rejects == [] and len(rows) == len(_records())
    hangup = next(r for r in rows if r.eventtype == "HANGUP" and r.channame == "PJSIP/pstn-in-00000006")
    assert hangup.eventtime == 1795376642.876781
    assert '"hangupsource":"PJSIP/pstn-in-00000006"' in hangup.extra


def test_database_export_with_header_gives_the_same_events(write):
    """The cel table exported with its column names, other order, local times in the PBX zone:
    the same events, the same dedupe keys."""
    zone = "Asia/Seoul"
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(DB_COLUMNS)
    for i, rec in enumerate(_records(), 1):
        local = datetime.fromtimestamp(float(rec["eventtime"]), ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S.%f")
        w.writerow([i if c == "id" else local if c == "eventtime" else rec.get(c, "") for c in DB_COLUMNS])
    exported, rejects = rows_of(write("cel_export.csv", out.getvalue().encode()), read_cel, Config(timezone=zone))
    original, _ = rows_of(CEL, read_cel)
    assert rejects == []
    assert [r.key for r in exported] == [r.key for r in original]
    assert [r.eventtime for r in exported] == pytest.approx([r.eventtime for r in original], abs=1e-6)


def test_bad_cel_lines_are_rejected(write):
    """A line with a field missing, a bad event time, or junk is rejected with its number; the rest kept."""
    lines = CEL.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"1795376622.868314",', b"")
    lines[2] = lines[2].replace(b"1795376623.370580", b"yesterday")
    lines[3] = b"\x00\x01" + lines[3]
    rows, rejects = rows_of(write("bad_cel.csv", lines), read_cel)
    assert len(rows) == len(lines) - 3
    assert [(r.line, r.reason) for r in rejects] == [
        (2, "expected 20 columns, found 19"), (3, "bad event time: 'yesterday'"), (4, "binary junk (NUL bytes)")]


def test_cp949_caller_name_in_cel(write):
    """A CP949 caller name in CEL is decoded and the batch says so."""
    text = CEL.read_text(encoding="utf-8").replace("Customer", "홍길동")
    (batch,) = read_cel_batches(write("cel949.csv", text.encode("cp949")), CFG)
    assert batch.rejects == [] and batch.encoding == "cp949"
    assert batch.rows[0].cid_name == "홍길동"


def test_cel_rows_rebuild_from_their_stored_columns():
    """columns() -> from_columns() gives each CEL row back."""
    rows, _ = rows_of(CEL, read_cel)
    assert [CelRow.from_columns(r.columns()) for r in rows] == rows


def test_cel_keys_are_unique_over_the_samples():
    """No two events of the sample CEL files share a dedupe key; re-reading gives the same keys."""
    keys = [r.key for path in sorted(SAMPLES.glob("*/cel.csv")) for r in rows_of(path, read_cel)[0]]
    assert len(keys) == len(set(keys))
    assert [r.key for r in rows_of(CEL, read_cel)[0]] == [r.key for r in rows_of(CEL, read_cel)[0]]


def test_master_csv_given_as_cel_raises_input_error():
    """A file that is not CEL is refused at once."""
    with pytest.raises(InputError, match="not a CEL file"):
        read_cel(SAMPLES / "d_queue_rna_then_answer" / "Master.csv", CFG)
