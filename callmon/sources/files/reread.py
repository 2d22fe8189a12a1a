"""A file's rows again from their lines, as the journal keeps them.

The journal keeps a file row as its line (the text as decoded, without the line end) and the
file it came from: its name, kind, how it is laid out (:func:`file_layout`: the CSV columns in
file order, or queue_log's pipe-separated lines) and the zone its local times were read in.
:func:`reread` parses lines of one file with the same readers an import uses, so a row read back
is the row first read (file and line included).

>>> from callmon.core.config import Config
>>> from callmon.sources.files import read_queue_log_batches
>>> path = "sample_cdr/d_queue_rna_then_answer/queue_log"
>>> batch = next(iter(read_queue_log_batches(path, Config())))
>>> layout = file_layout("queue_log", TextSource.open(path))
>>> layout
'pipe'
>>> again = reread("queue_log", layout, "UTC", path, [r.line for r in batch.rows], batch.raw)
>>> again == batch.rows
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from callmon.core.errors import InputError
from callmon.sources.files import cdr, cel, queue_log
from callmon.sources.files.source import CsvBlocks, TextBlock, TextSource

PIPE = "pipe"  # queue_log's own format: time|callid|queuename|agent|event|data...
CSV = "csv:"  # then the column names in file order, comma-separated

_CONVERT = {"cdr": cdr._convert, "cel": cel._convert, "queue_log": queue_log._convert}


@dataclass(frozen=True)
class FileIdentity:
    """Which file the journaled lines came from and how to read them again."""

    kind: str
    name: str  # as given to the import (the rows' ``file``)
    layout: str
    zone: str
    size: int | None = None
    mtime: float | None = None
    head_sha1: str | None = None  # of the file's first 64 KiB


def file_layout(kind: str, src: TextSource) -> str:
    """How the readers lay out this file: :data:`PIPE`, or :data:`CSV` and its column names
    (what ``read_*_batches`` find themselves from the file's first lines)."""
    if kind == "cdr":
        names, _ = cdr.sniff(src)
    elif kind == "cel":
        names, _ = cel.sniff(src)
    elif kind == "queue_log":
        first = src.first_lines(1)
        names = queue_log.header_names(first[0]) if first else None
        if names is None:
            return PIPE
    else:
        raise ValueError(f"not a file kind: {kind!r}")
    return CSV + ",".join(names)


def identify(kind: str, path: str | Path, zone: str) -> FileIdentity:
    """The identity of a file about to be imported (its zone: what the import reads its times in)."""
    src = TextSource.open(path)
    try:
        mtime = Path(path).stat().st_mtime
    except OSError:
        mtime = None
    return FileIdentity(kind, str(path), file_layout(kind, src), zone, src.size, mtime,
                        hashlib.sha1(src.head).hexdigest())


def reread(kind: str, layout: str, zone: str, file: str, lines: Sequence[int], texts: Sequence[str]) -> list[Any]:
    """The rows of some journaled lines of one file (``file``: its name), in the order given.

    Raises :class:`~callmon.core.errors.InputError` if a line no longer reads as a row."""
    if layout == PIPE:
        rows, rejects = queue_log._convert_lines(TextBlock(list(zip(lines, texts)), [], "utf-8"), zone, file)
    elif layout.startswith(CSV):
        names = layout[len(CSV):].split(",")
        parser = CsvBlocks(TextSource(Path(file), file, b"", 0), names)
        rows, rejects = _CONVERT[kind](parser.reread(lines, texts), zone, file)
    else:
        raise InputError(f"unknown journal layout {layout!r}", file=file)
    if rejects:
        r = rejects[0]
        raise InputError(f"a journaled line no longer reads as a {kind} row: {r.reason}", file=file, line=r.line)
    return rows
