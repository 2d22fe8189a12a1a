"""One pipeline, many drivers: ``ingest`` of a capture, the live listener and ``rebuild`` all
journal raw input, assemble calls with the tracker, score them and write them through the store.

>>> from callmon.config import Config
>>> from callmon.storage import Store
>>> p = Pipeline(Store("sqlite://"), Config())
>>> report = p.ingest_ami_file("sample_cdr/a_direct_fast_caller_hangs_up/ami.raw")
>>> report.new_events, report.calls
(81, 1)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

from sqlalchemy.engine import Connection

from callmon.ami.framing import AmiEvent, FrameStats, event_json, event_key, read_capture
from callmon.ami.tracker import IGNORED
from callmon.config import Config, Employee
from callmon.derive import derive_calls, rebuild_calls
from callmon.metrics.rules import RuleSet
from callmon.model import Call, Score
from callmon.obligations import Obligations
from callmon.scoring import Scorer
from callmon.storage.store import JournalRow, Store

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest did, for the summary line and the tests."""

    source: str
    kind: str
    events: int = 0
    new_events: int = 0
    calls: int = 0
    incomplete_calls: int = 0
    without_timestamp: int = 0
    stats: FrameStats | None = None
    problems: list[str] = field(default_factory=list)


def journal_row(event: AmiEvent) -> JournalRow:
    text = event_json(event.headers)
    return JournalRow(
        kind="ami", event_key=event_key(event.headers, text), ts=event.timestamp, name=event.name,
        linkedid=event.call_linkedid, uniqueid=event.uniqueid, payload=text,
    )


def merged_directory(config: Config, imported: dict[str, Employee]) -> dict[str, Employee]:
    """The config's ``[directory]`` with the imported directory over it: an imported extension
    wins, an extension only the config names is kept."""
    return {**config.directory, **imported}


class Pipeline:
    """Journal -> tracker -> rules -> store, for one PBX.

    The rule set, the directory (config merged with the imported one) and the scorer are built
    once here; after each write the callback obligations of the numbers it touched are derived
    again (:mod:`callmon.obligations`).
    """

    def __init__(self, store: Store, config: Config, pbx: str | None = None):
        self.store = store
        self.pbx = pbx or config.pbx
        imported = store.load_directory(self.pbx)
        self.config = replace(config, directory=merged_directory(config, imported)) if imported else config
        self.ruleset = RuleSet.from_config(self.config)
        self.scorer = Scorer(self.ruleset, self.config.directory)
        self.obligations = Obligations(store, self.pbx, self.ruleset, self.config.directory)

    def score(self, call: Call) -> Score:
        return self.scorer(call).score

    def ingest_ami_file(self, path: str | Path) -> IngestReport:
        """Journal a recorded AMI stream and (re)derive the calls it touches; all or nothing."""
        events, stats = read_capture(path)
        report = IngestReport(source=str(path), kind="ami", events=len(events), stats=stats)
        report.problems.extend(stats.problems)
        report.without_timestamp = sum(1 for e in events if e.timestamp is None and e.name not in IGNORED)
        if report.without_timestamp:
            report.problems.append(
                f"{path}: {report.without_timestamp} call event(s) without a Timestamp header "
                "(manager.conf timestampevents = no?): their calls have no times"
            )
        with self.store.begin() as conn:
            report.new_events = self.store.journal(conn, self.pbx, str(path), [journal_row(e) for e in events])
            if report.new_events:
                linkedids = {e.call_linkedid or e.uniqueid for e in events if e.call_linkedid or e.uniqueid}
                calls = self.derive(conn, linkedids)
                report.calls = len(calls)
                report.incomplete_calls = sum(c.incomplete for c in calls)
        return report

    def derive(self, conn: Connection, linkedids: Iterable[str]) -> list[Call]:
        """Re-assemble, reconcile (:mod:`callmon.derive`) and re-score every call touching these
        linkedids from everything the journal holds of them: AMI events and file rows."""
        calls = derive_calls(self.store, conn, self.pbx, self.config, linkedids)
        self.write(conn, calls)
        return calls

    def write(self, conn: Connection, calls: Sequence[Call]) -> None:
        """Score and store calls (replacing earlier versions), then bring the callback
        obligations of the numbers they touch up to date, in the caller's transaction."""
        scored = [self.scorer(c) for c in calls]
        touched = self.obligations.touched(conn, scored)
        self.store.replace_calls(conn, self.pbx, scored)
        self.obligations.rederive(conn, touched)

    def rebuild(self) -> int:
        """Drop this PBX's derived calls and derive them, and every callback obligation, again
        from the whole journal (an obligation keeps its callback_id while its key stays)."""
        n = 0
        with self.store.begin() as conn:
            self.store.delete_calls(conn, self.pbx)
            for calls in rebuild_calls(self.store, conn, self.pbx, self.config):
                self.store.replace_calls(conn, self.pbx, [self.scorer(c) for c in calls])
                n += len(calls)
            self.obligations.rederive_all(conn)
        return n
