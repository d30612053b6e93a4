from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from typing import Any

import pytest
from ruamel.yaml import YAML

from buildrig import strategies, versions
from buildrig.cli import main
from buildrig.errors import InputError
from buildrig.strategies import ALL, DIGEST_MARKER, EXECUTORS, RenderParams, RunnerFacts, choose_auto, get

CASES = [(s, e) for s in ALL for e in s.executors]
IDS = [f"{s.name}-{e}" for s, e in CASES]


def _script(job: dict[str, Any]) -> list[str]:
    return [*job.get("before_script", []), *job["script"], *job.get("after_script", [])]


def _images(job: dict[str, Any]) -> list[str]:
    refs: list[str] = []
    img = job.get("image")
    if img is not None:
        refs.append(img if isinstance(img, str) else img["name"])
    refs += [s if isinstance(s, str) else s["name"] for s in job.get("services", [])]
    return refs


def test_catalogue_order_and_names() -> None:
    assert [s.name for s in ALL] == [
        "shell",
        "docker_sock",
        "docker_host",
        "dind",
        "kaniko",
        "buildah",
        "buildkit",
    ]
    assert EXECUTORS == ("shell", "docker", "docker-autoscaler", "kubernetes")
    assert [s.speed_rank for s in ALL[:5]] == [1, 2, 3, 4, 5]


def test_get_accepts_dash_and_lists_valid_names() -> None:
    assert get("docker-sock") is get("docker_sock")
    with pytest.raises(InputError) as exc:
        get("podman")
    msg = str(exc.value)
    for s in ALL:
        assert s.name in msg


@pytest.mark.parametrize("s", ALL, ids=[s.name for s in ALL])
def test_requirements_are_consistent(s: strategies.Strategy) -> None:
    assert set(s.executors) <= set(EXECUTORS)
    for e in EXECUTORS:
        if s.supports(e):
            assert s.why_not(e) == ""
        else:
            # A specific reason, not the generic fallback.
            assert e in dict(s.refusals), (s.name, e)
            assert len(s.why_not(e)) > 30
    assert s.needs_privileged == (s.name == "dind")
    assert s.persistent_cache == s.needs_host_daemon
    assert s.isolated == (not s.needs_host_daemon)
    assert s.security_notes
    json.dumps(s.to_dict())


def test_cli_and_dind_are_pinned_in_lockstep() -> None:
    cli_tag = versions.DOCKER_CLI_IMAGE.split(":")[1]
    dind_tag = versions.DOCKER_DIND_IMAGE.split(":")[1]
    assert cli_tag.removesuffix("-cli") == dind_tag.removesuffix("-dind") == versions.DOCKER_VERSION
    assert versions.DOCKER_VERSION.startswith("29.")
    assert versions.KANIKO_IMAGE.startswith(
        "ghcr.io/osscontainertools/kaniko:"
    ) and versions.KANIKO_IMAGE.endswith("-debug")
    assert versions.BUILDKIT_IMAGE.endswith("-rootless")
    for image in versions.ALL_IMAGES:
        assert ":latest" not in image and not image.endswith((":cli", ":dind", ":stable"))


@pytest.mark.parametrize(("s", "executor"), CASES, ids=IDS)
def test_job_pushes_tags_and_prints_digest(s: strategies.Strategy, executor: str) -> None:
    job = s.render_job(RenderParams(executor=executor, docker_host="10.0.0.5"))
    lines = _script(job)
    text = "\n".join(lines)
    for var in ("$CI_COMMIT_SHORT_SHA", "$CI_COMMIT_REF_SLUG", "$CI_COMMIT_TAG"):
        assert var in text
    assert job["script"][-1].startswith(f'echo "{DIGEST_MARKER}')
    assert "$CI_REGISTRY_PASSWORD" in text
    # The password only ever travels through stdin or a builtin printf, never as an argument.
    assert re.search(r'(-p|--password)[ =]"?\$CI_REGISTRY_PASSWORD', text) is None
    if s.name in ("shell", "docker_sock", "docker_host", "dind", "buildah"):
        assert "--password-stdin" in text
    assert "buildx" not in text
    for img in _images(job):
        assert img in versions.ALL_IMAGES


