"""buildah: daemonless, unprivileged builds with quay.io/buildah/stable (beyond the seed).

Cache and floor (issue 11: "13-21 s building although every step is cached"). On docker
executors the runner's cache volume at ``/var/lib/containers`` keeps buildah's storage per project
and concurrent slot (``base.store_volume``): ``--layers`` finds every step's image there, and only a
job that starts from empty storage pushes its steps to ``--cache-to`` (buildah pushes every step
there, cached ones too: 0.4 s each). ``--pull=always`` asks the registry whether the base image
moved on (buildah's default pulls only what is missing) and keeps the blobs it has (~0.1 s).
With the kernel's overlayfs as well (:func:`native_overlay_lines`), examples/hello, ``buildrig bench
examples/hello --repeat 3``, idle (2 cores), test registry auth at a token check's cost: warm 1.5 s
(14.7 s before) = login 0.1 + build 0.7 (ten cache checks: each COPY step hashes its sources,
0.13-0.15 s) + push of the two tags 0.2 + the job container 0.4; change 1.7 s (20.4 s before;
2.63x shell's 0.7 s), of which 0.8 s build. Both stay above the targets (2x and 2.5x shell's) by
the job container and buildah's own step checks, which the shell way's docker build does in 0.1 s.

Where storage starts empty (Kubernetes, a new runner or slot) the registry cache is the floor: the
base image's pull into empty storage 3.8-11 s, then one cache look-up and pull per Dockerfile step,
0.2-1 s each (buildah reads no cache manifest), commit 0.3 s, push 1.2-4.6 s, and 1-7 s to remove
the job container with its unpacked layers (quiet machine: warm 13.3 s = base image 7.2, nine cache
pulls 3.5, commit 0.1, push 1.2, removal 0.9). Pushing the two tags at once gained 0.8-2 s on warm
runs, but two identical pushes at once race in the registry's store (distribution answered one of
them 500 in CI here), so they go one after the other.
"""

from __future__ import annotations

from buildrig import versions
from buildrig.strategies.base import (
    DIGEST_MARKER,
    Job,
    RenderParams,
    RunnerSpec,
    Strategy,
    build_variables,
    cache_step,
    merge_step,
    mirror_image,
    register_step,
    registry_step,
    restart_step,
    store_volume,
    store_volume_note,
    verify_step,
)

#: containers-storage of the image's root user: base images, step images, the build's layers.
BUILDAH_STORE = "/var/lib/containers"
SECURITY_OPT: tuple[str, ...] = ("seccomp:unconfined", "apparmor:unconfined")
APPARMOR_ANNOTATION = ("container.apparmor.security.beta.kubernetes.io/build", "unconfined")
DIGEST_FILE = "/tmp/buildrig-digest"
FUSE_DEVICE = "/dev/fuse"


BUILDAH_CACHE = (
    "`--layers --cache-from/--cache-to $BUILD_IMAGE/cache`: buildah looks each Dockerfile step "
    "up in its storage, then in the cache repository, pulls the step's image when it is there "
    "and pushes the images of the steps it had to run. Where storage starts empty (Kubernetes, a "
    "new runner or concurrent slot), a rebuild pulls the base image and one cache image per step "
    "(buildah has no cache manifest to read in one go), and a change pushes one cache image per "
    "step after it, metadata-only steps included: that is the floor of the registry cache. Prune "
    "the cache repository with a cleanup policy."
)


def storage_driver(p: RenderParams) -> str:
    """overlay (the kernel's, else the image's fuse-overlayfs: :func:`native_overlay_lines`) where
    the runner can pass /dev/fuse, vfs elsewhere.

    vfs copies the whole root filesystem for every layer it creates or pulls: on examples/hello a
    registry-cached rebuild took longer than a cold one. fuse-overlayfs stores diffs only and
    needs nothing but the device, which a Kubernetes pod cannot get without a device plugin.
    """
    return "vfs" if p.kubernetes else "overlay"


#: Storage without the image's fuse-overlayfs mount program (see :func:`native_overlay_lines`).
NATIVE_STORAGE_CONF = "/tmp/buildrig-storage.conf"


def native_overlay_lines() -> list[str]:
    """Use the kernel's overlayfs where it can serve the storage (Linux 5.11+ mounts overlay in a
    user namespace); else keep the image's fuse-overlayfs.

    quay.io/buildah/stable configures fuse-overlayfs for the case where its storage sits on an
    overlay root, where the kernel's overlay cannot stack. Under the docker executor the storage
    is a volume (the image declares ``VOLUME /var/lib/containers``; the runner's cache volume
    when kept), and fuse-overlayfs is the slow part of a build there: it commits a layer by
    comparing the whole file tree with its parent (examples/hello: COPY of one file 2.5 s against
    0.3 s native; cold build 30.5 -> 18.4 s, change 5.2 -> 2.7 s). ``buildah info`` initialises
    the storage, which test-mounts an overlay (containers/storage falls back to the
    fuse-overlayfs it finds where the kernel's cannot serve), so a failing probe leaves the
    image's configuration in force. A host keeps one kernel, so a store stays with the mode it
    was made with. A job that names its own storage configuration (``CONTAINERS_STORAGE_CONF``)
    keeps it.
    """
    return [
        f"printf '[storage]\\ndriver = \"overlay\"\\ngraphroot = \"{BUILDAH_STORE}/storage\"\\n"
        f"runroot = \"/run/containers/storage\"\\n' > {NATIVE_STORAGE_CONF}",
        f'if [ -z "$CONTAINERS_STORAGE_CONF" ] && CONTAINERS_STORAGE_CONF={NATIVE_STORAGE_CONF} '
        f"buildah info >/dev/null 2>&1; then export CONTAINERS_STORAGE_CONF={NATIVE_STORAGE_CONF}; fi",
    ]


