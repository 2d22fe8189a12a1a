"""The journal keeps an AMI event as its frame text: one form whatever the line ends or spacing,
keyed so the same event is one row, and a journal written as JSON before (revision 0004) is
converted by migration 0005 and still dedupes against the same capture read today."""

from __future__ import annotations

import hashlib
import json
import time

import sqlalchemy as sa

from callmon.sources.ami.framing import AmiEvent, FrameReader, parse_frame, read_capture
from callmon.core.config import Config
from callmon.service.pipeline import Pipeline
from callmon.storage import Store, normalize_url
from tests.conftest import ROOT, SAMPLES, SCENARIOS, alembic_to, run_cli

CAPTURE = SAMPLES / "d_queue_rna_then_answer" / "ami.raw"
FOREIGN = sorted((ROOT / "tests" / "fixtures" / "foreign-ami").glob("*.raw"))


def _old_row(event: AmiEvent) -> dict:
    """The journal row revision 0004's code wrote for an event: its headers as JSON, keyed by
    the SHA-1 of that JSON."""
    payload = json.dumps(event.headers, ensure_ascii=False, separators=(",", ":"))
    return {"pbx": "default", "kind": "ami", "event_key": hashlib.sha1(payload.encode()).hexdigest(),
            "ts": event.timestamp, "name": event.name, "linkedid": event.call_linkedid, "uniqueid": event.uniqueid,
            "payload": payload, "source": "old", "line": None, "ingested_at": time.time()}


def _journal(url: str) -> list[tuple]:
    engine = sa.create_engine(normalize_url(url))
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_key, payload FROM journal WHERE kind = 'ami' ORDER BY id")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_lazy_event_reads_like_its_parsed_headers():
    """An event kept as text answers get/ids/timestamp exactly as its parsed headers do."""
    for path in [*(SAMPLES / s / "ami.raw" for s in SCENARIOS), *FOREIGN]:
        for e in read_capture(path)[0]:
            parsed = AmiEvent(e.name, parse_frame(e.text)[0])
            lazy = AmiEvent.from_text(e.text)
            for key in ("Event", "Timestamp", "Uniqueid", "Linkedid", "Application", "ChannelState", "Nope"):
                assert lazy.get(key) == parsed.get(key), (path.name, key)
            assert (lazy.timestamp, lazy.call_linkedid, lazy.uniqueid) == \
                (parsed.timestamp, parsed.call_linkedid, parsed.uniqueid)
            assert lazy.headers == parsed.headers and lazy.text == parsed.text == e.text


def test_text_and_key_depend_on_the_headers_only():
    """Bare \\n or \\r\\n, 'Key:value' or 'Key: value', a junk line: one journal text, one key."""
    asterisk = b"Event: Hangup\r\nTimestamp: 1700000000.000001\r\nUniqueid: 1.1\r\nCause: 16\r\n\r\n"
    variants = [asterisk, asterisk.replace(b"\r\n", b"\n"), asterisk.replace(b"Cause: 16", b"Cause:16"),
                asterisk.replace(b"Cause: 16\r\n", b"Cause: 16\r\nnot a header\r\n")]
    events = [FrameReader().feed(v)[0] for v in variants]
    assert {e.text for e in events} == {"Event: Hangup\nTimestamp: 1700000000.000001\nUniqueid: 1.1\nCause: 16"}
    assert len({e.key for e in events}) == 1
    assert events[0].key.startswith("1700000000.000001-")
    assert AmiEvent("Hangup", events[0].headers).key == events[0].key


def test_a_repeated_header_survives_the_journal():
    """ChanVariable twice: both values come back from the journal text."""
    e = FrameReader().feed(b"Event: Newchannel\r\nChanVariable: a=1\r\nChanVariable: b=2\r\n\r\n")[0]
    again = AmiEvent.from_text(e.text)
    assert again.headers == {"Event": "Newchannel", "ChanVariable": "a=1", "ChanVariable#2": "b=2"}
    assert again.key == e.key


def test_migration_converts_an_old_journal_that_then_dedupes_and_rebuilds(db_url, tmp_path):
    """A capture journaled as JSON by revision 0004: 0005 converts it, the same capture ingested
    again adds nothing, `callmon rebuild` gives what a fresh ingest gives; a downgrade restores
    the old rows exactly."""
    scenario = "j_load"
    events, _ = read_capture(SAMPLES / scenario / "ami.raw")
    old = [_old_row(e) for e in events]
    old_unique = list({r["event_key"]: r for r in old}.values())
    alembic_to(db_url, "0004")
    engine = sa.create_engine(normalize_url(db_url))
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO journal (pbx, kind, event_key, ts, name, linkedid, uniqueid, payload, source, line, ingested_at)"
            " VALUES (:pbx, :kind, :event_key, :ts, :name, :linkedid, :uniqueid, :payload, :source, :line, :ingested_at)"),
            old_unique)
    engine.dispose()

    store = Store(db_url)  # migrates to the head
    assert sorted(k for k, _ in _journal(db_url)) == sorted({e.key for e in events})
    report = Pipeline(store, Config()).ingest_ami_file(SAMPLES / scenario / "ami.raw")
    assert report.new_events == 0
    store.dispose()
    run_cli("rebuild", "--db", db_url)
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    run_cli("ingest", str(SAMPLES / scenario / "ami.raw"), "--db", fresh)
    calls = lambda url: json.loads(run_cli("calls", "--format", "json", "--db", url).stdout)  # noqa: E731
    assert calls(db_url) == calls(fresh)

    alembic_to(db_url, "0004", down=True)
    assert _journal(db_url) == [(r["event_key"], r["payload"]) for r in old_unique]


def test_migration_drops_an_old_row_the_new_journal_already_has(sqlite_url):
    """The same event as an old JSON row and as a new text row: one row after the upgrade."""
    e = read_capture(CAPTURE)[0][5]
    alembic_to(sqlite_url, "0004")
    engine = sa.create_engine(normalize_url(sqlite_url))
    new = {**_old_row(e), "event_key": e.key, "payload": e.text}
    with engine.begin() as conn:
        for row in (new, _old_row(e)):
            conn.execute(sa.text(
                "INSERT INTO journal (pbx, kind, event_key, ts, name, linkedid, uniqueid, payload, source, line,"
                " ingested_at) VALUES (:pbx, :kind, :event_key, :ts, :name, :linkedid, :uniqueid, :payload, :source,"
                " :line, :ingested_at)"), row)
    engine.dispose()
    Store(sqlite_url).dispose()
    assert _journal(sqlite_url) == [(e.key, e.text)]
