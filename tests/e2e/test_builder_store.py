"""The runner's cache volume keeps a builder's own store between jobs (GitLab Runner names it per
project and concurrent slot and keeps it: executors/docker/internal/volumes/manager.go:197 at
v17.9.3). Two runs with one cache scope stand in for two jobs on that slot: the second builds from
the store, and the image it pushes is still complete."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from buildrig.init import InitOptions, init_project
from buildrig.run.api import run_jobs
from buildrig.run.cleanup import remove_cache
from buildrig.run.model import RegistryInfo, RunOptions, RunResult
from buildrig.run.variables import git_info
from buildrig.testbed import images, registry
from buildrig.trial import scratch_copy

pytestmark = [pytest.mark.engine, pytest.mark.slow]

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"


def _run(scratch: Path, testbed: RegistryInfo, runs: Any, scope: str) -> RunResult:
    result = run_jobs(RunOptions(project_dir=scratch, runner_config=scratch / "runner" / "config.toml",
                                 registry=testbed, image_overrides=images.overrides(), namespace="e2e",
                                 project_name=re.sub(r"[^a-z0-9]+", "-", scratch.name.lower()).strip("-"),
                                 cache_scope=scope, install_signal_handlers=False))
    runs.ids.append(result.run_id)
    return result


@pytest.mark.parametrize("way", ["buildah", "dind"])
def test_the_second_job_on_a_slot_builds_from_the_kept_store(
    way: str, testbed: RegistryInfo, tmp_path: Path, runs: Any, cli: Any
) -> None:
    scratch = scratch_copy(HELLO, tmp_path, f"{way}-store")
    init_project(InitOptions(strategy=way, out=scratch))
    scope = f"e2e-{way}-{tmp_path.name}".lower().replace("_", "-")
    try:
        first = _run(scratch, testbed, runs, scope).jobs[0]
        assert first.status == "success", first.text[-3000:]
        second = _run(scratch, testbed, runs, scope).jobs[0]
        assert second.status == "success", second.text[-3000:]
    finally:
        assert remove_cache(cli.api, scope) == []
    if way == "buildah":
        # the empty store filled the registry cache; the kept one neither pulls nor pushes it
        assert "Pushing cache" in first.text
        assert "Pushing cache" not in second.text and "--> Using cache" in second.text
        # ... and still asks the registry whether the base image moved on
        assert "Trying to pull" in second.text.split("STEP 1/")[1].split("STEP 2/")[0]
    else:
        # the dind daemon found the base image and every layer in its store: nothing downloaded
        assert "extracting sha256" in first.text
        assert "CACHED" in second.text and "--pull -f" in second.text
        assert "extracting sha256" not in second.text, second.text[-3000:]
    digest = re.findall(r"BUILDRIG_DIGEST=(sha256:[0-9a-f]{64})", second.text)
    sha = git_info(scratch).sha[:8]
    repo = "e2e/" + re.sub(r"[^a-z0-9]+", "-", scratch.name.lower()).strip("-")
    assert digest and registry.manifest_digest(testbed, repo, sha) == digest[-1]


def test_buildah_job_lines_switch_to_the_kernels_overlay_here(testbed: RegistryInfo, cli: Any) -> None:
    # The job's own probe, in the stand-in with the runner's settings for the way: this kernel
    # (5.11+) mounts overlay in the job's user namespace, so the image's fuse-overlayfs is dropped.
    from buildrig import versions
    from buildrig.strategies import get
    from buildrig.strategies.base import RenderParams

    job = get("buildah").render_job(RenderParams(executor="docker"))
    probe = "\n".join(line for line in job["before_script"] if "login" not in line)
    image = images.overrides()[versions.BUILDAH_IMAGE]
    box = cli.containers.run(
        image, ["sh", "-ec", probe + "\necho conf=$CONTAINERS_STORAGE_CONF\nbuildah info"],
        entrypoint="", detach=True, devices=["/dev/fuse"], labels={"buildrig": "1"},
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
    )
    try:
        box.wait(timeout=120)
        out = box.logs().decode()
    finally:
        box.remove(v=True, force=True)  # the image's VOLUME /var/lib/containers goes with it
    assert "conf=/tmp/buildrig-storage.conf" in out
    assert '"Native Overlay Diff": "true"' in out and "fuse-overlayfs" not in out
