"""Every runnable way end to end on the real engine: ``init`` examples/hello into a scratch copy,
``run`` the generated job, then check the registry (tags, digest) and run the image it holds.
Plus the failures users meet most: dind without privileged, and the 2375-vs-TLS mix-up (the
daemonless ways' twins are in test_daemonless_twins.py)."""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from buildrig.init import InitOptions, init_project
from buildrig.run.api import run_jobs
from buildrig.run.model import RegistryInfo, RunOptions
from buildrig.testbed import images, registry
from buildrig.trial import DIGEST_RE, TrialOptions, TrialResult, get_way, scratch_copy

pytestmark = [pytest.mark.engine, pytest.mark.slow]

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"
RUNNABLE = ("shell", "docker_sock", "docker_host", "dind", "dind-plain", "kaniko", "buildah", "buildkit")


def _run_image(cli: Any, info: RegistryInfo, ref: str) -> str:
    """Pull ``ref`` from the registry on the host daemon, run the app's self-check, clean up."""
    repo, tag = ref.rsplit(":", 1)
    cli.images.pull(repo, tag, auth_config={"username": info.user, "password": info.password})
    try:
        out = cli.containers.run(ref, ["python3", "-m", "app.hello", "check"], remove=True,
                                 labels={"buildrig": "1", "buildrig.role": "e2e-check"})
    finally:
        cli.images.remove(ref, force=True)
    return bytes(out).decode()


@pytest.mark.parametrize("way", RUNNABLE)
def test_way_builds_pushes_and_runs(way: str, testbed: RegistryInfo, trial: Callable[..., TrialResult],
                                    cli: Any) -> None:
    res = trial(get_way(way))
    assert res.run is not None, res.reason
    job = res.run.jobs[0]
    tail = "\n".join(job.text.splitlines()[-40:])
    assert res.status == "ok", f"{res.reason}\n--- job log (tail) ---\n{tail}"
    assert job.status == "success" and res.run.exit_code == 0

    # The registry, asked directly: both tags exist and serve the digest the job printed.
    printed = DIGEST_RE.findall(job.text)
    assert len(printed) == 1
    repo = f"e2e/{HELLO.name}-{way}"
    sha_tag, slug_tag = res.tags
    assert re.fullmatch(r"[0-9a-f]{8}", sha_tag) and slug_tag == "main"
    assert {sha_tag, slug_tag} <= set(registry.tags(testbed, repo))
    assert registry.manifest_digest(testbed, repo, sha_tag) == printed[0]
    assert registry.manifest_digest(testbed, repo, slug_tag) == printed[0]

    # The image runs: the page renders with the vendored dependencies installed by the build.
    page = _run_image(cli, testbed, f"{testbed.host}/{repo}:{sha_tag}")
    assert "<h1>Hello from buildrig</h1>" in page and "bottle 0.13.4, Jinja2 3.1.6" in page


def _remove_failed_build_image(cli: Any, res: TrialResult) -> None:
    """A failed classic build leaves its last good step as an untagged image (Docker does that for
    users too). Here it is the suite's own: left on the host daemon, it would keep the example's
    layers cached and make a later "cold" build (buildrig bench) a cached one."""
    from docker.errors import APIError

    text = res.run.jobs[0].text if res.run is not None and res.run.jobs else ""
    steps = re.findall(r"---> ([0-9a-f]{12})\b", text)
    if steps:
        with contextlib.suppress(APIError):
            if not cli.images.get(steps[-1]).tags:
                cli.api.remove_image(steps[-1], noprune=False)


def test_a_failing_build_line_fails_the_job_with_its_exit_code(trial: Callable[..., TrialResult],
                                                              testbed: RegistryInfo, tmp_path: Path,
                                                              cli: Any) -> None:
    before = {c.id for c in cli.containers.list(all=True)}
    project = tmp_path / "broken"
    shutil.copytree(HELLO, project)
    with (project / "Dockerfile").open("a") as fh:
        fh.write("RUN echo about to fail && exit 3\n")
    res = trial(get_way("docker_sock"), project)
    _remove_failed_build_image(cli, res)
    assert res.status == "failed" and res.run is not None
    job = res.run.jobs[0]
    assert job.status == "failed" and res.run.exit_code != 0
    assert job.text.splitlines()[-1] == f"ERROR: Job failed: exit code {res.run.exit_code}"
    assert "about to fail" in job.text
    # nothing after the failing line ran: no push, no digest
    assert "$ docker push" not in job.text and res.digest is None
    assert registry.tags(testbed, "e2e/broken-docker_sock") == []
    # the host daemon keeps no container of the failed build step (the job builds with --force-rm)
    failed_steps = [c.name for c in cli.containers.list(all=True)
                    if c.id not in before and "about to fail" in " ".join(c.attrs["Config"]["Cmd"] or [])]
    assert failed_steps == []


