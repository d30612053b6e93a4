"""buildrig.trial pieces that need no engine: the way list, the scratch copy, prepare_way."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from buildrig import strategies
from buildrig.errors import InputError
from buildrig.trial import WAYS, TrialResult, get_way, prepare_way, scratch_copy, scratch_git

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


@pytest.mark.parametrize("way", ["docker_host", "kaniko"])
def test_prepare_way_commits_what_init_wrote(tmp_path: Path, way: str) -> None:
    """The one preparation ``try`` and ``bench`` share: init for the way, committed; docker_host's
    client certificates come back as the File variables its jobs get."""
    from buildrig.strategies.docker_host import CERT_VARIABLES

    scratch = scratch_copy(HELLO, tmp_path, way)
    certs = prepare_way(get_way(way), scratch, "registry")
    assert (scratch / ".gitlab-ci.yml").is_file() and (scratch / "runner" / "config.toml").is_file()
    assert scratch_git(scratch, "status", "--porcelain") == ""
    subject = scratch_git(scratch, "log", "-1", "--format=%s")
    assert subject == f"buildrig init --strategy {way} --cache registry"
    if way == "docker_host":
        assert set(certs) == {var for var, _, _ in CERT_VARIABLES}
        assert all(p.is_file() and p.parent == scratch / "runner" / "host" / "certs" for p in certs.values())
    else:
        assert certs == {}
