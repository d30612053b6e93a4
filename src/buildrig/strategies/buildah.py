"""buildah: daemonless, unprivileged builds with quay.io/buildah/stable (beyond the seed)."""

from __future__ import annotations

from buildrig import versions
from buildrig.strategies.base import (
    DIGEST_MARKER,
    Job,
    RenderParams,
    RunnerSpec,
    Strategy,
    build_variables,
    merge_step,
    mirror_image,
    register_step,
    registry_step,
    restart_step,
    verify_step,
)

SECURITY_OPT: tuple[str, ...] = ("seccomp:unconfined", "apparmor:unconfined")
APPARMOR_ANNOTATION = ("container.apparmor.security.beta.kubernetes.io/build", "unconfined")
DIGEST_FILE = "/tmp/buildrig-digest"


def render_job(p: RenderParams) -> Job:
    build = "buildah build"
    if p.cache == "registry":
        build += ' --layers --cache-from "$BUILD_IMAGE/cache" --cache-to "$BUILD_IMAGE/cache"'
    build += ' -f "$BUILD_DOCKERFILE" -t "$BUILD_IMAGE:$CI_COMMIT_SHORT_SHA" "$BUILD_CONTEXT"'
    return {
        "stage": p.stage,
        "image": mirror_image(versions.BUILDAH_IMAGE, p.mirror),
        "variables": {
            **build_variables(p),
            # vfs needs no fuse-overlayfs or kernel overlay inside an unprivileged container.
            "STORAGE_DRIVER": "vfs",
            "BUILDAH_FORMAT": "docker",
            "BUILDAH_ISOLATION": "chroot",
        },
        "before_script": [
            "printf '%s\\n' \"$CI_REGISTRY_PASSWORD\" | "
            'buildah login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"',
        ],
        "script": [
            build,
            f'buildah push --digestfile {DIGEST_FILE} "$BUILD_IMAGE:$CI_COMMIT_SHORT_SHA"',
            'buildah push "$BUILD_IMAGE:$CI_COMMIT_SHORT_SHA" "docker://$BUILD_IMAGE:$CI_COMMIT_REF_SLUG"',
            'if [ -n "$CI_COMMIT_TAG" ]; then buildah push "$BUILD_IMAGE:$CI_COMMIT_SHORT_SHA" '
            '"docker://$BUILD_IMAGE:$CI_COMMIT_TAG"; fi',
            f'echo "{DIGEST_MARKER}$(cat {DIGEST_FILE})"',
        ],
    }


def render_runner(p: RenderParams) -> RunnerSpec:
    image = mirror_image(versions.BUILDAH_IMAGE, p.mirror)
    if p.kubernetes:
        return RunnerSpec(executor=p.executor, image=image, pod_annotations=(APPARMOR_ANNOTATION,))
    return RunnerSpec(executor=p.executor, image=image, volumes=("/cache",), security_opt=SECURITY_OPT)


def rootless_steps(p: RenderParams) -> list[str]:
    if p.kubernetes:
        return [
            "The pod annotation sets AppArmor to unconfined for the build container (otherwise "
            "`failed to share mount point: /: permission denied`). If your cluster enforces a "
            "seccomp profile (kubelet --seccomp-default or a policy), allow Unconfined for build "
            "pods, or unshare(CLONE_NEWUSER) fails.",
        ]
    return [
        '`security_opt = ["seccomp:unconfined", "apparmor:unconfined"]` lets the build '
        "create a user namespace (otherwise `unshare(CLONE_NEWUSER): Operation not permitted`). "
        "It relaxes two filters for this runner's jobs but needs no privileged mode.",
    ]


def setup_steps(p: RenderParams) -> tuple[str, ...]:
    return (
        register_step(p, render_runner(p)),
        merge_step(p),
        *rootless_steps(p),
        "The layer cache lives in the registry under `$BUILD_IMAGE/cache`; prune it with a cleanup policy.",
        registry_step(),
        restart_step(),
        verify_step(p),
    )


STRATEGY = Strategy(
    name="buildah",
    title="Buildah (daemonless)",
    summary="buildah build/push in quay.io/buildah/stable with vfs storage; no daemon, no privileges.",
    executors=("docker", "docker-autoscaler", "kubernetes"),
    refusals=(
        (
            "shell",
            "buildrig's buildah job runs in the pinned quay.io/buildah/stable image; the shell "
            "executor ignores image:.",
        ),
    ),
    needs_privileged=False,
    needs_host_daemon=False,
    isolated=True,
    isolation="per job: each build runs in its own unprivileged container",
    persistent_cache=False,
    layer_cache="none between jobs; registry cache (--layers --cache-from/--cache-to)",
    seed_rank=None,
    security_notes=(
        "Needs seccomp/AppArmor unconfined for user namespaces, not privileged mode.",
        "vfs storage copies every layer: slower on large images.",
    ),
    images=(versions.BUILDAH_IMAGE,),
    render_job=render_job,
    render_runner=render_runner,
    setup_steps=setup_steps,
)
