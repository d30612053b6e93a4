"""Merging into hand-written files keeps every byte outside the new parts."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomlkit
from init_support import schema_errors

from buildrig.cli import main
from buildrig.init import InitOptions, init_project

CI = """\
# Our pipeline. Comments, anchors, quoting and indentation are ours.
stages:
  - build   # images first
  - test

variables:
    GIT_DEPTH: "10"

.tpl: &tpl
  tags: ['linux', "docker"]

lint:
  <<: *tpl
  stage: test
  script: [ 'ruff check .' ]     # flow style on purpose

build-image:
  stage: build
  script:
      - echo old job
  # the last comment of the old job

pages:
  stage: test
  script:
  - mkdocs build
# final comment
"""

TOML = """\
# Managed by hand; do not reformat.
concurrent = 4   # two cores
check_interval = 0

[session_server]
  session_timeout = 1800

[[runners]]
  name = "shell-box"          # the old shell runner
  url = "https://gitlab.example.com/"
  token = "glrt-REDACTED"
  executor = "shell"
  [runners.cache]
    MaxUploadedArchiveSize = 0

[[runners]]
  name = "docker-box"
  url = "https://gitlab.example.com/"
  token = "glrt-REDACTED2"
  executor = "docker"
  [runners.docker]
    tls_verify = false
    image = "alpine:3.20"   # default image
    privileged = false
    volumes = ["/cache"]    # keep
    shm_size = 0
