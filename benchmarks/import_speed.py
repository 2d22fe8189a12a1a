"""How fast ``callmon ingest`` takes a large Master.csv, against a bare ``pandas.read_csv`` of it.

    python benchmarks/import_speed.py                  # 1,000,000 rows
    python benchmarks/import_speed.py --rows 10000000  # RSS must stay flat
    python benchmarks/import_speed.py --shared         # the database kept readable (WAL)
    python benchmarks/import_speed.py --repeat 3       # three ingests and read_csv runs in turns
    python benchmarks/import_speed.py --rebuild        # and `callmon rebuild` of each import
    python benchmarks/import_speed.py --pg postgresql://postgres@127.0.0.1:5432/bench
                                                       # and an ingest into PostgreSQL each turn
    python benchmarks/import_speed.py --master FILE    # a file generated before (--keep)

The file is generated from the real records of ``sample_cdr/*/Master.csv``: each generated call is
a copy of a real call (direct answered / abandoned / busy / ring timeout, queue answered /
abandoned, ring group, transfer, outbound, internal; the load run's 140 queue calls weigh most)
with new uniqueids, channel names, caller numbers and times. It prints, in one run: the seconds
of ``pandas.read_csv``, the seconds of ``callmon ingest`` into a fresh SQLite file (rows journaled,
calls derived, scored and stored) and the CPU seconds it took, their ratio, and the ingest's RSS
through its run and at its peak (it runs as a child process, started before pandas fills this one;
its ``ru_maxrss`` is read after it ends; the samples through the run add the ingest's helper
process to it). On a shared machine whose speed drifts, ``--repeat`` takes both measures in turns
and gives the median ratio.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_cdr"
I_START, I_ANSWER, I_END, I_UID, I_LID = 9, 10, 11, 16, 19
FMT = "%Y-%m-%d %H:%M:%S"


def _epoch(text: str) -> float:
    return datetime.strptime(text, FMT).replace(tzinfo=timezone.utc).timestamp()


def templates() -> list[list[list[str]]]:
    """The real calls of the samples, each a list of Master.csv records (fields)."""
    calls = []
    for path in sorted(SAMPLES.glob("*/Master.csv")):
        by_call: dict[str, list[list[str]]] = defaultdict(list)
        for rec in csv.reader(path.read_text(encoding="utf-8").splitlines()):
            by_call[rec[I_LID]].append(rec)
        calls.extend(by_call.values())
    return calls


def _compile(call: list[list[str]]) -> list[tuple]:
    """A template call as rows of (fields, time offsets, id slots, channel slots, caller number)."""
    base = _epoch(call[0][I_START])
    number = call[0][1] if len(call[0][1]) > 6 else None
    ids: dict[str, int] = {}
    chans: dict[str, int] = {}
    rows = []
    for rec in call:
        offsets = tuple((i, int(_epoch(rec[i]) - base)) for i in (I_START, I_ANSWER, I_END) if rec[i])
        id_slots = tuple((i, ids.setdefault(rec[i], len(ids))) for i in (I_UID, I_LID))
        chan_slots = tuple((i, rec[i].rsplit("-", 1)[0], chans.setdefault(rec[i], len(chans))) for i in (5, 6) if rec[i])
        rows.append((rec, offsets, id_slots, chan_slots, number))
    return rows


def generate(path: Path, rows: int, seed: int = 1, gap: float = 0.8) -> int:
    """Write ``rows`` records to ``path``, a call every ``gap`` seconds on average; return the
    number of calls."""
    rnd = random.Random(seed)
    calls = [_compile(c) for c in templates()]
    t = 1_795_000_000.0
    seq = chan = written = n_calls = 0
    stamps: dict[int, str] = {}
    with path.open("w", encoding="utf-8", newline="") as fh:
        out: list[str] = []
        while written < rows:
            call = rnd.choice(calls)
            t += rnd.expovariate(1 / gap)
            second = int(t)
            number = f"010{rnd.randrange(10**8):08d}"
            ids = [f"{second}.{seq + k}" for k in range(1, 5)]
            chans = [(chan + k) & 0xFFFFFFFF for k in range(1, 5)]
            seq, chan = seq + 4, chan + 4
            for rec, offsets, id_slots, chan_slots, old_number in call:
                r = list(rec)
                for i, off in offsets:
                    when = second + off
                    text = stamps.get(when)
                    if text is None:
                        if len(stamps) > 100_000:
                            stamps.clear()
                        text = stamps[when] = time.strftime(FMT, time.gmtime(when))
                    r[i] = text
                for i, k in id_slots:
                    r[i] = ids[k]
                for i, name, k in chan_slots:
                    r[i] = f"{name}-{chans[k]:08x}"
                if old_number:
                    r[1] = number
                    r[4] = r[4].replace(old_number, number)
                seq += 1
                r[20] = str(seq)
                out.append(_line(r))
                written += 1
            n_calls += 1
            if len(out) >= 50_000:
                fh.write("".join(out))
                out.clear()
        fh.write("".join(out))
    return n_calls


_BARE = frozenset({12, 13, 20})


def _line(r: list[str]) -> str:
    """A record as cdr_csv writes it: text quoted, numbers and an empty answer time bare."""
    return ",".join(v if i in _BARE or (i == I_ANSWER and not v) else '"' + v.replace('"', '""') + '"'
                    for i, v in enumerate(r)) + "\n"


def _rss_mb(pid: int) -> float:
    """Resident set of a process and its descendants (MB), from Linux /proc."""
    total = 0.0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(next(x for x in status.splitlines() if x.startswith("VmRSS:")).split()[1]) / 1024
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _rss_mb(int(child))
    except (OSError, StopIteration, ValueError):
        pass
    return total


def _watch_rss(proc: subprocess.Popen, every: float = 0.25) -> list[float]:
    """The resident set (MB) of the child and its helper process, together, every ``every``
    seconds until it ends."""
    samples = []
    while proc.poll() is None:
        rss = _rss_mb(proc.pid)
        if rss:
            samples.append(rss)
        time.sleep(every)
    return samples



def _callmon(args: list[str], label: str) -> tuple[float, list[float], float]:
    """Run ``callmon ARGS`` (this checkout's code) as a child process; return its seconds, its RSS
    samples (with its helper process) and the CPU seconds it and its helper took (the helper is
    waited for by the child: counted). Run it before pandas fills this process: a child's
    ``ru_maxrss`` counts the parent's memory at the fork."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "callmon", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples = _watch_rss(proc)
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"{label} failed ({proc.returncode}): {out}{err}")
    print(f"{label + ':':<18}{seconds:6.2f} s   CPU {cpu:.1f} s   {out.strip()}")
    return seconds, samples, cpu


