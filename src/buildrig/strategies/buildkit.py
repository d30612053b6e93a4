"""buildkit: rootless BuildKit via buildctl-daemonless.sh in moby/buildkit:<v>-rootless (beyond the seed).

Cache and floor (issue 11: change 11.2 s against warm 1.9 s). The registry cache with ``mode=max``
stays: BuildKit v0.34 sends the cache export while it pushes the image (both steps end together: 2.3
s warm, 4.5 s change, on 2 cores shared with five other sessions), so an inline cache, tried back to
back, saved at most 0.4 s of the change's build and nothing measurable warm, and would lose the
cache shared by branches and the build stages of a multi-stage Dockerfile. A warm build moves no
layer (lazy refs): 5.2 and 8.8 s in that pair = daemon start ~1 s + cache manifest 0.4-2.1 s + the
push of two tags 2.1-3.4 s + the rest of the job. A change needs the changed step's parent on disk:
examples/hello, ``buildrig bench --way buildkit --scenarios warm,change --repeat 1``, change 17.8 s
= daemon start 0.9 + cache manifest 0.3 + base download 1.0 + unpack 3.6-4.8 + COPY 0.1 + push 4.5 +
removal of the job container and its state volume 6.2; the unpack and that removal are the floor.
``COPY --link`` in the Dockerfile would let BuildKit skip the parent, but that is the project's
choice, not the job's. That was with a new daemon state in every job; on docker executors the
runner's cache volume at ``~/.local/share/buildkit`` now keeps it per project and concurrent slot
(``base.store_volume``), so the parent is on disk and the state is not removed with the job:
``buildrig bench examples/hello --repeat 3``, idle (2 cores), test registry auth at a token check's
cost: warm 0.9 s = build 0.4 + cache manifest 0.1 + the job container's start 0.3 and end 0.1;
change 1.1 s (3.58x and 1.59x shell's 0.3 and 0.7 s: the warm miss is the job container). BuildKit
resolves ``FROM`` from the registry in every build, so the kept state does not pin an old base image.
"""

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
    cache_step,
    merge_step,
    mirror_image,
    register_step,
    registry_ca_step,
    registry_step,
    restart_step,
    store_volume,
    store_volume_note,
    verify_step,
)
from buildrig.strategies.buildah import APPARMOR_ANNOTATION, SECURITY_OPT, rootless_steps

METADATA_FILE = "/tmp/buildrig-metadata.json"

BUILDKIT_CACHE = (
    "a registry cache that keeps every stage (`--export-cache type=registry,mode=max`, "
    "`$BUILD_IMAGE/cache`, shared by all branches; prune it with a cleanup policy). BuildKit "
    "exports it while it pushes the image, so it adds no time to the job; an inline cache would "
    "save nothing and lose the stages the image does not hold. Cached steps are resolved lazily: "
    "a rebuild where every step is cached moves no layer, but a changed step needs its parent's "
    "files, so where the daemon's state starts empty (Kubernetes, a new runner or concurrent "
    "slot) the base image is downloaded and unpacked in the job's fresh daemon: that is the floor "
    "of a small change with this cache."
)

# Runner cache volumes are named volumes, which Docker fills from the image (owner uid 1000
# included); with cache_dir they are host directories Docker creates for root
# (executors/docker/internal/volumes/manager.go:146-174 at v17.9.3).
_CACHE_DIR_NOTE = (
    " Leave `cache_dir` unset on this runner: with it the store becomes a host directory Docker "
    "creates owned by root, which rootless BuildKit (uid 1000) cannot write."
)

#: rootless buildkitd's state (its snapshots and local cache), the image's declared VOLUME.
BUILDKIT_STORE = "/home/user/.local/share/buildkit"


