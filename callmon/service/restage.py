"""``rebuild`` of a large SQLite journal with a helper process, as a large import has one
(:mod:`callmon.service.ingest`): the rebuilding process reads the journal's file rows in time
order and sends each batch's lines to the helper, which reads them again as rows
(:func:`~callmon.service.reconcile.rows_of_lines`), makes the calls of one Master.csv record
each as columns (:func:`~callmon.service.reconcile.take_single`), prepares their rows and binds
them into a stage database (:class:`~callmon.storage.stage.StageBuilder`); it sends back the
name of the stage's file (in a directory of the rebuild's, as an import's stage files are:
:class:`~callmon.service.ingest._Helper`), what storing those calls needs, and the other rows. The rebuilding process
copies the stage in (:mod:`callmon.storage.stage`) and assembles the other calls meanwhile: the
per-row work of the single-record calls runs beside the writing instead of before it, and the
same rows arrive (tested against a rebuild without the helper).

Which journal rows a batch's single-record calls may not take (their linkedid has entries
elsewhere, or an AMI record names them) is decided by the rebuilding process, which has the
database, and sent with the batch.
"""

from __future__ import annotations

import multiprocessing
import queue
import shutil
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

from callmon.calls.parties import Parties
from callmon.core.config import Config
from callmon.core.errors import InputError
from callmon.service.pipeline import PreparedRecords, Preparer
from callmon.service.reconcile import rows_of_lines, take_single
from callmon.sources.files.reread import FileIdentity
from callmon.storage import stage
from callmon.storage.store import JournalEntry

AHEAD = 2  # batches sent to the helper before the first result is taken: it works while this one writes


@dataclass
class StagedCalls:
    """What the helper made of one batch: the stage's file (rows of calls of one Master.csv
    record each; :func:`~callmon.storage.stage.take` reads and removes it), what storing them
    needs (:meth:`PreparedRecords.without` their rows), the other rows as ``(kind, fields)``, and
    how many single-record calls were taken."""

    stage_file: str | None
    prepared: PreparedRecords
    rest: list  # the batch's other rows (CdrRow, CelRow, QueueLogRow: named tuples pickle as they are)
    n: int


class RebuildHelper:
    """The helper process of a rebuild; :meth:`map` sends batches and gives back what it made.

    Started with ``spawn`` (a fresh interpreter) and given the merged configuration and what the
    rebuilding process knows of the endpoints. One thread of this process sends the batches, so
    neither side waits on the other's full pipe; leaving the ``with`` stops the helper and
    removes its directory of stage files."""

    def __init__(self, config: Config, pbx: str, known: Any, ami_ids: set[str]):
        ctx = multiprocessing.get_context("spawn")
        self.directory = stage.import_directory()
        self._to, child_in = ctx.Pipe(duplex=False)  # (read end, write end)
        child_out, self._out = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_serve, name="callmon-restage", daemon=True,
                                 args=(child_out, child_in, config, pbx, known, ami_ids, self.directory))
        self._proc.start()
        child_in.close()
        child_out.close()
        self._queue: queue.Queue = queue.Queue(maxsize=AHEAD)
        self._sender = threading.Thread(target=self._send_all, name="callmon-restage-send", daemon=True)
        self._sender.start()

    def _send_all(self) -> None:
        while True:
            message = self._queue.get()
            try:
                self._out.send(message)
            except (OSError, ValueError):  # the helper is gone: its end says why (see _recv)
                return
            if message[0] == "end":
                return

    def map(self, parts: Iterable[tuple[Sequence[JournalEntry], dict[int, FileIdentity], set[str]]]
            ) -> Iterator[tuple[Sequence[JournalEntry], StagedCalls]]:
        """``(batch, what the helper made of it)`` for each ``(batch, files not sent yet,
        linkedids its single-record calls may not take)``, in order, :data:`AHEAD` batches ahead."""
        pending: list[Sequence[JournalEntry]] = []
        for part, files, elsewhere in parts:
            lines = [(e.kind, e.file_id, e.line, e.payload, e.linkedid) for e in part]
            self._queue.put(("part", lines, files, elsewhere))
            pending.append(part)
            if len(pending) > AHEAD:
                yield pending.pop(0), self._recv()
        while pending:
            yield pending.pop(0), self._recv()

    def _recv(self) -> StagedCalls:
        try:
            message = self._to.recv()
        except EOFError:
            raise RuntimeError(f"the rebuild helper process ended unexpectedly (exit code {self._proc.exitcode})") from None
        if message[0] == "error":
            _, name, text = message
            raise InputError(text) if name == "InputError" else RuntimeError(f"rebuild helper: {text}")
        return message[1]

    def __enter__(self) -> RebuildHelper:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._queue.put_nowait(("end",))
        except queue.Full:
            pass
        if exc[0] is not None and self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(timeout=30)
        if self._proc.is_alive():
            self._proc.terminate()
        self._to.close()
        self._out.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _serve(inbox, outbox, config: Config, pbx: str, known: Any, ami_ids: set[str], directory: str) -> None:
    """The helper process: for each ``("part", lines, files, elsewhere)``, the rows again, the
    single-record calls' rows bound into a stage, the other rows; until ``("end",)``."""
    from callmon.service.ingest import fewer_collections  # (ingest builds on the pipeline, as this does)

    try:
        preparer = Preparer.from_config(config, pbx)  # the config's directory is the merged one
        parties = Parties(config, known)  # what the rebuilding process knows
        files: dict[int, FileIdentity] = {}
        with fewer_collections():
            while True:
                message = inbox.recv()
                if message[0] == "end":
                    break
                _, lines, more, elsewhere = message
                files.update(more)
                entries = [JournalEntry(kind, payload, None, file_id, line, linkedid)
                           for kind, file_id, line, payload, linkedid in lines]
                rows = rows_of_lines(entries, files)
                records, rest = take_single(entries, rows, elsewhere, ami_ids, config, pbx, parties)
                stage_file = None
                prepared = preparer.prepare_records(records)
                if records.n:
                    builder = stage.StageBuilder(directory)
                    prepared = preparer.stage_records(prepared, builder)
                    stage_file = builder.file()
                outbox.send(("done", StagedCalls(stage_file, prepared, rest, records.n)))
    except Exception as exc:  # noqa: BLE001 - everything goes back to the rebuilding process
        outbox.send(("error", type(exc).__name__, str(exc) if isinstance(exc, InputError) else traceback.format_exc()))
    finally:
        outbox.close()

