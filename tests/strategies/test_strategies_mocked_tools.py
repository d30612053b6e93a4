"""kaniko and BuildKit cannot run here: run their generated scripts against stand-in executables
that record their arguments, to check quoting, auth files, tag handling and the digest line."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from buildrig.strategies import DIGEST_MARKER, RenderParams, get

DIGEST = "sha256:" + "ab" * 32


def _env(tmp_path: Path, tag: str) -> dict[str, str]:
    return {
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "CI_PROJECT_DIR": str(tmp_path / "project"),
        "CI_REGISTRY": "registry.example.com",
        "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": "s3cr:et",
        "CI_COMMIT_SHORT_SHA": "0123abcd",
        "CI_COMMIT_REF_SLUG": "feature-x",
        "CI_COMMIT_TAG": tag,
    }


def _stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


SINGLE_STAGE = "# builder notes: from here on\nFROM python:3.11-slim\nCOPY . /app\n"
MULTI_STAGE = "FROM golang:1 AS build\nRUN go build\n\tfrom alpine\nCOPY --from=build /x /x\n"


@pytest.mark.parametrize(("tag", "dockerfile"), [("", SINGLE_STAGE), ("v1.2.3", MULTI_STAGE)])
def test_kaniko_script(tmp_path: Path, tag: str, dockerfile: str) -> None:
    kaniko = tmp_path / "kaniko"
    _stub(
        kaniko / "executor",
        f'for a in "$@"; do printf "%s\\n" "$a"; done > {tmp_path}/args\n'
        'for a in "$@"; do case "$a" in --digest-file) next=1;; *) [ -n "$next" ] && '
        f'printf "{DIGEST}" > "$a"; next="";; esac; done\n',
    )
    (tmp_path / "project" / "app").mkdir(parents=True)
    (tmp_path / "project" / "app" / "Dockerfile").write_text(dockerfile)
    job = get("kaniko").render_job(
        RenderParams(executor="docker", dockerfile="app/Dockerfile", context="app")
    )
    script = "\n".join(job["script"]).replace("/kaniko", str(kaniko))
    env = {**_env(tmp_path, tag), **job["variables"]}
    proc = subprocess.run(["sh", "-e", "-c", script], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"{DIGEST_MARKER}{DIGEST}"
    args = (tmp_path / "args").read_text().splitlines()
    assert args[args.index("--context") + 1] == f"{tmp_path}/project/app"
    assert args[args.index("--dockerfile") + 1] == f"{tmp_path}/project/app/Dockerfile"
    dests = [args[i + 1] for i, a in enumerate(args) if a == "--destination"]
    dests += [a.split("=", 1)[1] for a in args if a.startswith("--destination=")]
    expected = ["$CI_REGISTRY_IMAGE:0123abcd", "$CI_REGISTRY_IMAGE:feature-x"]
    if tag:
        expected.append(f"$CI_REGISTRY_IMAGE:{tag}")
    assert dests == expected
    assert "" not in args  # an empty tag must not leave an empty argument
    # COPY layers are cached for a single stage only: kaniko refuses the flag on multi-stage.
    assert ("--cache-copy-layers" in args) is (dockerfile == SINGLE_STAGE)
    auth = json.loads((kaniko / ".docker" / "config.json").read_text())
    raw = auth["auths"]["registry.example.com"]["auth"]
    assert base64.b64decode(raw).decode() == "gitlab-ci-token:s3cr:et"


@pytest.mark.parametrize("tag", ["", "v1.2.3"])
def test_buildkit_script(tmp_path: Path, tag: str) -> None:
    _stub(
        tmp_path / "bin" / "buildctl-daemonless.sh",
        f'for a in "$@"; do printf "%s\\n" "$a"; done > {tmp_path}/args\n'
        'while [ $# -gt 0 ]; do if [ "$1" = --metadata-file ]; then shift; '
        'printf \'{\\n  "containerimage.config.digest": "sha256:0000",\\n'
        f'  "containerimage.digest": "{DIGEST}",\\n  "image.name": "a,b"\\n}}\\n\' > "$1"; fi; shift; done\n',
    )
    (tmp_path / "home").mkdir()
    job = get("buildkit").render_job(RenderParams(executor="kubernetes", dockerfile="docker/Dockerfile.prod"))
    script = "\n".join([*job["before_script"], *job["script"]])
    env = {**_env(tmp_path, tag), **job["variables"], "BUILD_IMAGE": "registry.example.com/g/p"}
    proc = subprocess.run(["sh", "-e", "-c", script], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"{DIGEST_MARKER}{DIGEST}"
    args = (tmp_path / "args").read_text().splitlines()
    assert "--local" in args and "dockerfile=docker" in args and "filename=Dockerfile.prod" in args
    names = "registry.example.com/g/p:0123abcd,registry.example.com/g/p:feature-x"
    if tag:
        names += f",registry.example.com/g/p:{tag}"
    assert args[args.index("--output") + 1] == f'type=image,"name={names}",push=true'
    assert "type=registry,ref=registry.example.com/g/p/cache,mode=max" in args
    auth = json.loads((tmp_path / "home" / ".docker" / "config.json").read_text())
    assert "registry.example.com" in auth["auths"]


@pytest.mark.parametrize("way", ["docker_sock", "buildah"])
@pytest.mark.parametrize("failing", ["", "0123abcd", "feature-x"])
def test_pushes_run_one_after_the_other_and_fail_the_job(tmp_path: Path, way: str, failing: str) -> None:
    # Never two pushes at once (they race in the registry's store); either failing fails the job
    # under `sh -e` (GitLab's errexit), and a failed first push stops before the second.
    tool = "docker" if way == "docker_sock" else "buildah"
    _stub(
        tmp_path / "bin" / tool,
        f'[ "$1" = push ] || exit 0\nprintf "%s\\n" "$*" >> {tmp_path}/pushes\n'
        f'case "$*" in *":{failing}"*) [ -n "{failing}" ] && exit 1;; esac\n'
        f'for a in "$@"; do [ -n "$next" ] && printf "{DIGEST}" > "$a"; next=""; '
        '[ "$a" = --digestfile ] && next=1; done; exit 0\n',
    )
    job = get(way).render_job(RenderParams(executor="docker"))
    pushes = [line for line in job["script"] if line.startswith(f"{tool} push")]
    assert len(pushes) == 2 and not any("&" in p or "wait" in p for p in pushes)
    env = {**_env(tmp_path, ""), **job["variables"], "BUILD_IMAGE": "registry.example.com/g/p"}
    script = "\n".join(pushes)
    proc = subprocess.run(["sh", "-e", "-c", script], env=env, capture_output=True, text=True, check=False)
    assert (proc.returncode == 0) is (failing == "")
    done = (tmp_path / "pushes").read_text().splitlines()
    assert len(done) == (1 if failing == "0123abcd" else 2)