@pytest.mark.skipif(shutil.which("dash") is None and shutil.which("busybox") is None, reason="no POSIX sh")
@pytest.mark.parametrize(("s", "executor"), CASES, ids=IDS)
def test_job_script_is_posix_sh(s: strategies.Strategy, executor: str) -> None:
    job = s.render_job(RenderParams(executor=executor, docker_host="10.0.0.5"))
    script = "\n".join(_script(job)) + "\n"
    sh = ["dash", "-n"] if shutil.which("dash") else ["busybox", "sh", "-n"]
    proc = subprocess.run([*sh], input=script, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "[[" not in script and "pipefail" not in script


@pytest.mark.parametrize(("s", "executor"), CASES, ids=IDS)
def test_mirror_rewrites_every_image(s: strategies.Strategy, executor: str) -> None:
    prefix = "registry.example.com/mirror"
    p = RenderParams(executor=executor, mirror=prefix, docker_host="10.0.0.5")
    job = s.render_job(p)
    for img in _images(job):
        assert img.startswith(prefix + "/"), img
    runner = s.render_runner(p)
    if runner.image:
        assert runner.image.startswith(prefix + "/")
    for svc in job.get("services", []):
        assert svc["alias"] == "docker"


def test_mirror_keeps_foreign_registry_host() -> None:
    assert (
        strategies.mirror_image(versions.BUILDAH_IMAGE, "m.example/x/")
        == "m.example/x/" + versions.BUILDAH_IMAGE
    )
    assert strategies.mirror_image("docker:1-cli", None) == "docker:1-cli"


@pytest.mark.parametrize("executor", ["docker", "docker-autoscaler", "kubernetes"])
def test_dind_tls_default_and_runner_match(executor: str) -> None:
    dind = get("dind")
    p = RenderParams(executor=executor, mtu=1360, registry_mirror="https://mirror.example")
    job = dind.render_job(p)
    v = job["variables"]
    assert v["DOCKER_HOST"] == "tcp://docker:2376"
    assert v["DOCKER_TLS_CERTDIR"] == "/certs"
    assert v["DOCKER_CERT_PATH"] == "/certs/client"
    svc = job["services"][0]
    assert svc["name"] == versions.DOCKER_DIND_IMAGE
    assert svc["command"] == ["--mtu=1360", "--registry-mirror=https://mirror.example"]
    runner = dind.render_runner(p)
    assert runner.privileged
    if executor == "kubernetes":
        assert svc["variables"] == {"HEALTHCHECK_TCP_PORT": "2376"}
        assert [d.mount_path for d in runner.empty_dirs] == ["/certs/client"]
    else:
        assert "variables" not in svc
        # the runner's per-project cache volume keeps the dind daemon's store between jobs
        assert runner.volumes == ("/certs/client", "/cache", "/var/lib/docker")
        none = dind.render_runner(RenderParams(executor=executor, cache="none"))
        assert "/var/lib/docker" not in none.volumes


@pytest.mark.parametrize("executor", ["docker", "kubernetes"])
def test_dind_no_tls_variant(executor: str) -> None:
    dind = get("dind")
    p = RenderParams(executor=executor, tls=False)
    job = dind.render_job(p)
    assert job["variables"]["DOCKER_HOST"] == "tcp://docker:2375"
    assert job["variables"]["DOCKER_TLS_CERTDIR"] == ""
    assert "DOCKER_TLS_VERIFY" not in job["variables"]
    runner = dind.render_runner(p)
    assert runner.volumes == (() if executor == "kubernetes" else ("/cache", "/var/lib/docker"))
    assert runner.empty_dirs == ()
    if executor == "kubernetes":
        assert job["services"][0]["variables"] == {"HEALTHCHECK_TCP_PORT": "2375"}


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        (
            "dind",
            ["BUILDKIT_INLINE_CACHE=1", '--cache-from "$BUILD_IMAGE:$CI_COMMIT_REF_SLUG"'],
        ),
        ("kaniko", ["--cache=true", '--cache-repo "$BUILD_IMAGE/cache"', "--cache-copy-layers"]),
        (
            "buildah",
            [
                "--layers",
                '--cache-from "$BUILD_IMAGE/cache"',
                '${BUILDRIG_CACHE_TO:+--cache-to "$BUILDRIG_CACHE_TO"}',
            ],
        ),
        ("buildkit", ["--import-cache", "--export-cache", "type=registry"]),
    ],
)
def test_registry_cache_for_daemonless_ways(name: str, flags: list[str]) -> None:
    s = get(name)
    with_cache = "\n".join(s.render_job(RenderParams(executor="docker"))["script"])
    without = "\n".join(s.render_job(RenderParams(executor="docker", cache="none"))["script"])
    for flag in flags:
        assert flag in with_cache
        assert flag not in without