def render_job(p: RenderParams) -> Job:
    build = "buildah build"
    script: list[str] = []
    native = [] if p.kubernetes else native_overlay_lines()
    if p.cache == "registry" and store_volume(p, BUILDAH_STORE):
        # buildah pushes every step to --cache-to, steps it found in its own storage too (0.4 s
        # each here): a store the runner's volume kept warm serves this slot by itself, so only a
        # job that starts from empty storage (a new runner or slot) fills the registry cache. It
        # may lag behind the Dockerfile; a stale entry costs a later job a rebuilt step, never a
        # wrong image (each step is keyed by its parent and instruction).
        script.append(
            'if [ -z "$(buildah images --quiet)" ]; then BUILDRIG_CACHE_TO="$BUILD_IMAGE/cache"; fi'
        )
        # --pull=always: the kept storage would otherwise build on the first base image it
        # pulled for good (buildah's default pulls only what is missing); blobs it has stay put.
        build += (
            ' --pull=always --layers --cache-from "$BUILD_IMAGE/cache"'
            ' ${BUILDRIG_CACHE_TO:+--cache-to "$BUILDRIG_CACHE_TO"}'
        )
    elif p.cache == "registry":
        build += ' --layers --cache-from "$BUILD_IMAGE/cache" --cache-to "$BUILD_IMAGE/cache"'
    build += ' -f "$BUILD_DOCKERFILE" -t "$BUILD_IMAGE:$CI_COMMIT_SHORT_SHA" "$BUILD_CONTEXT"'
    return {
        "stage": p.stage,
        "image": mirror_image(versions.BUILDAH_IMAGE, p.mirror),
        "variables": {
            **build_variables(p),
            "STORAGE_DRIVER": storage_driver(p),
            "BUILDAH_FORMAT": "docker",
            "BUILDAH_ISOLATION": "chroot",
        },
        "before_script": [
            *native,
            "printf '%s\\n' \"$CI_REGISTRY_PASSWORD\" | "
            'buildah login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"',
        ],
        "script": [
            *script,
            build,
            # One tag after the other: the second push finds every blob in the registry (a HEAD
            # each), and concurrent identical pushes race in the registry's store (a 500 seen here).
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
    return RunnerSpec(executor=p.executor, image=image, volumes=("/cache", *store_volume(p, BUILDAH_STORE)),
                      security_opt=SECURITY_OPT, devices=(FUSE_DEVICE,))


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


def storage_step(p: RenderParams) -> str:
    if p.kubernetes:
        return ("Storage is vfs: a pod gets no /dev/fuse without a device plugin, and the job's "
                "root is overlayfs. vfs copies every layer, so large images build slowly.")
    return (
        "The job mounts the kernel's overlayfs in its user namespace where the kernel allows it "
        "(Linux 5.11 or later: a build commits each layer without comparing the whole file tree, "
        "about 10x faster per step here); elsewhere "
        '`devices = ["/dev/fuse"]` gives it fuse-overlayfs, the image\'s storage driver: '
        "layers are stored as diffs instead of vfs's full copies. The host (for docker-autoscaler: "
        "the instance image) needs the fuse module (`modprobe fuse`; `/dev/fuse` must exist) and "
        "Linux 4.18 or later (FUSE mounts in a user namespace); on SELinux-enforcing hosts allow "
        "the device with `setsebool -P container_use_devices 1`. Where that cannot be had, set "
        "`STORAGE_DRIVER: vfs` in the job."
    )


def setup_steps(p: RenderParams) -> tuple[str, ...]:
    return (
        register_step(p, render_runner(p)),
        merge_step(p),
        *rootless_steps(p),
        storage_step(p),
        cache_step(p, BUILDAH_CACHE + store_volume_note(p, BUILDAH_STORE, "buildah's image storage")),
        registry_step(),
        restart_step(),
        verify_step(p),
    )


STRATEGY = Strategy(
    name="buildah",
    title="Buildah (daemonless)",
    summary=(
        "buildah build/push in quay.io/buildah/stable with overlay storage (the kernel's, else "
        "fuse-overlayfs; vfs on Kubernetes); no daemon, no privileges."
    ),
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
    layer_cache=(
        "the runner's cache volume at /var/lib/containers (docker executors); registry cache "
        "(--layers --cache-from/--cache-to)"
    ),
    speed_rank=None,
    security_notes=(
        "Needs seccomp/AppArmor unconfined for user namespaces, not privileged mode.",
        "Docker executors pass /dev/fuse into the job for fuse-overlayfs where the kernel's "
        "overlayfs cannot serve (a FUSE mount, not privileged mode); on Kubernetes storage is "
        "vfs, which copies every layer (slower on large images).",
    ),
    images=(versions.BUILDAH_IMAGE,),
    render_job=render_job,
    render_runner=render_runner,
    setup_steps=setup_steps,
)
