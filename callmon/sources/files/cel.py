"""CEL (Channel Event Logging) rows: one :class:`CelRow` per event, rejects for the rest.

Two shapes are read:

- cel_custom output without a header, columns in the order of the shared captures' mapping:
  ``eventtype, eventtime, cid_name, cid_num, cid_ani, cid_rdnis, cid_dnid, exten, context,
  channame, appname, appdata, amaflags, accountcode, uniqueid, linkedid, peer, userfield,
  userdeftype, extra``; ``eventtime`` is epoch seconds with microseconds;
- a CSV with a header row, as exported from the ``cel`` table of cel_odbc / cel_pgsql (``id``,
  ``peeraccount`` and any column order); ``eventtime`` may then be a local time
  (``2026-11-22 19:42:42.150295``) read in the configured zone.

``eventtype`` must be a name (``CHAN_START``, ``HANGUP``...). ``extra`` stays the JSON text it was;
the assembler reads it (``hangupsource``, ``hangupcause``, ``dialstatus``, transfer targets).

>>> from callmon.core.config import Config
>>> rows = list(read_cel("sample_cdr/a_direct_fast_caller_hangs_up/cel.csv", Config()))
>>> rows[0].eventtype, rows[0].eventtime, rows[0].channame
('CHAN_START', 1795376562.150295, 'PJSIP/pstn-in-00000000')
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple

from callmon.core.config import Config
from callmon.core.errors import InputError
from callmon.sources.files.convert import epoch_column
from callmon.sources.files.rows import batches, digest, flatten, make_rows, rebuild
from callmon.sources.files.source import Batch, CsvBlocks, RawBlock, Reject, TextSource

CEL_CUSTOM = ("eventtype", "eventtime", "cid_name", "cid_num", "cid_ani", "cid_rdnis", "cid_dnid", "exten",
              "context", "channame", "appname", "appdata", "amaflags", "accountcode", "uniqueid", "linkedid",
              "peer", "userfield", "userdeftype", "extra")
KNOWN_EVENTS = frozenset({
    "CHAN_START", "CHAN_END", "HANGUP", "ANSWER", "APP_START", "APP_END", "BRIDGE_ENTER", "BRIDGE_EXIT",
    "PARK_START", "PARK_END", "BLINDTRANSFER", "ATTENDEDTRANSFER", "USER_DEFINED", "LINKEDID_END", "PICKUP",
    "FORWARD", "LOCAL_OPTIMIZE", "LOCAL_OPTIMIZE_BEGIN", "STREAM_BEGIN", "STREAM_END", "DTMF",
    "BRIDGE_START", "BRIDGE_END", "BRIDGE_UPDATE", "TRANSFER", "CONF_ENTER", "CONF_EXIT", "CONF_START",
    "CONF_END", "3WAY_START", "3WAY_END", "HOOKFLASH"})
REQUIRED = ("eventtype", "eventtime", "channame", "uniqueid", "linkedid")
HEADER_ALIASES = {"channel": "channame", "channel_name": "channame", "event_type": "eventtype",
                  "event_time": "eventtime", "eventextra": "extra", "bridgepeer": "peer"}
_EVENT_NAME = re.compile(r"^[A-Z][A-Z_0-9]*$")


class CelRow(NamedTuple):
    """One CEL event of one channel; ``eventtime`` in epoch seconds (microsecond precision)."""

    eventtype: str
    eventtime: float
    cid_name: str
    cid_num: str
    cid_ani: str
    cid_rdnis: str
    cid_dnid: str
    exten: str
    context: str
    channame: str
    appname: str
    appdata: str
    amaflags: str
    accountcode: str
    uniqueid: str
    linkedid: str
    peer: str
    userfield: str
    userdeftype: str
    extra: str
    peeraccount: str = ""
    file: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        """Natural dedupe key: a hash of the event's identity (type, time to the microsecond,
        channel, ids, extra), the same whichever file shape it was read from."""
        return "cel:" + digest((self.eventtype, f"{self.eventtime:.6f}", self.uniqueid, self.linkedid,
                                self.channame, self.appname, self.extra))

    def columns(self) -> dict:
        """The row as a dict of plain values, for the journal."""
        return self._asdict()

    @classmethod
    def from_columns(cls, columns: Mapping[str, object]) -> "CelRow":
        """The row again from :meth:`columns` as stored."""
        return rebuild(cls, columns, _NUMBERS)


FIELDS = CelRow._fields
_NUMBERS = {"eventtime": (float, False), "line": (int, False)}


def header_names(fields: list[str]) -> tuple[str, ...] | None:
    """Canonical names if ``fields`` is a CEL header row, else None."""
    names = tuple(HEADER_ALIASES.get(f.strip().lower(), f.strip().lower()) for f in fields)
    return names if set(REQUIRED) <= set(names) else None


def sniff(src: TextSource) -> tuple[tuple[str, ...], int]:
    """``(column names, header lines to skip)`` of a CEL file, from its first lines."""
    sample = []
    for line in src.first_lines(50):
        try:
            sample.append(next(csv.reader((line,)), []))
        except csv.Error:
            sample.append([])
    if not sample:
        return CEL_CUSTOM, 0
    names = header_names(sample[0])
    if names is not None:
        return names, 1
    counts = [len(r) for r in sample if r and _EVENT_NAME.match(r[0]) and len(r) >= len(CEL_CUSTOM)]
    if not counts:
        raise InputError(f"not a CEL file: no line starts with an event type and has {len(CEL_CUSTOM)} "
                         "columns, and the first is not a header naming eventtype, eventtime, channame, "
                         "uniqueid, linkedid", file=src.name)
    count = max(set(counts), key=counts.count)
    return CEL_CUSTOM + tuple(f"extra_{i}" for i in range(count - len(CEL_CUSTOM))), 0


def _convert(block: RawBlock, zone: str, file: str) -> tuple[list[CelRow], list[Reject]]:
    cols = block.columns
    reasons: dict[int, str] = {}
    values: dict[str, list | None] = {f: cols[f].to_pylist() for f in FIELDS[:-2] if f in cols and f != "eventtime"}
    values["eventtime"], bad = epoch_column(cols["eventtime"], zone)
    for i in bad:
        reasons[i] = f"bad event time: {cols['eventtime'][i].as_py()!r}"
    for i, t in enumerate(values["eventtime"]):
        if t is None:
            reasons.setdefault(i, "missing event time")
    for i, (kind, uid) in enumerate(zip(values["eventtype"], values["uniqueid"])):
        if not _EVENT_NAME.match(kind):
            reasons.setdefault(i, f"not a CEL event type: {kind!r}")
        elif not uid:
            reasons.setdefault(i, "missing uniqueid")
    return make_rows(CelRow._make, FIELDS, values, block, file, reasons)


def read_cel_batches(
    path: str | Path, config: Config, *, zone: str | None = None, block_bytes: int | None = None
) -> Iterator[Batch[CelRow]]:
    """Read a CEL file in batches of rows and rejects (opened and recognised at once)."""
    src = TextSource.open(path) if block_bytes is None else TextSource.open(path, block_bytes=block_bytes)
    names, skip = sniff(src)
    zone = zone or config.timezone
    return batches(src, CsvBlocks(src, names, skip=skip), lambda b: _convert(b, zone, src.name))


def read_cel(path: str | Path, config: Config, *, zone: str | None = None) -> Iterator[CelRow | Reject]:
    """Every :class:`CelRow` and :class:`~callmon.sources.files.source.Reject` of a file, in line order."""
    return flatten(read_cel_batches(path, config, zone=zone))
