"""A file row is journaled as its line, with the file it came from; reading the journal back gives
the rows the readers gave (file and line included), and a journal written the old way (JSON
payloads, revision 0008) is converted by migration 0010 into one that rebuilds the same calls."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa

from callmon.core.config import Config
from callmon.service.reconcile import FILE_KINDS, read_back
from callmon.service.ingest import FileIngest
from callmon.service.pipeline import Pipeline
from callmon.sources.files import Reject
from callmon.storage import Store, normalize_url
from tests.conftest import SAMPLES, SCENARIOS, alembic_to, sample_config, sample_config_path
from tests.samples import SOURCES
from tests.service.test_write_records import tables

# the scenarios read with the bundled configuration (the others state their own zone)
SHARED = [s for s in SCENARIOS if sample_config_path(s) == SAMPLES / "callmon.toml"]


def _files(scenarios):
    return [(kind, SAMPLES / s / name) for s in scenarios for kind, (name, _) in SOURCES.items()
            if (SAMPLES / s / name).exists()]


def _file_rows(kind, path, config) -> list:
    """The sound rows of a file as the readers give them, a row twice (same key) kept once."""
    rows = {}
    for r in SOURCES[kind][1](path, Config(timezone=config.file_timezone)):
        if not isinstance(r, Reject):
            rows.setdefault(r.key, r)
    return list(rows.values())


def _journal_rows(url: str) -> list:
    store = Store(url)
    with store.begin() as conn:
        parts = [p for p in store.journal_entries_ordered(conn, "default", FILE_KINDS)]
        back = [row for part in parts for _, row in read_back(store, conn, part)]
    store.dispose()
    return back


def test_every_sample_file_reads_back_from_the_journal_as_it_was_read(db_url):
    expected = []
    for scenario in SCENARIOS:
        config = sample_config(scenario)
        ingest = FileIngest(Pipeline(Store(db_url), config))
        for kind, path in _files([scenario]):
            ingest.ingest(path, kind)
            expected.extend(_file_rows(kind, path, config))
    back = _journal_rows(db_url)
    assert len(back) == len(expected) > 500
    by_place = lambda r: (r.file, r.line)  # noqa: E731
    assert sorted(back, key=by_place) == sorted(expected, key=by_place)


def test_the_journal_keeps_each_line_as_it_is_in_the_file(sqlite_url):
    config = sample_config(SHARED[0])
    ingest = FileIngest(Pipeline(Store(sqlite_url), config))
    for kind, path in _files(SHARED):
        ingest.ingest(path, kind)
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT j.payload, j.line, f.name, f.kind, f.layout, f.size FROM journal j "
                                    "JOIN journal_files f ON f.id = j.file_id")).all()
    engine.dispose()
    assert len(rows) > 30 and {r.kind for r in rows} == set(FILE_KINDS)
    for payload, line, name, kind, layout, size in rows:
        text = open(name, encoding="utf-8").read()
        assert payload == text.split("\n")[line - 1].rstrip("\r")
        assert size == len(text.encode())
        assert layout == "pipe" if kind == "queue_log" else layout.startswith("csv:accountcode,src,dst," if kind == "cdr"
                                                                               else "csv:eventtype,eventtime,")
    # a second import of the same file finds its file row and journals nothing new
    before = _count(sqlite_url, "journal_files")
    kind, path = _files(SHARED[:1])[0]
    assert ingest.ingest(path, kind).new_rows == 0
    assert _count(sqlite_url, "journal_files") == before


def _count(url, table) -> int:
    engine = sa.create_engine(normalize_url(url))
    with engine.connect() as conn:
        n = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return n


# -- the journal revision 0008's code wrote, and migration 0010 ----------------------------------------
def _old_journal_rows(config) -> list[dict]:
    """The journal rows revision 0008's import wrote for the shared scenarios' files: each row's
    columns (without file and line) as a JSON array in field order; every third row as a JSON
    object by column name with file and line, as journals before 2026-12 held them."""
    out, seen = [], set()
    for n, (kind, path) in enumerate(_files(SHARED)):
        for i, r in enumerate(_file_rows(kind, path, config)):
            if r.key in seen:
                continue
            seen.add(r.key)
            if kind == "cdr":
                ts, name, linkedid, uid = r.start, r.disposition or "CDR", r.linkedid or r.uniqueid or None, r.uniqueid or None
            elif kind == "cel":
                ts, name, linkedid, uid = r.eventtime, r.eventtype, r.linkedid or r.uniqueid or None, r.uniqueid or None
            else:
                callid = r.callid if r.callid not in ("", "NONE") else None
                ts, name, linkedid, uid = r.time, r.event, callid, callid
            payload = r._asdict() if (n + i) % 3 == 0 else list(r[:-2])
            out.append({"pbx": "default", "kind": kind, "event_key": r.key, "ts": ts, "name": name[:64],
                        "linkedid": linkedid, "uniqueid": uid,
                        "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                        "source": str(path), "line": r.line, "ingested_at": time.time()})
    return out


def test_migration_0010_converts_an_old_journal_that_rebuilds_the_same_calls(db_url, tmp_path):
    config = sample_config(SHARED[0])
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    ingest = FileIngest(Pipeline(Store(reference), config))
    for kind, path in _files(SHARED):
        ingest.ingest(path, kind)

    alembic_to(db_url, "0008")
    old = _old_journal_rows(config)
    engine = sa.create_engine(normalize_url(db_url))
    cols = list(old[0])
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO journal ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"), old)
    engine.dispose()

    assert Pipeline(Store(db_url), config).rebuild() >= len(SHARED)  # Store() migrates to the head
    assert tables(db_url) == tables(reference)
    assert sorted(_journal_rows(db_url), key=repr) == sorted(_journal_rows(reference), key=repr)

    # down again: the rows are JSON arrays in field order once more, which 0008's code reads
    alembic_to(db_url, "0008", down=True)
    engine = sa.create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        back = dict(conn.execute(sa.text("SELECT event_key, payload FROM journal")).all())
        assert "file_id" not in {c["name"] for c in sa.inspect(conn).get_columns("journal")}
    engine.dispose()
    arrays = {r["event_key"]: json.loads(r["payload"]) for r in old}
    arrays = {k: list(v.values())[:-2] if isinstance(v, dict) else v for k, v in arrays.items()}
    assert {k: json.loads(v) for k, v in back.items()} == arrays

    # and up again: the same calls
    Pipeline(Store(db_url), config).rebuild()
    assert tables(db_url) == tables(reference)