def test_buildah_fills_the_registry_cache_only_from_empty_storage() -> None:
    b = get("buildah")
    docker = "\n".join(b.render_job(RenderParams(executor="docker"))["script"])
    assert 'if [ -z "$(buildah images --quiet)" ]; then BUILDRIG_CACHE_TO="$BUILD_IMAGE/cache"; fi' in docker
    assert "/var/lib/containers" in b.render_runner(RenderParams(executor="docker")).volumes
    # Kubernetes keeps no storage between jobs: every job pushes its steps to the cache
    k8s = "\n".join(b.render_job(RenderParams(executor="kubernetes"))["script"])
    assert '--cache-to "$BUILD_IMAGE/cache"' in k8s and "BUILDRIG_CACHE_TO" not in k8s
    assert b.render_runner(RenderParams(executor="kubernetes")).volumes == ()


def test_buildah_tries_the_kernels_overlay_before_any_buildah_command() -> None:
    b = get("buildah")
    before = b.render_job(RenderParams(executor="docker"))["before_script"]
    assert "buildrig-storage.conf" in before[0] and "mount_program" not in before[0]
    assert before[1].startswith('if [ -z "$CONTAINERS_STORAGE_CONF" ] && ') and "buildah info" in before[1]
    assert "buildah login" in before[2]
    # Kubernetes stays on vfs: no /dev/fuse, and the pod's root is overlayfs
    k8s = b.render_job(RenderParams(executor="kubernetes"))["before_script"]
    assert not any("buildrig-storage.conf" in line for line in k8s)


def test_dind_registry_cache_has_no_pre_pull() -> None:
    # BuildKit resolves --cache-from from the registry itself; pulling the previous image first
    # is the classic builder's recipe.
    script = "\n".join(get("dind").render_job(RenderParams(executor="docker"))["script"])
    assert "docker pull" not in script


def test_way_specific_job_details() -> None:
    kaniko = get("kaniko").render_job(RenderParams(executor="docker"))
    assert kaniko["image"]["entrypoint"] == [""]
    assert '--dockerfile "$CI_PROJECT_DIR/$BUILD_DOCKERFILE"' in "\n".join(kaniko["script"])
    assert "/kaniko/.docker/config.json" in "\n".join(kaniko["script"])
    buildah = get("buildah").render_job(RenderParams(executor="docker"))
    # fuse-overlayfs where the runner passes /dev/fuse; vfs on Kubernetes, where it cannot.
    assert buildah["variables"]["STORAGE_DRIVER"] == "overlay"
    assert get("buildah").render_runner(RenderParams(executor="docker")).devices == ("/dev/fuse",)
    k8s_buildah = RenderParams(executor="kubernetes")
    assert get("buildah").render_job(k8s_buildah)["variables"]["STORAGE_DRIVER"] == "vfs"
    assert get("buildah").render_runner(k8s_buildah).devices == ()
    assert "--digestfile" in "\n".join(buildah["script"])
    buildkit = get("buildkit").render_job(RenderParams(executor="docker"))
    assert buildkit["variables"]["BUILDKITD_FLAGS"] == "--oci-worker-no-process-sandbox"
    assert buildkit["image"]["entrypoint"] == [""]
    sock = get("docker_sock").render_runner(RenderParams(executor="docker"))
    assert "/var/run/docker.sock:/var/run/docker.sock" in sock.volumes and not sock.privileged
    k8s_sock = get("docker_sock").render_runner(RenderParams(executor="kubernetes"))
    assert k8s_sock.host_paths[0].host_path == "/var/run/docker.sock"
    for name in ("buildah", "buildkit"):
        r = get(name).render_runner(RenderParams(executor="docker"))
        assert r.security_opt == ("seccomp:unconfined", "apparmor:unconfined") and not r.privileged


