"""``callmon rebuild`` makes the calls of one Master.csv record as columns, as an import does: it
leaves the tables an import left, and the ones a rebuild through record objects leaves, on
SQLite and PostgreSQL; with small batches too (a call's records cut by a batch's end); and
through the helper process of a large SQLite journal."""

from __future__ import annotations

import pytest

from callmon.service.ingest import FileIngest
from callmon.service.pipeline import Pipeline
from callmon.storage import Store
from tests.conftest import SAMPLES
from tests.service.test_write_records import CONFIG, generated, tables


def _rebuild(url: str, *, columnar: bool, batch: int) -> int:
    pipeline = Pipeline(Store(url), CONFIG)
    pipeline.columnar = columnar
    return pipeline.rebuild(batch=batch)


def _imported(url: str, tmp_path, rows: int, numbers: int) -> dict[str, list[tuple]]:
    """The tables an import of the samples' files and ``rows`` generated Master.csv rows leaves."""
    files = [*sorted(SAMPLES.glob("*/Master.csv")), generated(tmp_path, rows, numbers=numbers)]
    ingest = FileIngest(Pipeline(Store(url), CONFIG))
    for path in files:
        ingest.ingest(path, "cdr")
    # CEL and queue_log of a few scenarios: their calls are derived from every kind
    for scenario in ("d_queue_rna_then_answer", "h_blind_transfer", "j_load"):
        ingest.ingest(SAMPLES / scenario / "cel.csv", "cel")
        ingest.ingest(SAMPLES / scenario / "queue_log", "queue_log")
    return tables(url)


@pytest.mark.parametrize("batch", [20_000, 700], ids=["usual-batches", "small-batches"])
def test_rebuild_on_columns_leaves_what_the_import_left(db_url, tmp_path, batch):
    imported = _imported(db_url, tmp_path, 10_000, 3_000)
    assert len(imported["calls"]) > 9_000 and len(imported["callbacks"]) > 500
    n = _rebuild(db_url, columnar=True, batch=batch)
    assert n == len(imported["calls"])
    assert tables(db_url) == imported
    _rebuild(db_url, columnar=False, batch=batch)
    assert tables(db_url) == imported


@pytest.mark.parametrize("batch", [20_000, 700], ids=["usual-batches", "small-batches"])
def test_rebuild_through_the_helper_process_leaves_what_the_import_left(sqlite_url, tmp_path, batch):
    """A large journal's single-record calls are made by a helper process (callmon.service.restage):
    the same tables as the import left, with CEL, queue_log and calls cut by a batch's end. Its
    directory of stage files is gone with the rebuild."""
    import os
    import tempfile
    from pathlib import Path

    from callmon.storage import stage

    def stage_directories() -> list[Path]:
        return list(Path(stage.default_directory() or tempfile.gettempdir()).glob(f"callmon-import-{os.getpid()}-*"))

    imported = _imported(sqlite_url, tmp_path, 6_000, 2_000)
    pipeline = Pipeline(Store(sqlite_url), CONFIG)
    pipeline.rebuild_helper_rows = 1
    with pipeline.store.begin() as conn:
        assert pipeline._rebuild_helper(conn) is not None  # (100,000 rows and more: the usual threshold)
    during: list[int] = []
    rebuilt = pipeline.rebuild(batch=batch, progress=lambda *_: during.append(len(stage_directories())))
    assert rebuilt == len(imported["calls"])
    assert tables(sqlite_url) == imported
    assert during and max(during) == 1 and not stage_directories()
