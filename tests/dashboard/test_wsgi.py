"""``callmon.dashboard.wsgi``: the Flask app for a WSGI server, made when the server asks for it,
not when the module is imported (pytest's doctest collection imports every module, in parallel
workers: each made the current directory's database)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def _python(code: str, cwd, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALLMON_")}
    environ["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env={**environ, **env}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_the_module_opens_no_database(tmp_path):
    _python("import callmon.dashboard.wsgi", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_server_is_the_dashboards_flask_app_on_the_given_database(tmp_path):
    db = tmp_path / "given.db"
    out = _python("import flask, callmon.dashboard.wsgi as w; "
                  "print(isinstance(w.server, flask.Flask), w.server is w.app.server, w.server is w.server)",
                  tmp_path, CALLMON_DB=f"sqlite:///{db}")
    assert out.split() == ["True", "True", "True"]
    assert db.exists() and not (tmp_path / "callmon.db").exists()
