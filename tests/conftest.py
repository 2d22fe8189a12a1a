"""Shared fixtures: real databases (a SQLite file; PostgreSQL when CALLMON_TEST_PG_URL is set),
the real captures in sample_cdr/, and the real command line run in-process."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_cdr"
# a scenario is a folder of sample_cdr/ with a truth.json: "a_direct_fast_caller_hangs_up" (the first
# PBX) or "chansip/a_direct_answer_2s5_caller_hangup" (the second PBX: chan_sip, named phones, no CEL)
SCENARIOS = sorted(str(p.parent.relative_to(SAMPLES)) for p in SAMPLES.glob("**/truth.json"))
CEL_SCENARIOS = [s for s in SCENARIOS if (SAMPLES / s / "cel.csv").exists()]
# the first PBX's scenarios, whose truth lists each phone's leg (the chan_sip set's does not)
LEG_SCENARIOS = [s for s in SCENARIOS if not s.startswith("chansip/")]
PG_URL = os.environ.get("CALLMON_TEST_PG_URL")
# a PBX in Seoul with three agents in two teams (the reader, report, rollup and monitoring tests)
TEAMS_CONFIG = """[pbx]
timezone = "Asia/Seoul"
[directory]
"2001" = { name = "Kim Agent", team = "민원팀" }
"2002" = { name = "Lee Agent", team = "민원팀" }
"2003" = { name = "Park Agent", team = "요금팀" }
"""
# the sample-file helpers and fixtures, shared by the tests of sources, calls and services
pytest_plugins = ["tests.samples", "tests.callback_story"]
# subprocesses (`python -m callmon ...`) run this checkout's code too
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))


def pytest_report_header(config):
    return f"callmon PostgreSQL tests: {'on (' + PG_URL.split('@')[-1] + ')' if PG_URL else 'off (set CALLMON_TEST_PG_URL)'}"


@pytest.fixture
def cfg_path(tmp_path) -> str:
    """A configuration file of :data:`TEAMS_CONFIG`."""
    path = tmp_path / "callmon.toml"
    path.write_text(TEAMS_CONFIG, encoding="utf-8")
    return str(path)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'callmon.db'}"


@pytest.fixture
def pg_url(pg_urls) -> str:
    """A fresh schema on the PostgreSQL server for this test; dropped afterwards.

    Without CALLMON_TEST_PG_URL the test is skipped; with it, an unreachable server is an error.
    """
    return pg_urls()


@pytest.fixture
def pg_urls():
    """Makes a fresh schema on the PostgreSQL server each call (its URL); all dropped afterwards.
    ``make(database=True)``: a database of its own instead, where no other test's session is
    (a large import loads first only when it is alone on its database: Store.load_first).
    Skipped and failed as :func:`pg_url`."""
    if not PG_URL:
        pytest.skip("CALLMON_TEST_PG_URL not set")
    import sqlalchemy as sa

    from callmon.storage import normalize_url

    engine = sa.create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    made: list[tuple[str, str]] = []

    def make(database: bool = False) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE {"DATABASE" if database else "SCHEMA"} "{name}"'))
        made.append(("DATABASE" if database else "SCHEMA", name))
        engine.dispose()  # no idle session of the fixture's left on the database
        if database:
            return str(sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
        sep = "&" if "?" in PG_URL else "?"
        return f"{PG_URL}{sep}options=-csearch_path%3D{name}"

    yield make
    with engine.connect() as conn:
        for kind, name in made:
            conn.execute(sa.text(f'DROP {kind} "{name}"' + (" WITH (FORCE)" if kind == "DATABASE" else " CASCADE")))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """Each test using it runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def sample_config_path(scenario: str) -> Path:
    """The callmon.toml nearest to a scenario's folder: it states the zone its Master.csv was
    written in (a-l and chansip: UTC; m, o, p: Korean time)."""
    folder = SAMPLES / scenario
    while not (folder / "callmon.toml").exists():
        folder = folder.parent
    return folder / "callmon.toml"


def sample_config(scenario: str):
    """The configuration a scenario's files are read with: the defaults and the zone of its Master.csv."""
    from callmon.core.config import load_config

    return load_config(sample_config_path(scenario))


def truth(scenario: str) -> list[dict]:
    return json.loads((SAMPLES / scenario / "truth.json").read_text())["calls"]


def expected(t: dict) -> dict:
    """A truth.json call in callmon's terms (sample_cdr/README.md gives the mapping).

    ``dialled: null`` (no DID) is ``called: ""``; an originated call is outbound from the staff
    phone; ``answered_by_aliases`` (named phones) lists every name that stands for the answerer.
    """
    dialled = t["dialled"] or ""
    internal = t["caller"].isdigit() and len(t["caller"]) <= 6 and 0 < len(dialled) <= 6
    outbound = t.get("originated", False) or (not internal and len(t["caller"]) <= 6)
    direction = "internal" if internal else "outbound" if outbound else "inbound"
    side = {
        "inbound": {"caller": "customer", "agent": "agent"},
        "outbound": {"caller": "agent", "agent": "agent", "customer": "customer"},
        "internal": {"caller": "caller", "agent": "callee"},
    }[direction]
    answered_by = t["answered_by"]
    if answered_by == "customer":
        answered_by = t["dialled"]
    if answered_by:
        outcome = "answered"
    elif t.get("voicemail"):
        outcome = "voicemail"
    elif t["rejected"] and "486" in t["rejected"]:
        outcome = "busy"
    elif t["hung_up_first"] == "caller":
        outcome = "abandoned"
    else:
        outcome = "no_answer"
    return {
        "caller": t["caller"],
        "called": dialled,
        "direction": direction,
        "outcome": outcome,
        "answered_by": answered_by,
        "hangup_by": side[t["hung_up_first"]] if t["hung_up_first"] else "system",
        "transferred": t["transferred"],
        "ring_seconds": t["ring_seconds"],
        "answered_by_aliases": tuple(t.get("answered_by_aliases") or (answered_by,)),
    }


def same_fields(call, exp: dict, fields) -> tuple[dict, dict]:
    """(got, want) of ``fields``: ``answered_by`` agrees when it is any alias of the answerer."""
    got = {k: call[k] if isinstance(call, dict) else getattr(call, k) for k in fields}
    want = {k: exp[k] for k in fields}
    if "answered_by" in got and got["answered_by"] in exp["answered_by_aliases"]:
        want["answered_by"] = got["answered_by"]
    return got, want


def run_cli(*args: str, expect: int | None = 0):
    """Run ``callmon ARGS`` in-process through the real typer app; return the result."""
    from typer.testing import CliRunner

    from callmon.cli import _register, app

    _register()
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    if expect is not None:
        assert result.exit_code == expect, f"exit {result.exit_code}: {result.output}"
    return result


def alembic_to(url: str, revision: str, down: bool = False) -> None:
    """Migrate the database at ``url`` up (or ``down``) to ``revision``, as ``Store`` would."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config as AlembicConfig

    import callmon.storage.store as store_module
    from callmon.storage import normalize_url

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(store_module.__file__).with_name("migrations")))
    engine = sa.create_engine(normalize_url(url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
    engine.dispose()
