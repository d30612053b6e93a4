"""docker_sock: a docker CLI job talks to the host daemon through the bound socket (seed rank 2)."""

from __future__ import annotations

from buildrig import versions
from buildrig.strategies.base import (
    DOCKER_LOGIN,
    HOST_DAEMON_CACHE,
    HostPath,
    Job,
    RenderParams,
    RunnerSpec,
    Strategy,
    build_variables,
    docker_cli_script,
    merge_step,
    mirror_image,
    register_step,
    registry_step,
    restart_step,
    verify_step,
)

SOCKET = "/var/run/docker.sock"


def render_job(p: RenderParams) -> Job:
    return {
        "stage": p.stage,
        "image": mirror_image(versions.DOCKER_CLI_IMAGE, p.mirror),
        "variables": {**build_variables(p), "DOCKER_HOST": f"unix://{SOCKET}"},
        "before_script": ["docker info", DOCKER_LOGIN],
        "script": docker_cli_script(p, registry_cache=False),
    }


def render_runner(p: RenderParams) -> RunnerSpec:
    image = mirror_image(versions.DOCKER_CLI_IMAGE, p.mirror)
    if p.kubernetes:
        return RunnerSpec(
            executor=p.executor,
            image=image,
            host_paths=(HostPath("docker-sock", SOCKET, SOCKET, read_only=True),),
        )
    return RunnerSpec(executor=p.executor, image=image, volumes=(f"{SOCKET}:{SOCKET}", "/cache"))


def setup_steps(p: RenderParams) -> tuple[str, ...]:
    runner = render_runner(p)
    node = "every node that runs build pods" if p.kubernetes else "the runner host"
    steps = [
        f"Install Docker Engine on {node} and check it runs: `docker info`.",
        register_step(p, runner),
        merge_step(p),
        "WARNING: binding the Docker socket gives every job root on the host and control of all "
        "its containers (including the runner's); `read_only` does not limit the API. Use this "
        "runner only for trusted projects and never add a docker:dind service to these jobs "
        "(volume bindings also apply to services).",
    ]
    if p.kubernetes:
        steps.append(
            "Keep build pods off production nodes: set `node_selector` and taints so that only "
            "dedicated build nodes (with Docker Engine, not only containerd) run them."
        )
    steps += [
        "Layer cache: the host's " + HOST_DAEMON_CACHE,
        registry_step(),
        restart_step(),
        verify_step(p),
    ]
    return tuple(steps)


STRATEGY = Strategy(
    name="docker_sock",
    title="Docker socket binding",
    summary="docker:cli job with the host's /var/run/docker.sock mounted; builds run on the host daemon.",
    executors=("docker", "docker-autoscaler", "kubernetes"),
    refusals=(
        (
            "shell",
            "the shell executor ignores image: and runner volumes, so there is no socket to bind; "
            "use the shell way, which talks to the host daemon directly.",
        ),
    ),
    needs_privileged=False,
    needs_host_daemon=True,
    isolated=False,
    isolation="none: jobs share the host daemon and can control every container on it",
    persistent_cache=True,
    layer_cache="host daemon keeps every layer between jobs",
    speed_rank=2,
    security_notes=(
        "Socket binding is root on the host: any job can start privileged containers.",
        "Jobs see and can remove each other's (and the runner's) containers.",
        "Cannot be combined with a docker:dind service; bind mounts resolve on the host.",
    ),
    images=(versions.DOCKER_CLI_IMAGE,),
    render_job=render_job,
    render_runner=render_runner,
    setup_steps=setup_steps,
)
