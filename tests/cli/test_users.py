"""`callmon users` on SQLite and PostgreSQL: passwords come from standard input (never an
argument) and are stored as argon2 hashes; roles; list, passwd, remove; the access log holds
every export with full numbers; `callmon dashboard` refuses a non-loopback address while no user
exists."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from callmon.cli import _register, app
from callmon.service.users import Users
from tests.cli_main import main_fails
from tests.conftest import SAMPLES, run_cli


def users_cli(*args: str, password: str | None = None, expect: int = 0):
    _register()
    result = CliRunner().invoke(app, ["users", *args], input=None if password is None else password + "\n")
    assert result.exit_code == expect, result.output
    return result


def test_add_list_passwd_remove(db_url):
    """A user added with a password on stdin logs in with it; passwd changes it; remove ends it."""
    users_cli("add", "kim", "--role", "supervisor", "--db", db_url, password="first-secret")
    users_cli("add", "lee", "--role", "viewer", "--db", db_url, password="second-secret")
    listed = json.loads(users_cli("list", "--format", "json", "--db", db_url).stdout)
    assert [(u["name"], u["role"]) for u in listed] == [("kim", "supervisor"), ("lee", "viewer")]
    assert all("hash" not in json.dumps(u) and "secret" not in json.dumps(u) for u in listed)
    service = Users.open(db_url)
    assert service.verify("kim", "first-secret").role == "supervisor"
    assert service.verify("kim", "second-secret") is None and service.verify("nobody", "first-secret") is None
    users_cli("passwd", "kim", "--role", "admin", "--db", db_url, password="third-secret")
    assert service.verify("kim", "first-secret") is None
    assert service.verify("kim", "third-secret").role == "admin"
    users_cli("remove", "lee", "--db", db_url)
    assert service.get("lee") is None and service.verify("lee", "second-secret") is None
    service.close()


def test_password_is_stored_as_an_argon2_hash_only(sqlite_url, tmp_path):
    users_cli("add", "kim", "--role", "admin", "--db", sqlite_url, password="plain-text-pw")
    with sqlite3.connect(tmp_path / "callmon.db") as raw:
        (stored,) = raw.execute("SELECT password_hash FROM users").fetchone()
        dump = "\n".join(raw.iterdump())
    assert stored.startswith("$argon2id$") and "plain-text-pw" not in dump


def test_bad_input_is_refused_clearly(sqlite_url, capsys):
    """Short password, unknown role, taken name, unknown user: each a clear error, nothing changed."""
    assert "at least 8 characters" in main_fails_stdin(capsys, "users", "add", "kim", "--role", "viewer",
                                                       "--db", sqlite_url, password="short")
    assert "--role" in users_cli("add", "kim", "--role", "root", "--db", sqlite_url, password="long-enough",
                                 expect=2).output
    users_cli("add", "kim", "--role", "viewer", "--db", sqlite_url, password="long-enough")
    assert "exists already" in main_fails_stdin(capsys, "users", "add", "kim", "--role", "admin", "--db", sqlite_url,
                                                password="long-enough")
    assert "no user 'lee'" in main_fails(capsys, "users", "remove", "lee", "--db", sqlite_url)
    assert [u["name"] for u in json.loads(users_cli("list", "--format", "json", "--db", sqlite_url).stdout)] == ["kim"]


def main_fails_stdin(capsys, *args: str, password: str) -> str:
    import io
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(password + "\n")
    try:
        return main_fails(capsys, *args)
    finally:
        sys.stdin = old


def test_export_with_full_numbers_is_in_the_access_log(db_url, tmp_path):
    """report --full-numbers needs a reason and writes who, when, what, why; a masked one writes nothing."""
    run_cli("ingest", str(SAMPLES / "c_direct_abandon" / "ami.raw"), "--db", db_url)
    run_cli("report", "--period", "2026-11", "--out", str(tmp_path / "m.csv"), "--db", db_url)
    assert json.loads(users_cli("access-log", "--format", "json", "--db", db_url).stdout) == []
    result = run_cli("report", "--period", "2026-11", "--out", str(tmp_path / "f.csv"), "--full-numbers",
                     "--db", db_url, expect=2)
    assert "reason" in result.output
    run_cli("report", "--period", "2026-11", "--out", str(tmp_path / "f.csv"), "--full-numbers",
            "--reason", "민원 회신 확인", "--db", db_url)
    (row,) = json.loads(users_cli("access-log", "--format", "json", "--db", db_url).stdout)
    assert row["action"] == "export" and row["why"] == "민원 회신 확인" and "2026-11" in row["what"]
    assert row["user"] and row["at"].startswith("20")
    masked = (tmp_path / "m-callbacks.csv").read_text(encoding="utf-8-sig")
    full = (tmp_path / "f-callbacks.csv").read_text(encoding="utf-8-sig")
    number = "+821010200001"  # c_direct_abandon's caller, 010-1020-0001
    assert "010-****-0001" in masked and number not in masked and f"'{number}" in full


def test_dashboard_refuses_a_non_loopback_address_while_no_user_exists(sqlite_url, capsys):
    err = main_fails(capsys, "dashboard", "--host", "0.0.0.0", "--port", "0", "--db", sqlite_url)
    assert "no user exists" in err and "callmon users add" in err
