"""Static checks run as part of the suite: mypy (strict on src) and ruff."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def test_mypy_strict_on_src() -> None:
    proc = _run(sys.executable, "-m", "mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    proc = _run(ruff, "check", "src", "tests")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pre_commit_config_is_valid_and_runs_the_suites_checks() -> None:
    """The repo's own hooks (ruff, mypy, lint-imports) are local ones on the venv: no network."""
    from ruamel.yaml import YAML

    proc = _run(sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = YAML(typ="safe").load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [h for repo in doc["repos"] for h in repo["hooks"]]
    assert {r["repo"] for r in doc["repos"]} == {"local"}
    entries = [h["entry"].split()[0] for h in hooks]
    assert entries == [".venv/bin/ruff", ".venv/bin/mypy", ".venv/bin/lint-imports"]
