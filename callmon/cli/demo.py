"""``callmon demo``: the embedded default, on the bundled real captures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from callmon.cli import app
from callmon.config import load_config
from callmon.errors import InputError
from callmon.pipeline import Pipeline
from callmon.storage import Store


def samples_dir() -> Path:
    """The bundled captures: ``$CALLMON_SAMPLES``, else ``sample_cdr/`` of the checkout."""
    env = os.environ.get("CALLMON_SAMPLES")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "sample_cdr"
    if not (path / "j_load" / "ami.raw").exists():
        raise InputError("bundled captures not found (set CALLMON_SAMPLES to a sample_cdr folder)", file=str(path))
    return path


@app.command()
def demo(
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL; default sqlite:///callmon-demo.db.")] = None,
) -> None:
    """데모 / Ingest the bundled real Asterisk captures into SQLite and print the scored calls."""
    from rich.console import Console

    from callmon.render import calls_table

    samples = samples_dir()
    store = Store(db or "sqlite:///callmon-demo.db")
    cfg = load_config(None)
    pipeline = Pipeline(store, cfg)
    console = Console()
    for capture in sorted(samples.glob("*/ami.raw")):
        report = pipeline.ingest_ami_file(capture)
        console.print(f"{capture.parent.name}: {report.events} events, {report.new_events} new, {report.calls} call(s)")
    rows = store.query_calls(cfg.pbx)
    console.print(calls_table(rows, cfg.tz))
    inbound = [r for r in rows if r["direction"] == "inbound"]
    answered = [r for r in inbound if r["outcome"] == "answered"]
    in_time = sum(r["ring_rule"] == "pass" for r in answered)
    agent_first = sum(r["hangup_rule"] == "fail" for r in rows)
    console.print(
        f"수신 {len(inbound)}건, 응답 {len(answered)}건, 3벨 이내 응답 {in_time}건"
        f" ({in_time / len(answered):.0%}), 상담원 먼저 끊음 {agent_first}건\n"
        f"inbound {len(inbound)}, answered {len(answered)}, answered before ring {cfg.ring_limit}: {in_time},"
        f" agent hung up first: {agent_first}"
    )
