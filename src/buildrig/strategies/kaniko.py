"""kaniko: daemonless builds in userspace with the maintained osscontainertools fork (seed rank 5)."""

from __future__ import annotations

from buildrig import versions
from buildrig.strategies.base import (
    DIGEST_MARKER,
    DOCKER_CONFIG_JSON,
    REGISTRY_CA_VARIABLE,
    Job,
    RenderParams,
    RunnerSpec,
    Strategy,
    build_variables,
    merge_step,
    mirror_image,
    register_step,
    registry_ca_step,
    registry_step,
    restart_step,
    verify_step,
)

DIGEST_FILE = "/kaniko/buildrig-digest"


def render_job(p: RenderParams) -> Job:
    executor = (
        "/kaniko/executor"
        ' --context "$CI_PROJECT_DIR/$BUILD_CONTEXT"'
        ' --dockerfile "$CI_PROJECT_DIR/$BUILD_DOCKERFILE"'
        ' --destination "$BUILD_IMAGE:$CI_COMMIT_SHORT_SHA"'
        ' --destination "$BUILD_IMAGE:$CI_COMMIT_REF_SLUG"'
    )
    if p.cache == "registry":
        executor += ' --cache=true --cache-repo "$BUILD_IMAGE/cache"'
    executor += f" --digest-file {DIGEST_FILE} $tag_dest"
    return {
        "stage": p.stage,
        # The -debug image has a busybox shell; entrypoint "" lets the runner start it.
        "image": {"name": mirror_image(versions.KANIKO_IMAGE, p.mirror), "entrypoint": [""]},
        "variables": build_variables(p),
        "script": [
            # As GitLab's kaniko docs do for a private CA: kaniko trusts its own bundle only.
            f'if [ -n "${REGISTRY_CA_VARIABLE}" ]; then '
            f'cat "${REGISTRY_CA_VARIABLE}" >> /kaniko/ssl/certs/ca-certificates.crt; fi',
            "mkdir -p /kaniko/.docker",
            f"{DOCKER_CONFIG_JSON} > /kaniko/.docker/config.json",
            # kaniko pushes every destination in one run, so the git tag joins the argument list
            # (one word, left unquoted below so that an empty value vanishes).
            'tag_dest=""; if [ -n "$CI_COMMIT_TAG" ]; then '
            'tag_dest="--destination=$BUILD_IMAGE:$CI_COMMIT_TAG"; fi',
            executor,
            f'echo "{DIGEST_MARKER}$(cat {DIGEST_FILE})"',
        ],
    }


def render_runner(p: RenderParams) -> RunnerSpec:
    image = mirror_image(versions.KANIKO_IMAGE, p.mirror)
    if p.kubernetes:
        return RunnerSpec(executor=p.executor, image=image)
    return RunnerSpec(executor=p.executor, image=image, volumes=("/cache",))


def setup_steps(p: RenderParams) -> tuple[str, ...]:
    return (
        register_step(p, render_runner(p)),
        merge_step(p),
        "No privileged mode, no daemon and no host changes are needed. kaniko runs as root inside "
        "its container and unpacks the base image over it, so give it no secrets beyond the job's.",
        "The layer cache lives in the registry under `$BUILD_IMAGE/cache`; prune it with a cleanup policy.",
        "Google archived kaniko in June 2025; this uses the maintained fork "
        f"ghcr.io/osscontainertools/kaniko ({versions.KANIKO_VERSION}). If ghcr.io is blocked, "
        "re-run with `--mirror <your registry prefix>`.",
        registry_step(),
        registry_ca_step(),
        restart_step(),
        verify_step(p),
    )


STRATEGY = Strategy(
    name="kaniko",
    title="kaniko (daemonless)",
    summary="kaniko executor builds from the Dockerfile in userspace; no daemon, no privileges.",
    executors=("docker", "docker-autoscaler", "kubernetes"),
    refusals=(
        (
            "shell",
            "kaniko must run as its own container image (it rewrites the container's root "
            "filesystem); the shell executor ignores image:.",
        ),
    ),
    needs_privileged=False,
    needs_host_daemon=False,
    isolated=True,
    isolation="per job: each build runs in its own unprivileged container",
    persistent_cache=False,
    layer_cache="none between jobs; registry cache repo (--cache=true --cache-repo)",
    speed_rank=5,
    security_notes=(
        "Google's kaniko is archived; use the maintained osscontainertools fork, pinned.",
        "Runs as root in its container; unprivileged, but not rootless.",
    ),
    images=(versions.KANIKO_IMAGE,),
    render_job=render_job,
    render_runner=render_runner,
    setup_steps=setup_steps,
)
