"""kaniko: daemonless builds in userspace with the maintained osscontainertools fork (seed rank 5).

Cache and floor (issue 11). ``--cache=true --cache-repo $BUILD_IMAGE/cache`` plus, for a
single-stage Dockerfile, ``--cache-copy-layers`` (see :data:`SINGLE_STAGE_COPY_CACHE`). Measured on
examples/hello, three back-to-back pairs of ``buildrig bench --way kaniko --scenarios warm,change
--repeat 1`` (2 cores shared with five other sessions, so noisy): warm 9.6/17.4/16.5 s without the
flag against 9.6/4.9/4.2 s with it; change 12.1/20.4/12.8 s against 14.9/11.2/16.4 s; a fourth pair,
once the machine was quiet (load ~2): warm 10.6 -> 3.1 s, change 12.7 -> 14.3 s. The best warm job
(4.2 s) is start 0.8 + four cache look-ups 1.0 + the four cached layers fetched and extracted 0.9 +
one push per tag 1.3 + removal 0.2; without the flag kaniko unpacks the base image (~3 s) and the
job container then takes 2-7 s to remove. A change costs one look-up per COPY and one cache push for
the changed COPY (~1-2 s), and still unpacks the base image (3-5 s loaded, 8.5-9.5 s in the quiet
pair, both with and without the flag) for the COPY it runs: that unpack and the removal of its files
are the floor of a change. Not used: ``--snapshot-mode=redo`` and ``--use-new-run`` (they speed up
RUN steps, which a warm or small change does not run, by trusting file metadata: a file rewritten
with the same size and mtime is missed) and ``--compressed-caching=false`` (memory, not time).
With the test registry's auth at a token check's cost (``testbed.registry``), ``buildrig bench
examples/hello --repeat 3``, idle: warm 0.9 s = job start 0.4 + four cache look-ups 0.2 + cached
layers 0.1 + push 0.1 + end 0.1; change 9.5 s, of which the base image's unpack ~6 s and the
removal of the job container with its files 1.1 s. The unpack is this machine's disk: busybox tar
writes the same layer (154 MB, 7,955 files) into a container's root in 7.8 s here, into a volume in
4.7 s, into tmpfs in 1.3 s; kaniko extracts into its own root, so no job setting moves it.
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
    verify_step,
)

DIGEST_FILE = "/kaniko/buildrig-digest"


def single_stage_test(dockerfile: str) -> str:
    """A POSIX command that succeeds when the Dockerfile ``dockerfile`` (a shell word) has one FROM.

    The job decides at run time, where the Dockerfile is at hand (``init`` may run before it
    exists). A line that only looks like a FROM (inside a heredoc) counts too: a miscount upwards
    costs the faster cache, never correctness; an unreadable file fails the test the same way.
    """
    return f"awk 'toupper($1) == \"FROM\" {{ n++ }} END {{ exit (n != 1) }}' {dockerfile}"


# With COPY layers cached too, a rebuild whose every step hits the cache never unpacks the base
# image (kaniko unpacks the root filesystem for the first step it has to run, and COPY is one
# unless cached): on examples/hello that is the 3 s unpack plus the removal of ~140 MB of files
# when the job container goes. kaniko refuses --cache-copy-layers on multi-stage Dockerfiles
# (its COPY --from cache keys were wrong: GoogleContainerTools/kaniko#2065, #2227), so the job
# asks for it only when the Dockerfile has a single FROM. Left unquoted below so that an empty
# value vanishes.
SINGLE_STAGE_COPY_CACHE = (
    'copy_layers=""; if ' + single_stage_test('"$CI_PROJECT_DIR/$BUILD_DOCKERFILE"')
    + '; then copy_layers="--cache-copy-layers"; fi'
)


KANIKO_CACHE = (
    "kaniko looks each step up in `$BUILD_IMAGE/cache` (`--cache=true --cache-repo`) and pushes "
    "the layers of the steps it ran there. For a single-stage Dockerfile the job caches COPY "
    "layers too (`--cache-copy-layers`): a rebuild whose steps are all cached then never unpacks "
    "the base image, the biggest part of kaniko's rebuild (and of removing the job container "
    "afterwards). kaniko refuses that flag for multi-stage Dockerfiles (its COPY --from cache "
    "keys were wrong), so the job counts the FROM lines first. A changed step still needs the "
    "base image unpacked over the job container: that is the floor of a small change. Prune the "
    "cache repository with a cleanup policy."
)


def render_job(p: RenderParams) -> Job:
    executor = (
        "/kaniko/executor"
        ' --context "$CI_PROJECT_DIR/$BUILD_CONTEXT"'
        ' --dockerfile "$CI_PROJECT_DIR/$BUILD_DOCKERFILE"'
        ' --destination "$BUILD_IMAGE:$CI_COMMIT_SHORT_SHA"'
        ' --destination "$BUILD_IMAGE:$CI_COMMIT_REF_SLUG"'
    )
    if p.cache == "registry":
        executor += ' --cache=true --cache-repo "$BUILD_IMAGE/cache" $copy_layers'
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
            *([SINGLE_STAGE_COPY_CACHE] if p.cache == "registry" else []),
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
        cache_step(p, KANIKO_CACHE),
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
    layer_cache=(
        "none between jobs; registry cache repo (--cache=true --cache-repo; COPY layers too for "
        "one stage)"
    ),
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
