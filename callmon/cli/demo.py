"""``callmon demo``: the embedded default — SQLite, a real capture replayed live over AMI."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from callmon.cli import app
from callmon.core.config import load_config
from callmon.core.errors import InputError

DEMO_DB = "callmon-demo.db"


def samples_dir() -> Path:
    """The bundled captures: ``$CALLMON_SAMPLES``, else ``sample_cdr/`` of the checkout."""
    env = os.environ.get("CALLMON_SAMPLES")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "sample_cdr"
    if not (path / "j_load" / "ami.raw").exists():
        raise InputError("bundled captures not found (set CALLMON_SAMPLES to a sample_cdr folder)", file=str(path))
    return path


@app.command()
def demo(
    speed: Annotated[float, typer.Option(min=0, help="Replay speed (1 = real time; the capture is 9 minutes long).")] = 30.0,
    capture: Annotated[Optional[Path], typer.Option(help="AMI capture to replay (default: the bundled busy stretch, j_load).")] = None,
    db: Annotated[Optional[str], typer.Option("--db", help=f"Database URL; default a fresh sqlite:///{DEMO_DB}.")] = None,
) -> None:
    """데모 / Replay a real Asterisk capture live over AMI into SQLite and show the charter's verdicts.

    Starts the AMI replay server on a free loopback port, follows it with the live listener
    (pyst2 over TCP, as `callmon listen` does), and prints the calls as they end, then the
    summary per agent.
    """
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from callmon.service.listener import Listener
    from callmon.sources.ami.server import DEV_SECRET, AmiServer
    from callmon.service.pipeline import Pipeline
    from callmon.storage import Store

    capture = capture or samples_dir() / "j_load" / "ami.raw"
    if db is None:
        for suffix in ("", "-wal", "-shm"):
            Path(DEMO_DB + suffix).unlink(missing_ok=True)
        db = f"sqlite:///{DEMO_DB}"
    cfg = load_config(None)
    store = Store(db)
    console = Console()
    with AmiServer.from_capture(capture, speed=speed) as server:
        listener = Listener(Pipeline(store, cfg), "127.0.0.1", server.port, "callmon", DEV_SECRET, max_connections=1)
        thread = threading.Thread(target=listener.run, daemon=True, name="callmon-demo-listener")
        thread.start()
        total = server.timeline.total or 0
        console.print(f"AMI 재생 / replaying {capture.name} ({total:,} events) at x{speed:g} on 127.0.0.1:{server.port}")
        try:
            with Live(console=console, refresh_per_second=4) as live:
                quiet_since = time.monotonic()
                last = -1
                while thread.is_alive():
                    s = listener.stats
                    if s.events != last:
                        last, quiet_since = s.events, time.monotonic()
                    ringing = store.query_live_calls(cfg.pbx)
                    live.update(_progress(s.events, total, s.calls, ringing))
                    if total and s.events >= total and time.monotonic() - quiet_since > 1:
                        break
                    time.sleep(0.25)
        except KeyboardInterrupt:
            console.print("중단 / interrupted")
        listener.stop()
        thread.join(15)
    rows = store.query_calls(cfg.pbx, with_legs=False)
    console.print(_summary(rows, cfg.ring_limit))
    console.print(f"DB: {db}  ·  `callmon calls --db {db} --format json` for every call")


def _progress(events: int, total: int, calls: int, live_calls: list[dict]):
    from rich.table import Table

    t = Table(title=f"실시간 / live: {events:,}/{total:,} events, {calls} calls done", show_edge=False)
    t.add_column("상태 state")
    t.add_column("발신 caller")
    t.add_column("큐 queue")
    t.add_column("응답 by")
    for r in live_calls[-8:]:
        t.add_row(r["state"], _masked(r["caller"]), r["queue"] or "", r["answered_by"] or "")
    return t


def _masked(number: str | None) -> str:
    from callmon.metrics.numbers import mask

    return mask(number or "")


def _summary(rows: list[dict], limit: int):
    from rich.table import Table

    t = Table(title=f"상담원별 요약 / per agent ({len(rows)} calls)")
    for h in ("응답 by", "응답 answered", f"{limit}벨 전 응답 before ring {limit}", "먼저 끊음 agent-first"):
        t.add_column(h, justify="right")
    agents = sorted({r["answered_by"] for r in rows if r["answered_by"] and r["direction"] == "inbound"})
    for a in agents:
        mine = [r for r in rows if r["answered_by"] == a and r["direction"] == "inbound"]
        in_time = sum(r["ring_rule"] == "pass" for r in mine)
        t.add_row(a, str(len(mine)), f"{in_time} ({in_time / len(mine):.0%})", str(sum(r["hangup_rule"] == "fail" for r in mine)))
    inbound = [r for r in rows if r["direction"] == "inbound"]
    missed = sum(r["outcome"] != "answered" for r in inbound)
    t.caption = f"수신 {len(inbound)}건 중 미응답 {missed}건 / {missed} of {len(inbound)} inbound calls not answered"
    return t
