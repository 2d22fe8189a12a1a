"""The live listener: pyst2 over TCP -> journal -> tracker -> store, reconnecting forever.

Threads: pyst2's own (reading, dispatch) hand events to a bounded-latency writer thread, which
journals each batch before it derives anything, feeds the tracker, writes finished calls and the
calls in progress (``live_calls``), all in one transaction per batch. The connection loop runs in
the caller's thread: on a lost connection it journals a ``CallmonGap`` marker for each call in
flight (they end there, ``incomplete``: a later CDR/CEL import completes them) and reconnects with
exponential backoff and jitter. Wrong credentials raise :class:`AmiAuthError` at once.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable


from callmon.sources.ami.framing import AmiEvent
from callmon.sources.ami.pyst2_adapter import BufferedManager, open_session
from callmon.calls.tracker import GAP_EVENT, CallTracker
from callmon.core.errors import AmiAuthError, AmiError, StoreError
from callmon.core.model import Call
from callmon.service.pipeline import Pipeline, journal_row

log = logging.getLogger(__name__)

GC_YOUNG = 50_000  # allocations between young garbage collections while listening
_FLUSH = "flush"  # in the writer's queue: write what came before, then close the calls in flight


@dataclass
class ListenerStats:
    connections: int = 0
    events: int = 0
    journaled: int = 0
    calls: int = 0
    incomplete_calls: int = 0
    batches: int = 0
    malformed: int = 0
    write_errors: int = 0
    stalls: int = 0
    # oldest event of each batch: its Timestamp -> committed, seconds (bounded: a day of batches)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=500_000))


class Listener:
    """Follows one PBX over AMI and keeps the store current.

    ``run()`` blocks until ``stop()`` (or SIGTERM via the CLI); ``max_connections`` bounds it for
    tests. The secret is passed in and never logged.
    """

    def __init__(self, pipeline: Pipeline, host: str, port: int, user: str, secret: str, *,
                 flush_interval: float = 0.2, batch_size: int = 5000, backoff: tuple[float, float] = (0.5, 30.0),
                 max_connections: int | None = None, idle_timeout: float = 30.0, ping_timeout: float = 10.0,
                 on_batch: Callable[[ListenerStats], None] | None = None):
        self.pipeline = pipeline
        self.host, self.port, self.user = host, int(port), user
        self._secret = secret
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.backoff = backoff
        self.max_connections = max_connections
        self.idle_timeout, self.ping_timeout = idle_timeout, ping_timeout
        self.on_batch = on_batch
        self.tracker = CallTracker(pipeline.config, pipeline.pbx, parties=pipeline.parties)
        self.stats = ListenerStats()
        # chunks of events as pyst2's dispatcher hands them over, and _FLUSH markers; the counts
        # are each written by one thread only: received - taken = events waiting for the writer
        self._pending: deque[list[AmiEvent] | str] = deque()
        self._received = 0
        self._taken = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._drained = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="callmon-writer", daemon=True)
        self._manager: BufferedManager | None = None
        self._last_ts: float | None = None
        self.source = f"ami://{host}:{port}"

    # -- the connection loop ---------------------------------------------------------------
    def run(self) -> ListenerStats:
        # what exists before the listener starts (modules, configuration, the store's engine)
        # lives as long as the process: frozen, it is no longer walked by every full garbage
        # collection, which the stream of events triggers every few seconds (a tenth of the
        # listener's time at 20k events/s, measured)
        gc.collect()
        gc.freeze()
        # and young collections every 50,000 net allocations instead of 700: the events of the
        # calls in flight are tens of thousands of young objects that live a call long, and the
        # collector went through them again and again (5 % of the listener's CPU, measured)
        thresholds = gc.get_threshold()
        gc.set_threshold(GC_YOUNG, 20, 10)
        checkpoints = self.pipeline.store.background_checkpoints()
        self._writer.start()
        attempt = 0
        try:
            while not self._stop.is_set():
                if self.max_connections is not None and self.stats.connections >= self.max_connections:
                    break
                try:
                    self._connect_once()
                    attempt = 0
                except AmiAuthError:
                    raise
                except AmiError as exc:
                    attempt += 1
                    log.warning("AMI %s:%s: %s", self.host, self.port, exc)
                if self._stop.is_set():
                    break
                if self.max_connections is not None and self.stats.connections >= self.max_connections:
                    break
                self._stop.wait(self._delay(attempt))
        finally:
            self._stop.set()
            self._wake.set()
            self._writer.join()
            if checkpoints is not None:
                checkpoints.set()
            gc.set_threshold(*thresholds)
        return self.stats

    def stop(self) -> None:
        """Stop: close the connection; the writer flushes everything received so far."""
        self._stop.set()
        self._wake.set()
        m = self._manager
        if m is not None:
            m.disconnected.set()

    def _delay(self, attempt: int) -> float:
        base, cap = self.backoff
        return random.uniform(0, min(cap, base * 2 ** max(0, attempt - 1))) + base / 2

    def _connect_once(self) -> None:
        manager = open_session(self.host, self.port, self.user, self._secret, self._on_events, source=self.source)
        self._manager = manager
        self.stats.connections += 1
        log.info("AMI connected to %s:%s as %s (connection %d)", self.host, self.port, self.user, self.stats.connections)
        self._watch(manager)
        self.stats.malformed += manager.reader.stats.malformed + manager.reader.stats.truncated
        manager.close()
        self._manager = None
        self._gap("connection closed" if not self._stop.is_set() else "listener stopped")

    def _watch(self, manager: BufferedManager) -> None:
        """Wait for the connection to end; a line silent for ``idle_timeout`` gets a Ping, and one
        that does not answer it within ``ping_timeout`` is cut (a stalled or half-dead TCP line
        would otherwise hold the listener forever)."""
        pinged_at: float | None = None
        while not manager.disconnected.wait(min(1.0, self.idle_timeout / 2)):
            now = time.monotonic()
            if now - manager.last_rx < self.idle_timeout:
                pinged_at = None
            elif pinged_at is None:
                manager.keepalive()
                pinged_at = now
            elif now - pinged_at > self.ping_timeout:
                log.warning("AMI %s:%s silent for %.0f s and no answer to a Ping: reconnecting",
                            self.host, self.port, now - manager.last_rx)
                self.stats.stalls += 1
                manager.abort()
                manager.disconnected.wait(5)
                return

    def _on_events(self, events: list[AmiEvent], _manager) -> None:
        self._pending.append(events)
        self._received += len(events)
        if self._received - self._taken >= self.batch_size:
            if not self._wake.is_set():
                self._wake.set()
            # backpressure: past two batches behind, hold pyst2's dispatcher (and so its reader,
            # and TCP, and the PBX's send queue) until the writer has caught up
            while self._received - self._taken >= 2 * self.batch_size and not self._stop.is_set():
                self._drained.wait(0.05)
                self._drained.clear()

    def _gap(self, reason: str) -> None:
        """Close every call in flight honestly: a marker per call, journaled like an event."""
        log.info("AMI %s:%s: %s; calls in flight are closed as incomplete", self.host, self.port, reason)
        self._pending.append(_FLUSH)  # ordering barrier: what came before goes first
        self._wake.set()

    # -- the writer --------------------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            stopping = self._stop.is_set()
            self._drain()
            self._drained.set()
            if stopping:
                self._drain()
                return

    def _drain(self) -> None:
        batch: list[AmiEvent] = []
        while self._pending:
            chunk = self._pending.popleft()
            if chunk is _FLUSH:
                if batch:
                    self._write(batch)
                    batch = []
                gaps = self._gap_events()
                if gaps:
                    self._write(gaps)
                continue
            self._taken += len(chunk)
            batch.extend(chunk)
            if len(batch) >= self.batch_size:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)

    def _gap_events(self) -> list[AmiEvent]:
        ts = f"{(self._last_ts or time.time()) + 1e-6:.6f}"
        return [AmiEvent(GAP_EVENT, {"Event": GAP_EVENT, "Timestamp": ts, "Linkedid": lid,
                                     "Connection": str(self.stats.connections)})
                for lid in self.tracker.open_linkedids()]

    def _write(self, batch: list[AmiEvent]) -> None:
        """Feed the tracker, then journal + calls + live state in one transaction (retried)."""
        finished: list[Call] = []
        rows = [journal_row(e) for e in batch]
        touched = {r.linkedid for r in rows}
        touched.discard(None)
        touched.discard("")
        feed = self.tracker.feed
        try:
            for ev in batch:
                calls = feed(ev)
                if calls:
                    finished.extend(calls)
            ended = [c.call_id for c in finished]
            live = [live_row(c) for c in self.tracker.active_for(touched)]
        except Exception:  # noqa: BLE001 - a bug in tracking must not stop the writer or lose events
            log.exception("tracking %d events failed; journaling them only (`callmon rebuild` derives them)",
                          len(batch))
            finished, live, ended = [], [], []
        if batch[-1].timestamp is not None:
            self._last_ts = batch[-1].timestamp
        if not self._commit(rows, finished, live, ended):
            return
        now = time.time()
        self.stats.events += len(batch)
        self.stats.batches += 1
        self.stats.calls += len(finished)
        self.stats.incomplete_calls += sum(c.incomplete for c in finished)
        oldest = batch[0].timestamp
        if oldest is not None:
            self.stats.latencies.append(now - oldest)
        for call in finished:
            log.info("call %s: %s%s", call.call_id, call.outcome, " (incomplete)" if call.incomplete else "")
        if self.on_batch is not None:
            self.on_batch(self.stats)

    def _commit(self, rows, finished: list[Call], live: list[dict], ended: list[str]) -> bool:
        """One transaction; a database error is retried (the events are never dropped while the
        listener runs), any other error keeps at least the raw events: `callmon rebuild` can
        derive the rest once the fault is fixed."""
        store, pbx = self.pipeline.store, self.pipeline.pbx
        attempt = 0
        while True:
            attempt += 1
            try:
                with store.begin() as conn:
                    self.stats.journaled += store.journal(conn, pbx, self.source, rows)
                    self.pipeline.write(conn, finished)
                    store.set_live_calls(conn, pbx, live, ended)
                self.pipeline.warn_weak()  # logged once per endpoint callmon is unsure of
                return True
            except StoreError as exc:
                self.stats.write_errors += 1
                log.error("writing %d events failed (attempt %d): %s; retrying", len(rows), attempt,
                          exc)
                if self._stop.is_set() and attempt >= 3:
                    log.error("giving up on %d events at shutdown; re-ingest the period's files", len(rows))
                    return False
                time.sleep(min(5.0, 0.2 * attempt))
            except Exception:  # noqa: BLE001 - a bug in deriving must not lose the raw events
                self.stats.write_errors += 1
                log.exception("deriving calls from %d events failed; journaling the events only", len(rows))
                with store.begin() as conn:
                    self.stats.journaled += store.journal(conn, pbx, self.source, rows)
                return True


def live_row(call: Call) -> dict:
    """A call in progress as the wallboard shows it."""
    state = "talking" if call.answered_at is not None else "ringing" if call.first_ring_at is not None else "queued"
    return {
        "call_id": call.call_id, "state": state, "caller": call.caller, "called": call.called, "queue": call.queue,
        "arrived_at": call.arrived_at, "first_ring_at": call.first_ring_at, "answered_at": call.answered_at,
        "answered_by": call.answered_by, "updated_at": time.time(),
    }
