"""Damaged Master.csv, CEL and queue_log files: every line is a row or a reject with its file, line
and reason, whatever its bytes (UTF-8, CP949, neither); never a traceback, never a sound row lost.

pyarrow used to decode a malformed row as UTF-8 before handing it to callmon's invalid-row handler:
a CP949 or damaged row printed ``Exception ignored in: <bound method CsvBlocks._on_invalid ...>
... UnicodeDecodeError`` on the terminal. Those tests turn any such unraisable exception into a
failure.
"""

from __future__ import annotations

import csv
import random
import subprocess
import sys

import pytest

from callmon.sources.files import read_cdr, read_cel, read_queue_log
from tests.conftest import ROOT, SAMPLES
from tests.samples import CFG, rows_of

READERS = {"Master.csv": read_cdr, "cel.csv": read_cel, "queue_log": read_queue_log}
DELIMITER = {"Master.csv": b",", "cel.csv": b",", "queue_log": b"|"}

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")


def sample_lines(name: str) -> list[bytes]:
    """The real lines of the busiest sample's file."""
    return (SAMPLES / "j_load" / name).read_bytes().splitlines(keepends=True)


def damaged_master() -> tuple[list[bytes], dict[int, str]]:
    """Master.csv with one damage of each kind; returns the lines and the expected rejects
    (line number -> start of the reason)."""
    lines = sample_lines("Master.csv")
    lines[4] = '"","01099998888","홍길동"\n'.encode("cp949")  # CP949 and too few columns
    lines[9] = lines[9][:25] + b"\xff\xfe\xfd" + lines[9][25:]  # bytes that are no text at all
    lines[14] = lines[14].replace(b'"from-pstn"', b'"from-"pstn"', 1)  # a stray quote
    lines[19] = lines[19].replace(b'"PJSIP/', b'"PJSIP,/', 1)  # a comma inside quotes: sound
    lines[24] = lines[24].replace(b',"ANSWERED"', b',,"ANSWERED"', 1)  # a stray delimiter
    lines[29] = lines[29].replace(b'""Customer""', '""김민원""'.encode("cp949"))  # CP949 name: sound
    lines[-1] = lines[-1][:50]  # cut by a copy made mid-write
    return lines, {5: "expected 21 columns, found 3", 10: "binary junk (neither UTF-8 nor CP949 text)",
                   15: "malformed CSV", 25: "expected 21 columns, found 22",
                   len(lines): "truncated last line"}


def damaged_cel() -> tuple[list[bytes], dict[int, str]]:
    lines = sample_lines("cel.csv")
    lines[2] = '"CHAN_START","1795376838.416210","김상담"\n'.encode("cp949")
    lines[7] = lines[7][:12] + b"\x81\xff" + lines[7][12:]
    lines[30] = lines[30].replace(b'","', b'"x"', 1)  # quotes run into each other
    lines[40] = lines[40].replace(b'"Customer"', '"고객"'.encode("cp949"))  # sound
    lines[50] = lines[50].replace(b'"from-pstn"', b'"from,pstn"', 1)  # sound
    lines[60] = b"\x00\x00\x00\x00\n"  # a block of NULs, as a crashed writer leaves
    lines[-1] = lines[-1][:30]
    return lines, {3: "expected 20 columns, found 3", 8: "binary junk (neither UTF-8 nor CP949 text)",
                   31: "malformed CSV", 61: "binary junk (NUL bytes)", len(lines): "truncated last line"}


def damaged_queue_log() -> tuple[list[bytes], dict[int, str]]:
    lines = sample_lines("queue_log")
    lines[3] = "1795376841|1795376841.2|support|홍길동\n".encode("cp949")  # too few fields
    lines[6] = lines[6][:5] + b"\xff\xfe" + lines[6][5:]
    lines[9] = lines[9].replace(b"|", b"||", 1)  # a stray delimiter shifts every field
    lines[12] = lines[12].replace(b"NONE", "상담원".encode("cp949"), 1)  # sound
    lines[-1] = lines[-1][:20]
    return lines, {4: "expected at least 5 fields", 7: "binary junk", 10: "not a queue_log event: 'NONE'", len(lines): "truncated last line"}


DAMAGED = {"Master.csv": damaged_master, "cel.csv": damaged_cel, "queue_log": damaged_queue_log}


@pytest.mark.parametrize("name", list(DAMAGED))
def test_each_damaged_line_is_a_reject_with_its_line_and_reason_and_the_rest_are_rows(write, capfd, name):
    lines, expected = DAMAGED[name]()
    path = write(name, lines)
    rows, rejects = rows_of(path, READERS[name])
    assert all(r.file == str(path) for r in rejects)
    assert [r.line for r in rejects] == sorted(expected)
    for r in rejects:
        assert r.reason.startswith(expected[r.line]) and r.reason, (r.line, r.reason)
    assert [r.line for r in rows] == [n for n in range(1, len(lines) + 1) if n not in expected]
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_sound_rows_beside_damage_keep_their_text(write):
    """A CP949 caller name and a comma inside quotes are data, read as written."""
    lines, _ = damaged_master()
    rows, _ = rows_of(write("Master.csv", lines), read_cdr)
    by_line = {r.line: r for r in rows}
    assert by_line[30].clid.startswith('"김민원"')
    assert by_line[20].channel.startswith("PJSIP,/")


