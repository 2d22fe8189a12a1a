"""`callmon directory import/list`: the imported directory wins over the config's, extension by
extension; calls (after `rebuild`), agent results and callbacks carry its agent and team."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLES, run_cli
from tests.cli_main import main_fails

CONFIG = '[directory]\n"2001" = { name = "Kim Agent", team = "민원팀" }\n"2003" = { name = "Park Agent", team = "요금팀" }\n'


@pytest.fixture
def cfg(tmp_path) -> str:
    path = tmp_path / "callmon.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return str(path)


def directory_list(db: str, cfg: str) -> list[dict]:
    return json.loads(run_cli("directory", "list", "--format", "json", "--db", db, "--config", cfg).stdout)


def test_import_wins_over_the_config_and_rebuild_applies_it(db_url, cfg, tmp_path):
    """2001 renamed and moved by the CSV, 2002 added, 2003 only in the config: all three in force."""
    ingest = ("ingest", str(SAMPLES / "b_direct_late_agent_hangs_up" / "ami.raw"), str(SAMPLES / "c_direct_abandon" / "ami.raw"))
    run_cli(*ingest, "--db", db_url, "--config", cfg)
    csv_file = tmp_path / "staff.csv"
    csv_file.write_text("\ufeffextension,name,team\n2001,김상담,고객지원팀\n2002,이상담,고객지원팀\n", encoding="utf-8")
    out = run_cli("directory", "import", str(csv_file), "--db", db_url, "--config", cfg).stdout
    assert "2 employee(s) imported" in out and "callmon rebuild" in out
    assert directory_list(db_url, cfg) == [
        {"extension": "2001", "name": "김상담", "team": "고객지원팀", "source": "import"},
        {"extension": "2002", "name": "이상담", "team": "고객지원팀", "source": "import"},
        {"extension": "2003", "name": "Park Agent", "team": "요금팀", "source": "config"},
    ]
    calls = lambda: {c["caller"]: c for c in json.loads(run_cli("calls", "--format", "json", "--db", db_url).stdout)}  # noqa: E731
    assert calls()["01010100001"]["agent"] == "Kim Agent"  # scored before the import
    run_cli("rebuild", "--db", db_url, "--config", cfg)
    answered = calls()["01010100001"]
    assert (answered["agent"], answered["team"]) == ("김상담", "고객지원팀")
    (cb,) = json.loads(run_cli("callbacks", "--format", "json", "--db", db_url, "--config", cfg).stdout)
    assert (cb["agent"], cb["team"]) == ("김상담", "고객지원팀")  # c_direct_abandon rang 2001's direct line


def test_replace_drops_extensions_the_file_does_not_list(sqlite_url, cfg, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("2001,A,T1\n2002,B,T1\n", encoding="utf-8")
    second.write_text("2002,B2\n", encoding="utf-8")  # no team: allowed
    run_cli("directory", "import", str(first), "--db", sqlite_url, "--config", cfg)
    run_cli("directory", "import", str(second), "--replace", "--db", sqlite_url, "--config", cfg)
    assert [(e["extension"], e["name"], e["team"], e["source"]) for e in directory_list(sqlite_url, cfg)] == [
        ("2001", "Kim Agent", "민원팀", "config"), ("2002", "B2", None, "import"), ("2003", "Park Agent", "요금팀", "config")]


def test_bad_rows_are_listed_with_line_numbers_and_nothing_is_imported(sqlite_url, cfg, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("extension,name,team\n2001,Kim,T\n2002\n20 03,Park,T\n2001,Again,T\n", encoding="utf-8")
    err = main_fails(capsys, "directory", "import", str(bad), "--db", sqlite_url, "--config", cfg)
    assert "bad.csv:3:" in err and "bad.csv:4:" in err and "bad.csv:5: extension 2001 listed twice" in err
    assert [e["source"] for e in directory_list(sqlite_url, cfg)] == ["config", "config"]
