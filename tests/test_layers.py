"""The architecture as a contract: import-linter's layers (``.importlinter``) hold for the package,
and a backward import breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
                           " sys.exit(lint_imports_command())", "--no-cache"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_every_import_points_down_and_only_storage_speaks_sql():
    """The package keeps every contract of .importlinter (layers, SQL in storage, pyst2 in its adapter)."""
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" in done.stdout and "0 broken" in done.stdout


def test_a_backward_import_fails_the_contract(tmp_path):
    """A core module importing the CLI (an arrow back up) is reported, naming the import."""
    shutil.copytree(ROOT / "callmon", tmp_path / "callmon", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    model = tmp_path / "callmon" / "core" / "model.py"
    model.write_text(model.read_text() + "\nimport callmon.cli  # a backward import\n")
    done = lint(tmp_path)
    assert done.returncode != 0
    assert "callmon.core.model -> callmon.cli" in done.stdout, done.stdout