def _dind_project(tmp_path: Path, *, tls: bool, privileged: bool) -> Path:
    scratch = scratch_copy(HELLO, tmp_path, "dind-failure")
    init_project(InitOptions(strategy="dind", out=scratch, tls=tls))
    cfg = scratch / "runner" / "config.toml"
    doc = tomlkit.parse(cfg.read_text())
    doc["runners"][0]["docker"]["privileged"] = privileged  # type: ignore[index]
    cfg.write_text(tomlkit.dumps(doc))
    return scratch


def _run(scratch: Path, testbed: RegistryInfo, runs: Any, **variables: str) -> Any:
    result = run_jobs(RunOptions(project_dir=scratch, runner_config=scratch / "runner" / "config.toml",
                                 registry=testbed, image_overrides=images.overrides(), namespace="e2e",
                                 project_name="hello-failure",
                                 variables=variables))
    runs.ids.append(result.run_id)
    return result


def test_dind_without_privileged_fails_like_the_runner(testbed: RegistryInfo, tmp_path: Path,
                                                       runs: Any) -> None:
    result = _run(_dind_project(tmp_path, tls=True, privileged=False), testbed, runs)
    job = result.jobs[0]
    assert job.status == "failed" and result.exit_code != 0
    text = job.text
    # The service dies on its first mount, as docker:dind does without --privileged ...
    assert "mount: permission denied (are you root?)" in text
    assert "probably didn't start properly" in text
    # ... and the client cannot reach a daemon.
    assert re.search(r"Cannot connect to the Docker daemon at tcp://docker:237[56]|error during connect",
                     text)
    assert "BUILDRIG_DIGEST=" not in text


def test_plain_2375_against_tls_dind_fails_with_the_users_error(testbed: RegistryInfo, tmp_path: Path,
                                                                runs: Any) -> None:
    scratch = _dind_project(tmp_path, tls=True, privileged=True)
    result = _run(scratch, testbed, runs, DOCKER_HOST="tcp://docker:2375")
    job = result.jobs[0]
    assert job.status == "failed"
    users_error = "Cannot connect to the Docker daemon at tcp://docker:2375. Is the docker daemon running?"
    assert users_error in job.text


def test_try_prints_one_line_per_way(testbed: RegistryInfo, tmp_path: Path, cli: Any,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from buildrig.cli import main

    try:
        code = main(["try", str(HELLO), "--ways", "shell,kaniko,buildkit"])
    finally:
        # The shell way built on the host daemon; its tags are this test's to remove.
        registry.remove_local_images(cli, (f"{testbed.host}/buildrig-try/hello-shell:",
                                           f"{testbed.host}/buildrig-try/hello-shell@"))
    out = capsys.readouterr().out
    assert code == 0, out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert re.search(r"ok\s+[\d.]+ s\s+\S+/buildrig-try/hello-shell@sha256:[0-9a-f]{64}", lines["shell"])
    for way in ("kaniko", "buildkit"):
        assert re.search(rf"ok\s+[\d.]+ s\s+\S+/buildrig-try/hello-{way}@sha256:[0-9a-f]{{64}}", lines[way])
    assert "3 ok, 0 failed, 0 skipped" in out


def test_trial_rejects_a_project_without_dockerfile(tmp_path: Path) -> None:
    from buildrig.errors import InputError
    from buildrig.trial import run_trials

    with pytest.raises(InputError, match="no Dockerfile"):
        run_trials(TrialOptions(project=tmp_path))


def test_shell_jobs_keep_their_registry_login_to_themselves(
    testbed: RegistryInfo, trial: Callable[..., TrialResult]
) -> None:
    """Every shell job runs as the same host user: the login goes to the job's own client config
    (next to its project directory), never to ~/.docker/config.json, where a concurrent job's
    logout would remove it mid-push."""
    home_cfg = Path.home() / ".docker" / "config.json"
    before = home_cfg.read_bytes() if home_cfg.exists() else None
    res = trial(get_way("shell"))
    assert res.run is not None and res.status == "ok", res.reason
    text = res.run.jobs[0].text
    stored = re.search(r"stored unencrypted in '([^']+)'", text)
    assert stored is not None, text[-2000:]
    where = Path(stored.group(1))
    assert where.name == "config.json" and where.parent.name == "docker-config"
    assert where.parent.parent.name.endswith(".tmp")  # RUNNER_TEMP_PROJECT_DIR, not the project
    assert (home_cfg.read_bytes() if home_cfg.exists() else None) == before
