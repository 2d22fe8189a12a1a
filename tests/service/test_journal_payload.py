"""File rows are journaled as JSON arrays in field order; journals written before hold JSON
objects by column name. Both are read back into the same rows and the same calls."""

from __future__ import annotations

import json

import sqlalchemy as sa

from callmon.core.config import Config
from callmon.service.reconcile import row_from_payload
from callmon.service.ingest import FileIngest
from callmon.sources.files import read_cdr, read_cel, read_queue_log
from callmon.service.pipeline import Pipeline
from callmon.storage import Store
from tests.conftest import SAMPLES
from tests.service.test_write_records import tables

CONFIG = Config(timezone="UTC")
SCENARIO = SAMPLES / "d_queue_rna_then_answer"
FILES = {"cdr": (SCENARIO / "Master.csv", read_cdr), "cel": (SCENARIO / "cel.csv", read_cel),
         "queue_log": (SCENARIO / "queue_log", read_queue_log)}


def test_rows_come_back_from_arrays_and_from_objects_alike():
    for kind, (path, read) in FILES.items():
        rows = [r for r in read(path, CONFIG) if not hasattr(r, "reason")]
        assert rows, kind
        for row in rows:
            values = list(row[:-2])
            as_array = json.loads(json.dumps(values))
            as_object = json.loads(json.dumps(dict(zip(row._fields[:-2], values))))
            back = row._replace(file="", line=0)
            assert row_from_payload(kind, as_array) == back == row_from_payload(kind, as_object), kind


def test_a_journal_of_objects_rebuilds_the_calls_an_import_stores(tmp_path):
    new_url, old_url = f"sqlite:///{tmp_path / 'new.db'}", f"sqlite:///{tmp_path / 'old.db'}"
    files_in = FileIngest(Pipeline(Store(new_url), CONFIG))
    for kind, (path, _) in FILES.items():
        files_in.ingest(path, kind)
    engine = sa.create_engine(new_url)
    with engine.begin() as conn:
        payloads = conn.execute(sa.text("SELECT kind, payload FROM journal")).all()
        assert payloads and all(p.startswith("[") for _, p in payloads)
    engine.dispose()
    # the same journal as an earlier callmon wrote it: each payload an object by column name
    old = sa.create_engine(old_url)
    Store(old_url)  # the schema
    fields = {kind: read(path, CONFIG).__next__()._fields[:-2] for kind, (path, read) in FILES.items()}
    with sa.create_engine(new_url).connect() as src, old.begin() as dst:
        rows = [dict(r._mapping) for r in src.execute(sa.text("SELECT * FROM journal"))]
        for r in rows:
            r["payload"] = json.dumps(dict(zip(fields[r["kind"]], json.loads(r["payload"]))), ensure_ascii=False)
            del r["id"]
        cols = list(rows[0])
        dst.execute(sa.text(f"INSERT INTO journal ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"), rows)
    old.dispose()
    assert Pipeline(Store(old_url), CONFIG).rebuild() >= 1
    assert tables(old_url) == tables(new_url)
