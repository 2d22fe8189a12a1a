"""``callmon endpoints``: what each PBX showed about its endpoints, and the class callmon gives them.

An endpoint is the device part of a channel name (``agent1`` of ``SIP/agent1-0000000a``,
``pstn-in`` of ``PJSIP/pstn-in-00000003``). callmon classes each as a staff phone or the outside
world from the evidence the PBX gives (:mod:`callmon.calls.parties`); this lists, per PBX, the
class, the evidence it rests on (``strong`` or weak), the extension the PBX gave a phone, when
it was first and last seen, and in how many calls (a call imported again in a later run from
another of its files may be counted twice). A weak class is settled by the configuration
(``[directory]``, ``[pbx] staff_endpoint_pattern``).
"""

from __future__ import annotations

from dataclasses import replace

from callmon.calls.parties import Parties
from callmon.cli import app
from callmon.cli.calls import Format
from callmon.cli.common import ConfigOption, DbOption, PbxOption, open_all
from callmon.cli.output import FormatOption, emit
from callmon.reporting.render import Layout

ENDPOINTS = Layout(
    fields=("pbx", "endpoint", "class", "strong", "evidence", "extension", "first_seen", "last_seen", "calls"),
    title="엔드포인트 {n}개 / {n} endpoints",
    columns=(("pbx", "교환기 pbx"), ("endpoint", "엔드포인트 endpoint"), ("class", "구분 class"),
             ("strong", "확실 strong"), ("evidence", "근거 evidence"), ("extension", "내선 extension"),
             ("first_seen", "처음 first seen"), ("last_seen", "마지막 last seen"), ("calls", "통화 calls")),
    times=frozenset({"first_seen", "last_seen"}),
)


@app.command("endpoints")
def endpoints(format: FormatOption = Format.table, db: DbOption = None, config: ConfigOption = None,
              pbx: PbxOption = None) -> None:
    """엔드포인트 보기 / Every endpoint of each PBX: staff phone or outside, and why (--pbx: one PBX)."""
    store, cfg = open_all(db, config, pbx)
    rows = []
    for name in ([cfg.pbx] if pbx else store.endpoint_pbxs()):
        imported = store.load_directory(name)
        pbx_cfg = replace(cfg, pbx=name, directory={**cfg.directory, **imported})
        for e, ev in Parties(pbx_cfg, store.load_endpoints(name)).endpoints():
            rows.append({"pbx": name, "endpoint": e.endpoint, "class": e.kind, "strong": e.strong,
                         "evidence": e.evidence, "extension": e.extension, "first_seen": ev.first_seen,
                         "last_seen": ev.last_seen, "calls": ev.calls})
    emit(rows, ENDPOINTS, cfg.tz, format)
