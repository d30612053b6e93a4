"""bench.trial pieces that need no engine: the way list and the scratch copy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from buildrig import strategies
from buildrig.bench.trial import WAYS, TrialResult, get_way, scratch_copy
from buildrig.errors import InputError

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"


def test_every_strategy_is_tried_and_dind_both_ways() -> None:
    assert {w.strategy for w in WAYS} == set(strategies.NAMES)
    dind = [w for w in WAYS if w.strategy == "dind"]
    assert {w.tls for w in dind} == {True, False}
    assert get_way("dind_plain").name == "dind-plain" and not get_way("dind-plain").tls
    with pytest.raises(InputError, match="unknown way"):
        get_way("podman")


def test_scratch_copy_is_a_fresh_repository_without_generated_files(tmp_path: Path) -> None:
    src = tmp_path / "proj"
    (src / "runner").mkdir(parents=True)
    (src / "Dockerfile").write_text("FROM scratch\n")
    (src / ".gitlab-ci.yml").write_text("old: {script: [x]}\n")
    (src / "runner" / "config.toml").write_text("stale")
    dest = scratch_copy(src, tmp_path, "shell")
    assert (dest / "Dockerfile").is_file()
    assert not (dest / ".gitlab-ci.yml").exists() and not (dest / "runner").exists()
    branch = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=dest, capture_output=True,
                            text=True, check=True).stdout.strip()
    assert branch == "main"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=dest, capture_output=True, text=True,
                            check=True).stdout
    assert status == ""


def test_scratch_copy_needs_a_dockerfile(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no Dockerfile"):
        scratch_copy(tmp_path, tmp_path, "shell")


def test_example_project_is_complete() -> None:
    dockerfile = (HELLO / "Dockerfile").read_text()
    # base, then dependencies, then the app copied last: the order cache effects depend on
    order = [dockerfile.index(k) for k in ("FROM ", "COPY requirements.txt", "RUN pip install", "COPY app/")]
    assert order == sorted(order)
    wheels = {p.name.split("-")[0].lower() for p in (HELLO / "vendor").glob("*.whl")}
    assert wheels == {"bottle", "jinja2", "markupsafe"}


def test_summary_lines() -> None:
    ok = TrialResult("dind", "ok", seconds=12.34, digest="sha256:" + "a" * 64, repository="r/x")
    assert ok.summary().split()[:3] == ["dind", "ok", "12.3"]
    assert "skipped why" in TrialResult("kaniko", "skipped", "why").summary()
    assert TrialResult("x", "failed", "boom", seconds=1).summary().endswith("boom")
