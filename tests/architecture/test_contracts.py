"""The import contracts of ``make lint`` hold, and catch a serving module reaching sklearn."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(project / "src"))
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "src" / "topictag", tmp_path / "src" / "topictag", symlinks=True)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_contracts_hold_on_the_tree():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        ("model/decision.py", "import sklearn", "never reaches the training side"),
        ("serve/stream.py", "from topictag.train import recipe", "never reaches the training side"),
        ("data/corpus.py", "import scipy", "never reaches the training side"),
        ("data/inputs.py", "import topictag.data.validation", "readers never import"),
        ("evaluate/metrics.py", "import typer", "imports the command line"),
        ("model/features.py", "import topictag.model.inference", "No import cycles"),
    ],
)
def test_a_forbidden_import_breaks_lint(scratch, module, statement, contract):
    path = scratch / "src" / "topictag" / module
    # inside a function: every import statement counts, wherever it stands
    path.write_text(path.read_text() + f"\n\ndef _added() -> None:\n    {statement}\n")
    result = _lint(scratch)
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout
