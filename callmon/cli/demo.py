"""``callmon demo``: the product in one command, on the embedded default (SQLite).

A fresh database in a data folder; a history imported from the bundled recording repeated over
the past weeks (:mod:`callmon.cli.demo_history`); ``callmon ami-server`` replaying the bundled
busy stretch (j_load) in a loop as a live PBX; ``callmon listen`` following it; the dashboard on
http://127.0.0.1:8050 with a one-time login. Ctrl-C, SIGTERM or closing the terminal (SIGHUP)
stops all of it.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from callmon.cli import app
from callmon.core.errors import CallmonError, InputError

log = logging.getLogger(__name__)

DEMO_DIR = "callmon-demo"
DEMO_USER = "demo"
DEMO_CONFIG = """# callmon demo: the bundled recording's PBX (Seoul; its Master.csv was written in UTC)
[pbx]
timezone = "Asia/Seoul"
cdr_timezone = "UTC"

[directory]
"2001" = { name = "Kim Agent", team = "민원팀" }
"2002" = { name = "Lee Agent", team = "민원팀" }
"2003" = { name = "Park Agent", team = "요금팀" }
"""
STOP_TIMEOUT_S = 15


def samples_dir() -> Path:
    """The bundled captures: ``$CALLMON_SAMPLES``, else ``sample_cdr/`` of the checkout."""
    env = os.environ.get("CALLMON_SAMPLES")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "sample_cdr"
    if not (path / "j_load" / "ami.raw").exists():
        raise InputError("bundled captures not found (set CALLMON_SAMPLES to a sample_cdr folder)", file=str(path))
    return path


def fresh_database(folder: Path) -> str:
    """An empty ``demo.db`` in ``folder`` (an earlier demo's is removed); its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (folder / f"demo.db{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{(folder / 'demo.db').resolve()}"


def import_history(db: str, config_path: Path, folder: Path, weeks: int, now: float) -> int:
    """Import the bundled recording repeated on the working days of the past ``weeks``; the
    number of calls stored."""
    from callmon.cli.demo_history import block_starts, write_history
    from callmon.core.config import load_config
    from callmon.metrics.rules import RuleSet
    from callmon.service.ingest import FileIngest
    from callmon.service.pipeline import Pipeline
    from callmon.storage import Store

    cfg = load_config(config_path)
    calendar = RuleSet.from_config(cfg).policy.calendar
    starts = block_starts(datetime.fromtimestamp(now, cfg.tz).date(), weeks, 1, cfg.tz, calendar)
    store = Store(db)
    files_in = FileIngest(Pipeline(store, cfg))
    calls = 0
    for path, kind in write_history(samples_dir(), folder, starts):
        calls += files_in.ingest(path, kind).calls
        path.unlink()
    store.dispose()
    return calls


def seed_monitoring(db: str, config_path: Path, now: float) -> dict | None:
    """A small monitoring session of the current half-year for the demo (by the service
    ``callmon monitor`` uses): the directory's teams, one evaluator calling from the numbers of
    a few answered history calls, a plan of one test call per person, and evaluations of the
    planned test calls of the first two people, each tied to a history call that person
    answered. The session, or None when the history has no answered call to evaluate."""
    from callmon.core.config import load_config
    from callmon.metrics.warnings import period_of
    from callmon.read import Reader
    from callmon.service.monitoring import Monitoring
    from callmon.service.pipeline import Pipeline
    from callmon.storage import Store

    cfg = load_config(config_path)
    period = period_of(now, tz=cfg.tz)
    reader = Reader.open(db, cfg)
    try:
        by_agent: dict[str, dict] = {}
        for c in reader.calls(with_legs=False):
            ext = c.get("answered_by")
            if (c.get("direction") == "inbound" and c.get("outcome") == "answered" and ext in cfg.directory
                    and str(c.get("caller") or "").startswith("010")
                    and period_of(c["arrived_at"], tz=cfg.tz) == period):
                by_agent[ext] = c  # the latest one of each agent
    finally:
        reader.close()
    if not by_agent:
        return None
    store = Store(db)
    try:
        mon = Monitoring(Pipeline(store, cfg))
        teams = sorted({cfg.directory[ext].team for ext in by_agent if cfg.directory[ext].team})
        session = mon.create(f"{period} 전화 모니터링 (데모)", period, teams=teams, created_by=DEMO_USER,
                             evaluators={"평가자1": sorted({c["caller"] for c in by_agent.values()})})
        planned = mon.plan(str(session["id"]), seed=1, per_person=1)
        done = 0
        for p in planned:
            call = by_agent.get(p["extension"])
            if call is None or done == 2:
                continue
            marks = {"greeting": "Y", "apology": "Y" if done else "N", "listening": "Y", "explanation": "Y", "attitude": "Y" if done else "N",
                     "closing": "Y" if done else "N", "name_again": "Y"}
            mon.evaluate(str(session["id"]), {
                "test_call": str(p["seq"]), "evaluator": p["evaluator"], "number": call["caller"],
                "called_at": datetime.fromtimestamp(call["arrived_at"], cfg.tz).isoformat(),
                "call_id": call["call_id"], "marks": marks, "note": "데모 평가"}, author=DEMO_USER, source="demo")
            done += 1
        return session
    finally:
        store.dispose()


def _child(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -m callmon ARGS`` in a session of its own (the terminal's Ctrl-C reaches only
    the demo, which stops the children in order)."""
    return subprocess.Popen([sys.executable, "-m", "callmon", *args], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        log.warning("pid %d did not stop within %d s: killed", proc.pid, STOP_TIMEOUT_S)
        proc.kill()
        proc.wait()


@app.command()
def demo(
    data: Annotated[Path, typer.Option("--data", help="Folder for the demo's database and config (made fresh).", file_okay=False)] = Path(DEMO_DIR),
    host: Annotated[str, typer.Option("--host", help="Dashboard address (loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Dashboard port (0: a free one).")] = 8050,
    speed: Annotated[float, typer.Option(min=0.01, help="Live replay speed (1 = real time).")] = 1.0,
    weeks: Annotated[int, typer.Option(min=0, max=52, help="Weeks of history to import.")] = 4,
    capture: Annotated[Optional[Path], typer.Option(help="AMI capture replayed live (default: the bundled busy stretch, j_load).", exists=True, dir_okay=False)] = None,
) -> None:
    """데모 / The product in one command: history, a live PBX replayed over AMI, the dashboard.

    Makes a fresh SQLite database in --data, imports the bundled recording repeated over the
    past weeks, replays the bundled busy-hour capture in a loop as a live PBX (callmon
    ami-server), follows it (callmon listen), and serves the dashboard; prints its address and a
    one-time login. Ctrl-C stops all of it.
    """
    from callmon.cli.dashboard import is_loopback
    from callmon.core.config import load_config
    from callmon.dashboard.app import create_app
    from callmon.dashboard.serve import serve
    from callmon.service.users import Users
    from callmon.sources.ami.server import DEV_SECRET

    if not is_loopback(host):
        raise CallmonError("the demo serves on a loopback address only (its login is printed on the terminal)")
    capture = capture or samples_dir() / "j_load" / "ami.raw"
    db = fresh_database(data)
    config_path = data / "demo.toml"
    config_path.write_text(DEMO_CONFIG, encoding="utf-8")
    started = time.monotonic()
    n = import_history(db, config_path, data, weeks, time.time())
    typer.echo(f"이력 / history: {n:,} calls over {weeks} week(s) imported in {time.monotonic() - started:.1f} s")
    session = seed_monitoring(db, config_path, time.time())
    if session is not None:
        typer.echo(f"모니터링 / monitoring: session {session['id']} ({session['name']}) with a plan and 2 evaluations")
    password = secrets.token_urlsafe(12)
    users = Users.open(db)
    users.add(DEMO_USER, "admin", password)
    users.close()

    server = listener = None
    stopping = False

    def on_term(*_):
        raise KeyboardInterrupt

    stop_signals = (signal.SIGTERM, signal.SIGHUP)  # SIGHUP: the terminal was closed
    for signum in stop_signals:
        signal.signal(signum, on_term)
    try:
        server = _child(["ami-server", "--capture", str(capture), "--loop", "--speed", f"{speed:g}", "--port", "0"],
                        {"CALLMON_AMI_SECRET": DEV_SECRET})
        line = server.stdout.readline().strip()  # "listening on HOST:PORT"
        if not line.startswith("listening on "):
            raise CallmonError(f"the AMI replay server did not start: {line or 'no output'}")
        ami = line.rsplit(" ", 1)[1]
        listener = _child(["listen", "--ami", ami, "--db", db, "--config", str(config_path)],
                          {"CALLMON_AMI_SECRET": DEV_SECRET})
        typer.echo(f"실시간 / live: {capture.name} replayed in a loop on {ami} (x{speed:g}), followed by callmon listen")
        dash_app = create_app(db, load_config(config_path))

        def ready(address: str) -> None:
            typer.echo(f"대시보드 / dashboard: {address}")
            typer.echo(f"로그인 / login: {DEMO_USER} / {password}   (this demo only; Ctrl-C stops everything)")
            sys.stdout.flush()

        serve(dash_app, host, port, ready=ready)
        stopping = True
    except KeyboardInterrupt:
        stopping = True
    finally:
        for signum in stop_signals:
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not interrupt the stopping
        _stop(listener)  # first: it writes what it has heard
        _stop(server)
        if stopping:
            try:
                typer.echo(f"중지 / stopped. Database: {db}")
            except OSError:  # the terminal has gone (SIGHUP)
                pass
