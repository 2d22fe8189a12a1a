"""Asterisk's text files read in blocks: physical lines, their numbers, their encoding, rejects.

Every importer reads through :class:`TextSource`. It opens the file at once (an unreadable file is
an :class:`~callmon.core.errors.InputError` before any row is read), then hands out blocks of whole
lines (a few MB each) so memory stays flat however large the file. A CSV block is parsed by
pyarrow when it is clean (valid UTF-8, no NUL byte, one record per physical line); any other block
falls back to the line-by-line path, which decodes each line on its own (UTF-8, else CP949, else
it is junk) and rejects exactly the lines that are bad, with their line numbers.

Lines that are not terminated at the end of the file are rejected: Asterisk ends every line it
writes, so a missing line end means the writer was interrupted (or the file was copied mid-write)
and the row may be cut in any field.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Iterator, Sequence, TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv

from callmon.core.errors import InputError

log = logging.getLogger(__name__)

BLOCK_BYTES = 8 << 20
THREADED_MIN_BYTES = 1 << 20  # smaller blocks are parsed on the calling thread: threads gain nothing
PEEK_BYTES = 64 << 10
UTF8_BOM = b"\xef\xbb\xbf"
FALLBACK_ENCODING = "cp949"  # Korean Windows / EUC-KR superset, what older PBX setups write

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Reject:
    """A line that was not used: where it is, why, and (the start of) what it said."""

    file: str
    line: int
    reason: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Batch(Generic[R]):
    """Rows and rejects of one block of a file, in line order within each list.

    ``encoding`` says how the block's text was decoded: ``utf-8``, ``cp949`` or ``utf-8+cp949``
    when lines of both were found.
    """

    file: str
    rows: list[R]
    rejects: list[Reject]
    encoding: str = "utf-8"
    nbytes: int = 0  # bytes of the file this batch covers (for a progress bar)
    raw: list[str] = field(default_factory=list)  # each row's line as in the file (its text without the line end)
    # the rows as columns instead (a reader asked for columns: ``rows`` is then empty): one list
    # per field of the row type, each as long as ``raw``
    columns: dict[str, list] | None = None

    @property
    def count(self) -> int:
        """How many rows the batch holds (as rows or as columns)."""
        return len(self.raw) if self.columns is not None else len(self.rows)


@dataclass(slots=True)
class RawBlock:
    """String columns of the good records of a block, their line numbers, and the rejects."""

    columns: dict[str, pa.Array]
    lines: list[int]
    rejects: list[Reject]
    encoding: str
    nbytes: int = 0
    texts: list[str] = field(default_factory=list)  # each record's line, decoded, without its line end


def owned_buffer(data: bytes) -> pa.Buffer:
    """A copy of ``data`` in memory pyarrow allocated and frees itself.

    ``pa.py_buffer`` would lend pyarrow the ``bytes`` object: a worker thread that drops the last
    reference then needs the GIL, and if the interpreter is shutting down by then the process
    aborts (``terminate called without an active exception``, exit status 134).

    >>> owned_buffer(b"a,b\\n").to_pybytes()
    b'a,b\\n'
    """
    buf = pa.allocate_buffer(len(data))
    if data:
        memoryview(buf).cast("B")[:] = data
    return buf


def _snippet(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="backslashreplace")
    return raw.rstrip("\r\n")[:200]


def decode_line(raw: bytes) -> tuple[str | None, str]:
    """``(text, encoding)`` of one line, or ``(None, reason)`` when it is binary junk.

    The encoding is ``ascii`` (both would do), ``utf-8`` or ``cp949``."""
    if b"\x00" in raw:
        return None, "binary junk (NUL bytes)"
    if raw.isascii():
        return raw.decode("ascii"), "ascii"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode(FALLBACK_ENCODING), FALLBACK_ENCODING
    except UnicodeDecodeError:
        return None, "binary junk (neither UTF-8 nor CP949 text)"


def _encoding_name(seen: Counter) -> str:
    named = [e for e in ("utf-8", FALLBACK_ENCODING) if seen.get(e)]
    return "+".join(named) or "utf-8"


@dataclass
class TextSource:
    """One input file opened for block reading.

    >>> src = TextSource.open("sample_cdr/d_queue_rna_then_answer/queue_log")
    >>> src.first_lines(1)
    ['1795376623|1795376622.6|support|NONE|ENTERQUEUE||01010300001|1']
    """

    path: Path
    name: str
    head: bytes
    size: int
    block_bytes: int = BLOCK_BYTES
    encodings: Counter = field(default_factory=Counter)

    @classmethod
    def open(cls, path: str | Path, *, block_bytes: int = BLOCK_BYTES) -> "TextSource":
        """Check the file can be read and peek at its start; InputError if it cannot."""
        p = Path(path)
        try:
            with p.open("rb") as f:
                head = f.read(PEEK_BYTES)
                size = p.stat().st_size
        except FileNotFoundError as exc:
            raise InputError("no such file", file=str(path)) from exc
        except IsADirectoryError as exc:
            raise InputError("is a directory, not a file", file=str(path)) from exc
        except PermissionError as exc:
            raise InputError("permission denied", file=str(path)) from exc
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", file=str(path)) from exc
        return cls(p, str(path), head, size, block_bytes)

    def first_lines(self, n: int = 20) -> list[str]:
        """The first ``n`` complete lines, decoded (junk lines come out as empty strings)."""
        data = self.head[len(UTF8_BOM):] if self.head.startswith(UTF8_BOM) else self.head
        lines = data.split(b"\n")
        if len(self.head) < self.size or not data.endswith(b"\n"):
            lines = lines[:-1]  # the last piece is cut by the peek, or unterminated
        out = []
        for raw in lines[:n]:
            text, _ = decode_line(raw)
            out.append((text or "").rstrip("\r"))
        return out

    def blocks(self) -> Iterator[tuple[int, bytes, bool]]:
        """``(first line number, data, terminated)``: whole lines, a block at a time.

        ``terminated`` is False only for the final piece of a file that does not end with a line
        end; that piece holds exactly one (cut) line.
        """
        line = 1
        try:
            with self.path.open("rb") as f:
                rest = b""
                first = True
                while True:
                    chunk = f.read(self.block_bytes)
                    if first and chunk.startswith(UTF8_BOM):
                        chunk = chunk[len(UTF8_BOM):]
                    first = False
                    if not chunk:
                        if rest:
                            yield line, rest, False
                        return
                    data = rest + chunk
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        rest = data
                        continue
                    rest = data[cut + 1:]
                    block = data[:cut + 1]
                    yield line, block, True
                    line += block.count(b"\n")
        except OSError as exc:
            raise InputError(f"read failed: {exc.strerror or exc}", file=self.name) from exc

    def note_encodings(self, block_encodings: Counter) -> None:
        self.encodings.update(block_encodings)

    @property
    def encoding(self) -> str:
        """What the lines read so far were decoded as (``utf-8``, ``cp949``, ``utf-8+cp949``)."""
        return _encoding_name(self.encodings)

    def log_summary(self) -> None:
        if self.encodings.get(FALLBACK_ENCODING):
            log.info("%s: %d lines were not UTF-8 and were read as CP949", self.name, self.encodings[FALLBACK_ENCODING])


def truncated(src: TextSource, line: int, raw: bytes) -> Reject:
    return Reject(src.name, line, "truncated last line (no line end at the end of the file)", _snippet(raw))


class CsvBlocks:
    """The records of a CSV file with a known column layout, block by block.

    ``names`` are the columns in file order; ``skip`` physical lines (a header) are passed over.
    Each block comes back as string columns of its well-formed records plus rejects for lines with
    another column count, broken quoting, junk bytes, or a cut last line.
    """

    def __init__(self, src: TextSource, names: Sequence[str], *, skip: int = 0, delimiter: str = ","):
        self.src = src
        self.names = list(names)
        self.skip = skip
        self.delimiter = delimiter
        # no invalid_row_handler: pyarrow would decode the bad row as UTF-8 to call it (a traceback
        # on a CP949 or damaged row) from its worker threads; a parse error sends the block to the
        # line-by-line path, which finds and rejects the bad lines itself
        self._read = pacsv.ReadOptions(column_names=self.names, use_threads=True)
        self._read_serial = pacsv.ReadOptions(column_names=self.names, use_threads=False)
        self._parse = pacsv.ParseOptions(delimiter=delimiter)
        self._convert = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in self.names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        self._cp949_blocks = False

    def __iter__(self) -> Iterator[RawBlock]:
        for first, data, terminated in self.src.blocks():
            nbytes = len(data)
            if first <= self.skip:
                # drop the header line(s) from the first block
                drop = self.skip - first + 1
                cut = -1
                for _ in range(drop):
                    cut = data.find(b"\n", cut + 1)
                    if cut < 0:
                        break
                if cut < 0:
                    continue
                data, first = data[cut + 1:], self.skip + 1
                if not data:
                    continue
            block = self._fast(first, data) if terminated else None
            if block is None:
                block = self._slow(first, data, terminated)
            else:
                self.src.note_encodings(Counter({block.encoding: len(block.lines)}))
            block.nbytes = nbytes
            yield block

    # -- the fast path: pyarrow over a clean block ----------------------------------------------
    def _fast(self, first: int, data: bytes) -> RawBlock | None:
        if b"\x00" in data:
            return None
        encoding = "utf-8"
        table = self._arrow(data)
        if table is None and self._cp949_blocks:
            try:
                # CP949 trail bytes are never ',', '"' or a line end: re-encoding keeps the lines
                data = data.decode(FALLBACK_ENCODING).encode("utf-8")
            except UnicodeDecodeError:
                return None
            table = self._arrow(data)
            encoding = FALLBACK_ENCODING
        if table is None or table.num_rows != data.count(b"\n"):
            return None
        cols = {n: table.column(n).combine_chunks() for n in self.names}
        return RawBlock(cols, list(range(first, first + table.num_rows)), [], encoding, texts=line_texts(data))

    def _arrow(self, data: bytes) -> pa.Table | None:
        read = self._read if len(data) >= THREADED_MIN_BYTES else self._read_serial
        try:
            return pacsv.read_csv(owned_buffer(data), read_options=read, parse_options=self._parse,
                                  convert_options=self._convert)
        except pa.ArrowInvalid:
            return None

    # -- the slow path: line by line, exact rejects ----------------------------------------------
    def _slow(self, first: int, data: bytes, terminated: bool) -> RawBlock:
        pieces = data.split(b"\n")
        if terminated:
            pieces.pop()
        records: list[list[str]] = []
        lines: list[int] = []
        texts: list[str] = []
        rejects: list[Reject] = []
        seen: Counter = Counter()
        want = len(self.names)
        for i, raw in enumerate(pieces):
            n = first + i
            raw = raw.rstrip(b"\r")
            if not terminated and i == len(pieces) - 1:
                rejects.append(truncated(self.src, n, raw))
                continue
            if not raw.strip():
                continue
            text, how = decode_line(raw)
            if text is None:
                rejects.append(Reject(self.src.name, n, how, _snippet(raw)))
                continue
            try:
                fields = next(csv.reader((text,), delimiter=self.delimiter, strict=True))
            except (csv.Error, StopIteration) as exc:
                rejects.append(Reject(self.src.name, n, f"malformed CSV: {exc}", _snippet(text)))
                continue
            if len(fields) != want:
                rejects.append(Reject(self.src.name, n, f"expected {want} columns, found {len(fields)}", _snippet(text)))
                continue
            seen[how] += 1
            records.append(fields)
            lines.append(n)
            texts.append(text)
        if seen.get(FALLBACK_ENCODING) and not seen.get("utf-8"):
            self._cp949_blocks = True  # later blocks: try CP949 for the whole block first
        self.src.note_encodings(seen)
        cols = {name: pa.array([r[j] for r in records], pa.string()) for j, name in enumerate(self.names)}
        return RawBlock(cols, lines, rejects, _encoding_name(seen), texts=texts)

    def reread(self, lines: Sequence[int], texts: Sequence[str]) -> RawBlock:
        """The block of some lines of the file as journaled (their texts, any line numbers):
        parsed the way :meth:`__iter__` parses a block, numbered with ``lines``."""
        data = ("\n".join(texts) + "\n").encode("utf-8", "surrogatepass") if texts else b""
        block = self._fast(0, data) or self._slow(0, data, True)
        block.lines = [lines[i] for i in block.lines]
        block.rejects = [Reject(r.file, lines[r.line], r.reason, r.text) for r in block.rejects]
        return block


def line_texts(data: bytes) -> list[str]:
    """The lines of a block of whole UTF-8 lines, without their line ends (``\\n``, ``\\r\\n``)."""
    texts = data.decode("utf-8").split("\n")
    texts.pop()
    if b"\r" in data:
        texts = [t.rstrip("\r") for t in texts]
    return texts


@dataclass(slots=True)
class TextBlock:
    """Decoded lines ``(number, text)`` of a block, with the rejects (junk, cut last line)."""

    lines: list[tuple[int, str]]
    rejects: list[Reject]
    encoding: str
    nbytes: int = 0


def text_blocks(src: TextSource, *, skip: int = 0) -> Iterator[TextBlock]:
    """The file's non-blank lines, decoded, a block at a time (for line formats like queue_log).

    A block that is valid UTF-8 as a whole is split at once; otherwise each line is decoded on
    its own (UTF-8, else CP949, else rejected as junk).
    """
    for first, data, terminated in src.blocks():
        pieces = data.split(b"\n")
        if terminated:
            pieces.pop()
        lines: list[tuple[int, str]] = []
        rejects: list[Reject] = []
        seen: Counter = Counter()
        whole = None
        if terminated and b"\x00" not in data:
            try:
                whole = data.decode("utf-8").split("\n")[:-1]
            except UnicodeDecodeError:
                whole = None
        for i, raw in enumerate(pieces):
            n = first + i
            if n <= skip:
                continue
            if whole is not None:
                text, how = whole[i].rstrip("\r"), "utf-8"
            elif not terminated and i == len(pieces) - 1:
                rejects.append(truncated(src, n, raw))
                continue
            else:
                text, how = decode_line(raw.rstrip(b"\r"))
                if text is None:
                    rejects.append(Reject(src.name, n, how, _snippet(raw)))
                    continue
            if text.strip():
                seen[how] += 1
                lines.append((n, text))
        src.note_encodings(seen)
        yield TextBlock(lines, rejects, _encoding_name(seen), len(data))
