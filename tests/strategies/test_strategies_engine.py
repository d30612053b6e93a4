"""Generated jobs run for real against a loopback registry, and the printed digest checked.

The shell way needs the Docker Engine (scripts/setup.sh); the buildah way needs Debian's buildah
(run as root with chroot isolation and private vfs storage). Both need Debian's docker-registry.
The Dockerfiles are FROM scratch, so nothing is pulled.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildrig.strategies import DIGEST_MARKER, RenderParams, get

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
)


def _engine_up() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    if shutil.which("docker-registry") is None:
        pytest.skip("needs Debian's docker-registry (scripts/setup.sh)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "registry.yml"
    cfg.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def _registry_digest(registry: str, repo: str, tag: str) -> str:
    req = urllib.request.Request(
        f"http://{registry}/v2/{repo}/manifests/{tag}", method="HEAD", headers={"Accept": MANIFEST_TYPES}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return str(resp.headers["Docker-Content-Digest"])


@pytest.mark.engine
def test_shell_job_pushes_all_tags_and_prints_the_registry_digest(registry: str, tmp_path: Path) -> None:
    if not _engine_up():
        pytest.skip("needs the Docker Engine (scripts/setup.sh)")
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "app" / "hello.txt").write_text(f"hello {tmp_path.name}\n")
    (project / "build.Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    image = f"{registry}/buildrig-test/shell-way"
    job = get("shell").render_job(
        RenderParams(executor="shell", image=image, dockerfile="build.Dockerfile", context="app")
    )
    env = {
        **{k: str(v) for k, v in job["variables"].items()},
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "RUNNER_TEMP_PROJECT_DIR": str(tmp_path / "project.tmp"),  # as GitLab Runner 15.7+ sets it
        "DOCKER_CONFIG": str(tmp_path / "docker-config"),  # never touch root's credentials
        "CI_REGISTRY": registry,
        "CI_REGISTRY_USER": "ci",
        "CI_REGISTRY_PASSWORD": "secret",
        "CI_COMMIT_SHORT_SHA": "0123abcd",
        "CI_COMMIT_REF_SLUG": "main",
        "CI_COMMIT_TAG": "v1.0.0",
    }
    env["BUILD_IMAGE"] = image
    script = "\n".join([*job["before_script"], *job["script"]])
    try:
        proc = subprocess.run(
            ["sh", "-e", "-c", script], cwd=project, env=env, capture_output=True, text=True, check=False
        )
        subprocess.run(["sh", "-c", job["after_script"][0]], env=env, capture_output=True, check=False)
    finally:
        for tag in ("0123abcd", "main", "v1.0.0"):
            subprocess.run(["docker", "rmi", f"{image}:{tag}"], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith(DIGEST_MARKER)]
    assert len(lines) == 1, proc.stdout
    printed = lines[0][len(DIGEST_MARKER) :]
    assert printed.startswith("sha256:")
    for tag in ("0123abcd", "main", "v1.0.0"):
        assert _registry_digest(registry, "buildrig-test/shell-way", tag) == printed
    assert "secret" not in proc.stdout + proc.stderr


def test_buildah_job_pushes_all_tags_cache_and_prints_the_registry_digest(
    registry: str, tmp_path: Path
) -> None:
    if shutil.which("buildah") is None or os.geteuid() != 0:
        pytest.skip("needs buildah and root (scripts/setup.sh)")
    project = tmp_path / "project"
    project.mkdir()
    (project / "hello.txt").write_text(f"hello {tmp_path.name}\n")
    (project / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (tmp_path / "registries.conf").write_text(f'[[registry]]\nlocation = "{registry}"\ninsecure = true\n')
    (tmp_path / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{tmp_path / "run"}"\ngraphroot = "{tmp_path / "graph"}"\n'
    )
    image = f"{registry}/buildrig-test/buildah-way"
    job = get("buildah").render_job(RenderParams(executor="docker", image=image))
    env = {
        **{k: str(v) for k, v in job["variables"].items()},
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
        "CONTAINERS_REGISTRIES_CONF": str(tmp_path / "registries.conf"),
        "CONTAINERS_STORAGE_CONF": str(tmp_path / "storage.conf"),
        "CI_REGISTRY": registry,
        "CI_REGISTRY_USER": "ci",
        "CI_REGISTRY_PASSWORD": "secret",
        "CI_COMMIT_SHORT_SHA": "0123abcd",
        "CI_COMMIT_REF_SLUG": "main",
        "CI_COMMIT_TAG": "v2.0.0",
    }
    # buildah login ignores registries.conf "insecure": only the test's plain-HTTP registry needs this.
    before = [
        line.replace("buildah login ", "buildah login --tls-verify=false ") for line in job["before_script"]
    ]
    script = "\n".join([*before, *job["script"]])
    proc = subprocess.run(
        ["sh", "-e", "-c", script], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith(DIGEST_MARKER)]
    assert len(lines) == 1, proc.stdout
    printed = lines[0][len(DIGEST_MARKER) :]
    for tag in ("0123abcd", "main", "v2.0.0"):
        assert _registry_digest(registry, "buildrig-test/buildah-way", tag) == printed
    with urllib.request.urlopen(f"http://{registry}/v2/_catalog", timeout=5) as resp:
        assert b"buildrig-test/buildah-way/cache" in resp.read()
    subprocess.run(["buildah", "rmi", "--all"], env=env, capture_output=True, check=False)