def damage(lines: list[bytes], delimiter: bytes, rng: random.Random) -> tuple[list[bytes], set[int]]:
    """Some lines damaged at random as the issue's 150 files were: flipped and cut bytes, stray
    quotes and delimiters, CP949 lines, a cut last line. Returns the lines and the damaged numbers
    (1-based); line ends are kept, except that the last line may lose its own."""
    out = list(lines)
    hit: set[int] = set()
    for i in rng.sample(range(len(out)), k=min(len(out), rng.randint(3, 12))):
        body, end = out[i][:-1], out[i][-1:]
        at = rng.randrange(len(body) + 1)
        op = rng.randrange(6)
        if op == 0:  # flipped bytes
            body = bytearray(body)
            for j in rng.sample(range(len(body)), k=min(len(body), 3)):
                body[j] ^= 1 << rng.randrange(8) or 1
                if body[j] == 0x0A:
                    body[j] = 0xFF
            body = bytes(body)
        elif op == 1:  # cut bytes
            body = body[:at] + body[at + rng.randint(1, 20):]
        elif op == 2:
            body = body[:at] + b'"' + body[at:]
        elif op == 3:
            body = body[:at] + delimiter + body[at:]
        elif op == 4:  # the line as a Korean Windows tool would have written it
            body = body.replace(b"Customer", "고객".encode("cp949")).replace(b"NONE", "없음".encode("cp949"))
            body += ",이상한".encode("cp949")
        else:  # invalid UTF-8 in the middle of a field
            body = body[:at] + b"\xc3\x28\xa0\xa1" + body[at:]
        out[i] = body + end
        hit.add(i + 1)
    if rng.random() < 0.3:
        out[-1] = out[-1][: rng.randrange(1, len(out[-1]))]
        hit.add(len(out))
    return out, hit


def check_every_line_accounted(path, name: str, hit: set[int], total: int) -> None:
    rows, rejects = rows_of(path, READERS[name])
    row_lines = [r.line for r in rows]
    reject_lines = [r.line for r in rejects]
    assert all(r.file == str(path) and r.reason for r in rejects)
    assert set(reject_lines) <= hit, "a line that was not damaged was rejected"
    assert sorted(row_lines + reject_lines) == list(range(1, total + 1)), "a line was lost or counted twice"


@pytest.mark.parametrize("name", list(READERS))
@pytest.mark.parametrize("seed", range(10))
def test_randomly_damaged_files_lose_no_sound_row_and_print_no_traceback(write, capfd, name, seed):
    """50 seeded damaged files per kind (here 10, the slow variant 50): every undamaged line is a
    row, every line is a row or a reject, nothing on stderr."""
    lines, hit = damage(sample_lines(name), DELIMITER[name], random.Random(f"{name}-{seed}"))
    check_every_line_accounted(write(name, lines), name, hit, len(lines))
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err


@pytest.mark.slow
@pytest.mark.parametrize("name", list(READERS))
def test_many_randomly_damaged_files_lose_no_sound_row(write, capfd, name):
    for seed in range(10, 60):
        lines, hit = damage(sample_lines(name), DELIMITER[name], random.Random(f"{name}-{seed}"))
        check_every_line_accounted(write(f"{seed}-{name}", lines), name, hit, len(lines))
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_ingest_of_damaged_files_reports_rejects_and_keeps_every_sound_row(tmp_path):
    """What the user sees: `callmon ingest` of the three damaged files (a real process, so the
    terminal output is all there) exits 1 for the rejects, prints no traceback, writes each
    FILE.rejects.csv with file, line and reason, and stores every other row."""
    paths, expected = [], {}
    for name, make in DAMAGED.items():
        lines, rejects = make()
        path = tmp_path / name
        path.write_bytes(b"".join(lines))
        paths.append(path)
        expected[name] = (len(lines), rejects)
    result = subprocess.run(
        [sys.executable, "-m", "callmon", "ingest", *map(str, paths), "--db", f"sqlite:///{tmp_path / 'c.db'}",
         "--config", str(SAMPLES / "callmon.toml")],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    for path in paths:
        total, rejects = expected[path.name]
        summary = next(line for line in result.stdout.splitlines() if line.startswith(f"{path}:"))
        assert f" {total - len(rejects)} rows ({total - len(rejects)} new)" in summary
        assert f" {len(rejects)} line(s) rejected" in summary
        with (tmp_path / f"{path.name}.rejects.csv").open(encoding="utf-8", newline="") as f:
            written = list(csv.DictReader(f))
        assert [(r["file"], int(r["line"])) for r in written] == [(str(path), n) for n in sorted(rejects)]
        assert all(r["reason"].startswith(rejects[int(r["line"])]) for r in written)
