"""The import helper reads a Master.csv as columns (no row object per record): its journal rows,
its single-record calls and the records left for the assembler are those of the row path."""

from __future__ import annotations

import pytest

from callmon.calls.parties import Parties
from callmon.service import ingest
from callmon.service.pipeline import Preparer
from callmon.service.reconcile import split_single
from callmon.sources.files import read_cdr_batches
from callmon.storage.store import JOURNAL_COLUMNS, journal_columns
from tests.conftest import SAMPLES
from tests.service.test_write_records import CONFIG, generated


def _files(tmp_path):
    path = generated(tmp_path, 6_000, numbers=40)
    lines = path.read_text().splitlines(keepends=True)
    odd = tmp_path / "odd" / "Master.csv"  # a line twice (kept once) and a line rejected
    odd.parent.mkdir()
    odd.write_text("".join(lines[:300]) + lines[10] + "not,a,cdr,line\n" + "".join(lines[300:900]))
    return [path, odd, *sorted(SAMPLES.glob("*/Master.csv"))]


@pytest.mark.parametrize("block_bytes", [48 << 10, 1 << 20], ids=["small-blocks", "usual-blocks"])
def test_the_column_path_gives_the_rows_of_the_row_path(tmp_path, block_bytes):
    preparer, at = Preparer.from_config(CONFIG, "pbx1"), JOURNAL_COLUMNS.index("ingested_at")
    blocks = 0
    for path in _files(tmp_path):
        by_rows = read_cdr_batches(path, CONFIG, zone="UTC", block_bytes=block_bytes, check_zone=False)
        by_columns = read_cdr_batches(path, CONFIG, zone="UTC", block_bytes=block_bytes, check_zone=False,
                                      as_columns=True)
        for rows_batch, columns_batch in zip(by_rows, by_columns, strict=True):
            assert columns_batch.rows == [] and columns_batch.count == len(rows_batch.rows)
            assert columns_batch.rejects == rows_batch.rejects
            rows, entries = ingest._unique_entries(rows_batch.rows, rows_batch.raw, ingest._cdr_entry)
            columns, keys, raw = ingest.unique_cdr_columns(columns_batch.columns, columns_batch.raw)
            expected = journal_columns("pbx1", str(path), entries, 7)
            got = ingest.cdr_journal_columns("pbx1", str(path), columns, keys, raw, 7)
            assert [c for k, c in enumerate(got) if k != at] == [c for k, c in enumerate(expected) if k != at]
            records, rest = split_single(rows, CONFIG, "pbx1", Parties(CONFIG))
            column_records, column_rest = ingest.split_single_columns(columns, CONFIG, "pbx1", Parties(CONFIG))
            assert column_rest == [tuple(r) for r in rest]
            assert preparer.prepare_records(column_records) == preparer.prepare_records(records)
            blocks += 1
    assert blocks >= 18  # every file, a block or more each


def test_the_helper_reads_ahead_while_the_importing_process_writes(tmp_path, monkeypatch):
    """The helper process does not wait for each block to be written before it reads the next:
    up to READ_AHEAD blocks are received ahead. With a writer slower than the reader (here: a
    pause after each block), the helper has read the whole file and ended while the importing
    process is still at its early blocks; the import is still whole. The blocks waiting are
    files of the import's own directory, which goes when the import ends."""
    import multiprocessing
    import os
    import tempfile
    import time
    from pathlib import Path

    from callmon.storage import stage

    from callmon.service.pipeline import Pipeline
    from callmon.storage import Store

    monkeypatch.setattr(ingest, "BLOCK_BYTES", 64 << 10)  # (the helper is given it when it starts)
    path = generated(tmp_path, 3_000)
    blocks = -(-path.stat().st_size // (64 << 10))
    assert blocks > ingest.READ_AHEAD + 4  # the helper can finish ahead
    seen: list[bool] = []
    waiting: list[int] = []

    def mine() -> list[Path]:
        return list(Path(stage.default_directory() or tempfile.gettempdir()).glob(f"callmon-import-{os.getpid()}-*"))

    def slow_writer(nbytes: int) -> None:
        time.sleep(0.3)
        seen.append(any(p.name == "callmon-stage" for p in multiprocessing.active_children()))
        waiting.append(sum(len(list(d.iterdir())) for d in mine()))

    store = Store(f"sqlite:///{tmp_path / 'callmon.db'}")
    report = ingest.FileIngest(Pipeline(store, CONFIG), stage_min_bytes=0, progress=slow_writer).ingest(path, "cdr")
    store.dispose()
    assert report.rows == 3_000 and report.new_rows == 3_000
    assert seen[0] and not seen[blocks - ingest.READ_AHEAD]  # gone while blocks were left to write
    assert max(waiting) >= ingest.READ_AHEAD and not mine()