def render_job(p: RenderParams) -> Job:
    build = (
        "buildctl-daemonless.sh build --frontend dockerfile.v0"
        ' --local context="$BUILD_CONTEXT"'
        ' --local dockerfile="$(dirname "$BUILD_DOCKERFILE")"'
        ' --opt filename="$(basename "$BUILD_DOCKERFILE")"'
        # CSV quoting: a name list with commas must be one quoted field.
        ' --output "type=image,\\"name=$names\\",push=true"'
    )
    if p.cache == "registry":
        # One export, with every stage; BuildKit sends it while it pushes the image.
        build += (
            ' --import-cache "type=registry,ref=$BUILD_IMAGE/cache"'
            ' --export-cache "type=registry,ref=$BUILD_IMAGE/cache,mode=max"'
        )
    build += f" --metadata-file {METADATA_FILE}"
    return {
        "stage": p.stage,
        "image": {"name": mirror_image(versions.BUILDKIT_IMAGE, p.mirror), "entrypoint": [""]},
        "variables": {
            **build_variables(p),
            # No privileged /proc to mount a sandbox on: run build steps in the daemon's namespaces.
            "BUILDKITD_FLAGS": "--oci-worker-no-process-sandbox",
        },
        "before_script": [
            'mkdir -p "$HOME/.docker"',
            f'{DOCKER_CONFIG_JSON} > "$HOME/.docker/config.json"',
            # buildkitd's per-registry CA list (buildkitd.toml), read by the daemon the script starts.
            f'if [ -n "${REGISTRY_CA_VARIABLE}" ]; then mkdir -p "$HOME/.config/buildkit" && '
            "printf '[registry.\"%s\"]\\n  ca = [\"%s\"]\\n' "
            f'"$CI_REGISTRY" "${REGISTRY_CA_VARIABLE}" >> "$HOME/.config/buildkit/buildkitd.toml"; fi',
        ],
        "script": [
            'names="$BUILD_IMAGE:$CI_COMMIT_SHORT_SHA,$BUILD_IMAGE:$CI_COMMIT_REF_SLUG"',
            'if [ -n "$CI_COMMIT_TAG" ]; then names="$names,$BUILD_IMAGE:$CI_COMMIT_TAG"; fi',
            build,
            # Split the JSON at commas: the pair we want then sits alone on its line.
            f"echo \"{DIGEST_MARKER}$(tr ',' '\\n' < {METADATA_FILE} "
            "| grep '\"containerimage.digest\"' | grep -o 'sha256:[0-9a-f]*')\"",
        ],
    }


def render_runner(p: RenderParams) -> RunnerSpec:
    image = mirror_image(versions.BUILDKIT_IMAGE, p.mirror)
    if p.kubernetes:
        return RunnerSpec(executor=p.executor, image=image, pod_annotations=(APPARMOR_ANNOTATION,))
    return RunnerSpec(executor=p.executor, image=image, volumes=("/cache", *store_volume(p, BUILDKIT_STORE)),
                      security_opt=SECURITY_OPT)


def setup_steps(p: RenderParams) -> tuple[str, ...]:
    store = store_volume_note(p, BUILDKIT_STORE, "buildkitd's state")
    return (
        register_step(p, render_runner(p)),
        merge_step(p),
        *rootless_steps(p),
        "`BUILDKITD_FLAGS=--oci-worker-no-process-sandbox` is required rootless without "
        "privileged mode: build steps share the daemon's PID namespace.",
        cache_step(p, BUILDKIT_CACHE + store + (_CACHE_DIR_NOTE if store else "")),
        registry_step(),
        registry_ca_step(),
        restart_step(),
        verify_step(p),
    )


STRATEGY = Strategy(
    name="buildkit",
    title="BuildKit rootless (daemonless)",
    summary="buildctl-daemonless.sh in moby/buildkit rootless; no daemon on the host, no privileges.",
    executors=("docker", "docker-autoscaler", "kubernetes"),
    refusals=(
        (
            "shell",
            "buildrig's BuildKit job runs in the pinned moby/buildkit rootless image; the shell "
            "executor ignores image:.",
        ),
    ),
    needs_privileged=False,
    needs_host_daemon=False,
    isolated=True,
    isolation="per job: a throw-away rootless buildkitd inside the job container",
    persistent_cache=False,
    layer_cache=(
        "the runner's cache volume at ~/.local/share/buildkit (docker executors); registry cache "
        "(--import-cache/--export-cache type=registry)"
    ),
    speed_rank=None,
    security_notes=(
        "Needs seccomp/AppArmor unconfined for user namespaces, not privileged mode.",
        "Rootless: the build runs as an unprivileged user inside a user namespace.",
    ),
    images=(versions.BUILDKIT_IMAGE,),
    render_job=render_job,
    render_runner=render_runner,
    setup_steps=setup_steps,
)
