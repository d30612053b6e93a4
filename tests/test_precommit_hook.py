"""The ``buildrig-doctor`` pre-commit hook, driven by the real pre-commit.

``validate-manifest`` is quick; ``try-repo`` installs this repository into pre-commit's own venv
(pip, from PyPI: ~17 s here) and runs the hook against a scratch git repository. try-repo takes
the committed hook manifest plus the working tree's uncommitted changes to tracked files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]

BROKEN_CI = """\
build:
  image: docker:29.7.2-cli
  services:
    - docker:29.7.2-dind
  variables:
    DOCKER_HOST: tcp://docker:2375
  script:
    - docker build -t x .
"""
PLAIN_CI = BROKEN_CI.replace(
    "    DOCKER_HOST: tcp://docker:2375\n", '    DOCKER_HOST: tcp://docker:2375\n    DOCKER_TLS_CERTDIR: ""\n'
)
UNPRIVILEGED = """\
[[runners]]
name = "r"
url = "https://gitlab.example.com"
executor = "docker"
[runners.docker]
image = "alpine"
privileged = false
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_manifest_is_valid() -> None:
    proc = subprocess.run(
        [*PRE_COMMIT, "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_try_repo_runs_doctor_on_the_files_it_reads(tmp_path: Path) -> None:
    assert shutil.which("git")
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    def hook(*files: str) -> subprocess.CompletedProcess[str]:
        _git(repo, "add", "-A")
        selection = ["--files", *files] if files else ["--all-files"]
        return subprocess.run(
            [*PRE_COMMIT, "try-repo", str(ROOT), "buildrig-doctor", *selection],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    (repo / "README.md").write_text("hello\n")
    skipped = hook("README.md")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "Skipped" in skipped.stdout  # not one of the files doctor reads

    (repo / ".gitlab-ci.yml").write_text(BROKEN_CI)
    broken = hook()
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "buildrig doctor" in broken.stdout and "Failed" in broken.stdout
    assert "BR101 .gitlab-ci.yml:6" in broken.stdout

    (repo / ".gitlab-ci.yml").write_text(PLAIN_CI)
    fixed = hook(".gitlab-ci.yml")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "Passed" in fixed.stdout

    # a change to config.toml alone runs the hook too, and doctor reads it with the pipeline
    (repo / "config.toml").write_text(UNPRIVILEGED)
    runner = hook("config.toml")
    assert runner.returncode == 1, runner.stdout + runner.stderr
    assert "BR103 config.toml:5" in runner.stdout