def _ingest(master: Path, db: Path, cfg: Path, shared: bool) -> tuple[float, list[float], float]:
    """``callmon ingest`` of the file into a fresh SQLite database (see :func:`_callmon`); prints
    the RSS through the run."""
    t_ingest, samples, cpu = _callmon(["ingest", str(master), "--db", f"sqlite:///{db}", "--config", str(cfg),
                                       *(["--shared"] if shared else [])], "callmon ingest")
    if samples:
        quarters = [samples[min(len(samples) - 1, len(samples) * q // 4)] for q in (1, 2, 3, 4)]
        print("RSS of the ingest (with its helper process) at 1/4, 1/2, 3/4 and the end of its run: "
              + ", ".join(f"{mb:.0f} MB" for mb in quarters) + f"; highest sample {max(samples):.0f} MB")
    return t_ingest, samples, cpu


def _read_csv(master: Path, rows: int) -> tuple[float, int]:
    """Seconds of a bare ``pandas.read_csv`` of the file, and the rows it read."""
    import pandas as pd

    t0 = time.perf_counter()
    if rows <= 2_000_000:
        rows_read = len(pd.read_csv(master, header=None))
    else:  # the whole frame of 10M rows of text would take ~10 GB: the same parse, in chunks
        rows_read = sum(len(chunk) for chunk in pd.read_csv(master, header=None, chunksize=1_000_000))
    return time.perf_counter() - t0, rows_read


def _median(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"median {statistics.median(values):.2f} of {len(values)} (lowest {min(values):.2f}, highest {max(values):.2f})"


def _drop_pg(url: str) -> None:
    """Empty the PostgreSQL database's public schema, so that each ingest starts from nothing."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated file and database")
    ap.add_argument("--shared", action="store_true",
                    help="ingest with --shared (the database stays in WAL, readable by others)")
    ap.add_argument("--master", type=Path, help="a Master.csv generated before (--keep) instead of a new one")
    ap.add_argument("--rebuild", action="store_true", help="also time `callmon rebuild` of each import")
    ap.add_argument("--pg", metavar="URL",
                    help="also ingest into this PostgreSQL database each turn (its callmon tables are dropped first)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="ingest and read_csv in turns this many times (a shared machine's speed drifts: "
                         "the median ratio of runs taken in turns is steadier than one run)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="callmon-bench-"))
    if args.master:
        master = args.master.resolve()
        with master.open("rb") as fh:
            args.rows = sum(1 for _ in fh)
        print(f"given {master.name}: {args.rows:,} rows, {master.stat().st_size / 1e6:.0f} MB")
    else:
        master = tmp / "Master.csv"
        t0 = time.perf_counter()
        n_calls = generate(master, args.rows)
        print(f"generated about {args.rows:,} rows ({n_calls:,} calls, {master.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t0:.1f} s")

    cfg = tmp / "callmon.toml"
    cfg.write_text('[pbx]\ncdr_timezone = "UTC"\n')
    db = tmp / "callmon.db"
    ratios, highest, rebuilds, pg_ratios = [], 0.0, [], []
    for run in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"-- run {run} of {args.repeat}")
        for p in tmp.glob("callmon.db*"):
            p.unlink()
        t_ingest, samples, cpu = _ingest(master, db, cfg, args.shared)
        if run == 1:  # before pandas is in this process (see _ingest)
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if args.rebuild:
            t_rebuild, _, _ = _callmon(["rebuild", "--db", f"sqlite:///{db}", "--config", str(cfg)], "callmon rebuild")
            rebuilds.append(t_rebuild / t_ingest)
            print(f"rebuild / ingest of this run: {rebuilds[-1]:.2f}")
        if args.pg:
            _drop_pg(args.pg)
            t_pg, _, _ = _callmon(["ingest", str(master), "--db", args.pg, "--config", str(cfg)], "ingest into PG")
        t_read, rows_read = _read_csv(master, args.rows)
        print(f"pandas.read_csv:  {t_read:6.2f} s   {rows_read:,} rows")
        print(f"CPU of the ingest (both processes, user + system): {cpu:.1f} s, {cpu / t_read:.2f} times read_csv")
        ratios.append(t_ingest / t_read)
        highest = max(highest, *samples, 0.0)
        if args.pg:
            pg_ratios.append(t_pg / t_read)
            print(f"ratio ingest into PG / read_csv of this run: {pg_ratios[-1]:.2f}")
        if args.repeat > 1:
            print(f"ratio ingest / read_csv of this run: {ratios[-1]:.2f}")

    import sqlite3

    with sqlite3.connect(db) as conn:
        journaled = conn.execute("select count(*) from journal").fetchone()[0]
        scored = conn.execute("select count(*) from calls where ring_rule is not null").fetchone()[0]
    print(f"stored: {journaled:,} journal rows, {scored:,} scored calls")
    summary = f"{ratios[0]:.2f}" if len(ratios) == 1 else (
        f"median {statistics.median(ratios):.2f} of {len(ratios)} runs in turns "
        f"(lowest {min(ratios):.2f}, highest {max(ratios):.2f})")
    print(f"ratio ingest / read_csv: {summary}   peak RSS of the ingest: {peak_mb:.0f} MB "
          f"(the larger process; both together: {highest:.0f} MB at the highest sample)")
    if rebuilds:
        print(f"ratio rebuild / ingest: {_median(rebuilds)}")
    if pg_ratios:
        print(f"ratio ingest into PostgreSQL / read_csv: {_median(pg_ratios)}")
    if not args.keep:
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()
    elif args.master:
        print(f"kept the database in {tmp}")
    else:
        print(f"kept in {tmp}")


if __name__ == "__main__":
    main()