"""


def _project(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "proj"
    out.mkdir()
    (out / ".gitlab-ci.yml").write_text(CI)
    cfg = tmp_path / "config.toml"
    cfg.write_text(TOML)
    return out, cfg


def test_new_job_and_new_runner_are_pure_appends(tmp_path: Path) -> None:
    out, cfg = _project(tmp_path)
    res = init_project(
        InitOptions(
            strategy="kaniko", executor="kubernetes", job_name="kaniko-build", out=out, runner_config=cfg
        )
    )
    ci = (out / ".gitlab-ci.yml").read_text()
    assert ci.startswith(CI)
    assert "kaniko-build:" in ci[len(CI) :]
    assert not schema_errors(ci)
    toml = cfg.read_text()
    # No kubernetes runner existed: a new [[runners]] entry is appended, the rest is untouched.
    assert toml.startswith(TOML)
    doc = tomlkit.parse(toml)
    assert [r["executor"] for r in doc["runners"]] == ["shell", "docker", "kubernetes"]
    assert cfg in res.written
    assert not (out / "runner" / "config.toml").exists()


def test_merge_into_matching_runner_changes_only_that_runner(tmp_path: Path) -> None:
    out, cfg = _project(tmp_path)
    init_project(
        InitOptions(strategy="dind", executor="docker", job_name="dind-build", out=out, runner_config=cfg)
    )
    toml = cfg.read_text()
    head = TOML[: TOML.index('  name = "docker-box"')]
    assert toml.startswith(head)
    runner = tomlkit.parse(toml)["runners"][1]["docker"]
    assert runner["privileged"] is True
    assert list(runner["volumes"]) == ["/cache", "/certs/client", "/var/lib/docker"]
    assert runner["image"] == "alpine:3.20"  # the user's default image is kept
    # Every line of the original except the two changed settings is still there, in order.
    changed = {"    privileged = false", '    volumes = ["/cache"]    # keep'}
    kept = [line for line in TOML.splitlines() if line not in changed]
    new_lines = toml.splitlines()
    pos = 0
    for line in kept:
        pos = new_lines.index(line, pos) + 1
    assert "# default image" in toml and "# two cores" in toml


def test_buildah_merge_adds_fuse_device_and_keeps_the_users_devices(tmp_path: Path) -> None:
    out, cfg = _project(tmp_path)
    ours = '    shm_size = 0\n    devices = ["/dev/kvm"]  # ours\n'
    cfg.write_text(TOML.replace("    shm_size = 0\n", ours))
    init_project(
        InitOptions(strategy="buildah", executor="docker", job_name="bah", out=out, runner_config=cfg)
    )
    toml = cfg.read_text()
    runner = tomlkit.parse(toml)["runners"][1]["docker"]
    assert list(runner["devices"]) == ["/dev/kvm", "/dev/fuse"]
    assert list(runner["security_opt"]) == ["seccomp:unconfined", "apparmor:unconfined"]
    assert "# ours" in toml


def test_force_replaces_only_the_old_job(tmp_path: Path) -> None:
    out, _ = _project(tmp_path)
    assert main(["init", "--strategy", "buildah", "--executor", "docker", "--out", str(out)]) != 0
    assert (out / ".gitlab-ci.yml").read_text() == CI  # refused: untouched
    assert main(["init", "--strategy", "buildah", "--executor", "docker", "--out", str(out), "--force"]) == 0
    ci = (out / ".gitlab-ci.yml").read_text()
    before = CI[: CI.index("build-image:")]
    # The indented comment belonged to the replaced job; the blank line and `pages` are kept.
    after = CI[CI.index("\npages:") :]
    assert ci.startswith(before)
    assert ci.endswith(after)
    assert "echo old job" not in ci and "buildah build" in ci
    assert "the last comment of the old job" not in ci
    assert not schema_errors(ci)
    # A second --force run replaces our own job (header included) and changes nothing else.
    assert main(["init", "--strategy", "kaniko", "--executor", "docker", "--out", str(out), "--force"]) == 0
    again = (out / ".gitlab-ci.yml").read_text()
    assert again.startswith(before) and again.endswith(after)
    assert again.count("# Generated by buildrig") == 1
    assert "buildah build" not in again and "/kaniko/executor" in again


def test_merge_into_runner_by_name_and_ambiguity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, cfg = _project(tmp_path)
    two = TOML + '\n[[runners]]\n  name = "docker-2"\n  executor = "docker"\n'
    cfg.write_text(two)
    code = main(["init", "-s", "docker_sock", "-o", str(out), "--runner-config", str(cfg), "--job-name", "s"])
    assert code != 0
    assert "--runner-name" in capsys.readouterr().err
    assert cfg.read_text() == two
    args = ["init", "-s", "docker_sock", "-o", str(out), "--runner-config", str(cfg), "--job-name", "s"]
    code = main([*args, "--runner-name", "docker-2"])
    assert code == 0
    doc = tomlkit.parse(cfg.read_text())
    assert "/var/run/docker.sock:/var/run/docker.sock" in doc["runners"][2]["docker"]["volumes"]
    assert list(doc["runners"][1]["docker"]["volumes"]) == ["/cache"]


def test_privileged_runner_kept_with_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, cfg = _project(tmp_path)
    cfg.write_text(TOML.replace("privileged = false", "privileged = true"))
    assert main(["init", "-s", "kaniko", "-o", str(out), "--runner-config", str(cfg), "--job-name", "k"]) == 0
    assert "privileged although" in capsys.readouterr().err
    assert tomlkit.parse(cfg.read_text())["runners"][1]["docker"]["privileged"] is True


def test_kubernetes_merge_adds_volume_tables(tmp_path: Path) -> None:
    out, cfg = _project(tmp_path)
    text = (
        '[[runners]]\n  name = "k8s"  # cluster\n  executor = "kubernetes"\n'
        '  [runners.kubernetes]\n    namespace = "ci"\n'
    )
    cfg.write_text(text)
    init_project(
        InitOptions(strategy="dind", executor="kubernetes", out=out, runner_config=cfg, job_name="d")
    )
    k = tomlkit.parse(cfg.read_text())["runners"][0]["kubernetes"]
    assert k["namespace"] == "ci" and k["privileged"] is True
    assert k["volumes"]["empty_dir"][0]["mount_path"] == "/certs/client"
    assert "# cluster" in cfg.read_text()
    # Idempotent: a second merge adds nothing.
    before = cfg.read_text()
    init_project(
        InitOptions(
            strategy="dind", executor="kubernetes", out=out, runner_config=cfg, job_name="d", force=True
        )
    )
    assert cfg.read_text() == before


def test_stages_without_build(tmp_path: Path) -> None:
    out = tmp_path / "p"
    out.mkdir()
    (out / ".gitlab-ci.yml").write_text("stages: [lint, test]\n\nx:\n  stage: lint\n  script: ['true']\n")
    res = init_project(InitOptions(strategy="dind", out=out))
    ci = (out / ".gitlab-ci.yml").read_text()
    assert "stage: lint" in ci.split("build-image:")[1]
    assert any("no 'build' stage" in n for n in res.notes)
    assert not schema_errors(ci)


def test_empty_and_comment_only_files(tmp_path: Path) -> None:
    for content in ("", "# just a comment\n", "# no newline"):
        out = tmp_path / f"p{len(content)}"
        out.mkdir()
        (out / ".gitlab-ci.yml").write_text(content)
        init_project(InitOptions(strategy="kaniko", out=out))
        ci = (out / ".gitlab-ci.yml").read_text()
        assert ci.startswith(content)
        assert not schema_errors(ci)