def test_docker_host_job_and_dropin() -> None:
    s = get("docker_host")
    p = RenderParams(executor="docker", docker_host="192.168.5.4")
    job = s.render_job(p)
    assert job["variables"]["DOCKER_HOST"] == "tcp://192.168.5.4:2376"
    assert job["variables"]["DOCKER_TLS_VERIFY"] == "1"
    before = "\n".join(job["before_script"])
    for var in ("DOCKER_CA_PEM", "DOCKER_CERT_PEM", "DOCKER_KEY_PEM"):
        assert f'"${var}"' in before
    (dropin,) = s.render_host(p)
    lines = dropin.content.splitlines()
    assert "[Service]" in lines
    reset = lines.index("ExecStart=")
    start = lines[reset + 1]
    assert start.startswith("ExecStart=/usr/bin/dockerd -H fd://")
    assert "-H tcp://192.168.5.4:2376 --tlsverify" in start
    assert "0.0.0.0" not in start and "2375" not in start
    assert '"hosts"' in dropin.content  # the daemon.json conflict is documented


def test_shell_runner_user_script() -> None:
    (f,) = get("shell").render_host(RenderParams(executor="shell"))
    assert f.mode == 0o755
    assert "gitlab-runner install --user" in f.content and "usermod -aG docker" in f.content
    assert "root" in f.content
    proc = subprocess.run(["sh", "-n"], input=f.content, text=True, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("facts", "choice", "runner_up"),
    [
        (RunnerFacts(executor="shell", host_docker=True), "shell", None),
        (RunnerFacts(executor="docker", host_docker=True), "docker_sock", "docker_host"),
        (RunnerFacts(executor="docker", privileged_allowed=True), "dind", "buildkit"),
        (
            RunnerFacts(executor="docker", host_docker=True, need_isolation=True, privileged_allowed=True),
            "dind",
            "buildkit",
        ),
        (RunnerFacts(executor="kubernetes", need_isolation=True), "buildkit", "buildah"),
        (RunnerFacts(executor="docker-autoscaler"), "buildkit", "buildah"),
    ],
)
def test_auto_choice(facts: RunnerFacts, choice: str, runner_up: str | None) -> None:
    a = choose_auto(facts)
    assert a.choice.name == choice
    assert (a.runner_up.name if a.runner_up else None) == runner_up
    assert facts.executor in a.reason


def test_auto_shell_without_docker_has_no_way() -> None:
    with pytest.raises(InputError, match="no way fits"):
        choose_auto(RunnerFacts(executor="shell"))


def test_strategies_command_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["strategies"]) == 0
    table = capsys.readouterr().out
    for s in ALL:
        assert s.name in table
    assert main(["strategies", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == 2  # 1 was a bare list carrying seed_rank
    data = doc["ways"]
    assert [d["name"] for d in data] == [s.name for s in ALL]
    assert data[3]["needs_privileged"] is True and data[0]["speed_rank"] == 1
    assert all("seed_rank" not in d for d in data)
    assert main(["strategies", "--format", "xml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'xml'" in err and "text" in err and "json" in err


def test_rendered_yaml_round_trips() -> None:
    # The job dicts must be plain data ruamel can dump (no tuples, no custom objects).
    y = YAML(typ="safe")
    for s, e in CASES:
        job = s.render_job(RenderParams(executor=e, docker_host="10.0.0.5"))
        buf = io.StringIO()
        y.dump(job, buf)
        assert y.load(buf.getvalue()) == job
