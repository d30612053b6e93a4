"""The strategy contract: what a way of building images needs, as data, plus pure renderers.

Public API (stable; ``init``, ``run``, ``bench`` and ``doctor`` depend on it):

- :data:`EXECUTORS` — the GitLab Runner executors buildrig generates for.
- :data:`DIGEST_MARKER` — every generated job ends by printing one line
  ``BUILDRIG_DIGEST=sha256:<hex>``: the digest of the manifest it pushed.
- :class:`RenderParams` — everything a renderer needs (already validated by ``buildrig.init``).
- :class:`RunnerSpec`, :class:`EmptyDir`, :class:`HostPath` — the runner side as data.
- :class:`HostFile` — a non-secret file for the build host (path relative to ``runner/host/``).
- :class:`Strategy` — one way: data fields plus ``render_job``, ``render_runner``,
  ``render_host`` and ``setup_steps`` (pure functions of :class:`RenderParams`).
- :func:`mirror_image` — the ``--mirror PREFIX`` rewrite of one image reference.

Renderers return plain Python structures (dicts keep key order) and strings; nothing here
touches the filesystem, the network or a clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EXECUTORS: tuple[str, ...] = ("shell", "docker", "docker-autoscaler", "kubernetes")
CONTAINER_EXECUTORS: tuple[str, ...] = ("docker", "docker-autoscaler", "kubernetes")
DOCKER_LIKE_EXECUTORS: tuple[str, ...] = ("docker", "docker-autoscaler")

DIGEST_MARKER = "BUILDRIG_DIGEST="

CACHE_MODES: tuple[str, ...] = ("registry", "none")

Job = dict[str, Any]


@dataclass(frozen=True)
class RenderParams:
    """Inputs of the renderers. ``docker_host`` is a validated IP literal (docker_host way only)."""

    executor: str
    job_name: str = "build-image"
    image: str = "$CI_REGISTRY_IMAGE"
    dockerfile: str = "Dockerfile"
    context: str = "."
    stage: str = "build"
    mirror: str | None = None
    registry_mirror: str | None = None
    mtu: int | None = None
    docker_host: str | None = None
    docker_port: int = 2376
    tls: bool = True
    cache: str = "registry"

    @property
    def host_tls(self) -> bool:
        """docker_host speaks TLS unless the user insisted on plain 2375."""
        return self.docker_port != 2375

    @property
    def kubernetes(self) -> bool:
        return self.executor == "kubernetes"


@dataclass(frozen=True)
class EmptyDir:
    """``[[runners.kubernetes.volumes.empty_dir]]``."""

    name: str
    mount_path: str
    medium: str = ""


@dataclass(frozen=True)
class HostPath:
    """``[[runners.kubernetes.volumes.host_path]]``."""

    name: str
    host_path: str
    mount_path: str
    read_only: bool = False


@dataclass(frozen=True)
class RunnerSpec:
    """The ``[[runners]]`` settings a way needs for one executor.

    For ``docker``/``docker-autoscaler`` the container settings go to ``[runners.docker]``, for
    ``kubernetes`` to ``[runners.kubernetes]``; the shell executor has none.
    """

    executor: str
    image: str | None = None
    privileged: bool = False
    volumes: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    empty_dirs: tuple[EmptyDir, ...] = ()
    host_paths: tuple[HostPath, ...] = ()
    pod_annotations: tuple[tuple[str, str], ...] = ()

    @property
    def section(self) -> str | None:
        if self.executor in DOCKER_LIKE_EXECUTORS:
            return "docker"
        if self.executor == "kubernetes":
            return "kubernetes"
        return None


@dataclass(frozen=True)
class HostFile:
    """A non-secret file for the host, relative to ``runner/host/``."""

    path: str
    content: str
    mode: int = 0o644


def _no_host(_: RenderParams) -> tuple[HostFile, ...]:
    return ()


@dataclass(frozen=True)
class Strategy:
    """One way of building images: requirements as data plus pure render functions."""

    name: str
    title: str
    summary: str
    executors: tuple[str, ...]
    # (executor, why this way cannot use it) for every executor not in ``executors``.
    refusals: tuple[tuple[str, str], ...]
    needs_privileged: bool
    needs_host_daemon: bool
    isolated: bool
    isolation: str
    persistent_cache: bool
    layer_cache: str
    speed_rank: int | None
    security_notes: tuple[str, ...]
    images: tuple[str, ...]
    render_job: Callable[[RenderParams], Job] = field(compare=False, repr=False)
    render_runner: Callable[[RenderParams], RunnerSpec] = field(compare=False, repr=False)
    setup_steps: Callable[[RenderParams], tuple[str, ...]] = field(compare=False, repr=False)
    render_host: Callable[[RenderParams], tuple[HostFile, ...]] = field(
        default=_no_host, compare=False, repr=False
    )

    def supports(self, executor: str) -> bool:
        return executor in self.executors

    def why_not(self, executor: str) -> str:
        """Why this way cannot run on ``executor`` (empty when it can)."""
        if self.supports(executor):
            return ""
        for name, why in self.refusals:
            if name == executor:
                return why
        return f"{self.name} supports only: {', '.join(self.executors)}"

    def to_dict(self) -> dict[str, Any]:
        """The catalogue entry as JSON-ready data (``buildrig strategies --format json``)."""
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "executors": list(self.executors),
            "needs_privileged": self.needs_privileged,
            "needs_host_daemon": self.needs_host_daemon,
            "isolated": self.isolated,
            "isolation": self.isolation,
            "persistent_cache": self.persistent_cache,
            "layer_cache": self.layer_cache,
            "speed_rank": self.speed_rank,
            "security_notes": list(self.security_notes),
            "images": list(self.images),
        }


# --- shared rendering helpers ------------------------------------------------------------------


def mirror_image(ref: str, prefix: str | None) -> str:
    """Rewrite an image reference for ``--mirror PREFIX``.

    Docker Hub images become ``PREFIX/<path as written>`` (the GitLab Dependency Proxy layout);
    images from another registry keep that registry's host as the first path element
    (``PREFIX/quay.io/buildah/stable:…``), the usual layout of pull-through mirrors.
    """
    if not prefix:
        return ref
    return f"{prefix.rstrip('/')}/{ref}"


def build_variables(p: RenderParams) -> dict[str, str]:
    return {
        "BUILD_IMAGE": p.image,
        "BUILD_DOCKERFILE": p.dockerfile,
        "BUILD_CONTEXT": p.context,
    }


IMG = '"$BUILD_IMAGE'
SHA_TAG = '"$BUILD_IMAGE:$CI_COMMIT_SHORT_SHA"'
SLUG_TAG = '"$BUILD_IMAGE:$CI_COMMIT_REF_SLUG"'
TAG_TAG = '"$BUILD_IMAGE:$CI_COMMIT_TAG"'

DOCKER_LOGIN = (
    "printf '%s\\n' \"$CI_REGISTRY_PASSWORD\" | "
    'docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"'
)

# A JSON auth file for tools without a login command (kaniko, buildctl); printf is a shell
# builtin, so the password never shows in a process listing.
DOCKER_CONFIG_JSON = (
    'printf \'{"auths":{"%s":{"auth":"%s"}}}\\n\' "$CI_REGISTRY" '
    '"$(printf \'%s:%s\' "$CI_REGISTRY_USER" "$CI_REGISTRY_PASSWORD" | base64 | tr -d \'\\n\')"'
)


def docker_cli_script(p: RenderParams, *, registry_cache: bool, pull_base: bool = False) -> list[str]:
    """build, push both tags (and the git tag), print the pushed digest. ``pull_base``: ask the
    registry for the base images' current digests (a store kept between jobs would otherwise
    build on the first one it pulled for good)."""
    lines: list[str] = []
    # --force-rm: the classic builder otherwise leaves a failed step's container on the (often
    # shared) daemon for good; BuildKit ignores the flag.
    if registry_cache:
        # No `docker pull` of the previous image first (the classic builder's recipe): BuildKit
        # reads the inline cache's manifest from the registry and fetches only the layers it
        # reuses.
        build = (
            "DOCKER_BUILDKIT=1 docker build --force-rm --build-arg BUILDKIT_INLINE_CACHE=1 "
            f"--cache-from {SLUG_TAG} "
        )
    else:
        build = "docker build --force-rm "
    if pull_base:
        build += "--pull "
    build += f'-f "$BUILD_DOCKERFILE" -t {SHA_TAG} -t {SLUG_TAG} "$BUILD_CONTEXT"'
    lines += [
        build,
        # One tag after the other: the second push is only round trips (a HEAD per layer, the
        # manifest), and two at once race on the registry's side: distribution's filesystem
        # store answered one of two concurrent identical pushes "500 Internal Server Error" here.
        f"docker push {SHA_TAG}",
        f"docker push {SLUG_TAG}",
        f'if [ -n "$CI_COMMIT_TAG" ]; then docker tag {SHA_TAG} {TAG_TAG} && docker push {TAG_TAG}; fi',
        # On a shared daemon the image may also carry digests of other repositories: take the
        # one of the repository just pushed (the first one only when none matches).
        f"echo \"{DIGEST_MARKER}$(docker image inspect --format "
        "'{{range .RepoDigests}}{{println .}}{{end}}' "
        f"{SHA_TAG} | awk -v r=\"$BUILD_IMAGE@\" "
        "'index($0, r) == 1 {print; m = 1; exit} NR == 1 {f = $0} END {if (!m) print f}' "
        '| cut -d@ -f2)"',
    ]
    return lines


#: The optional File variable holding a private registry CA, for builders without a daemon whose
#: certs.d the runner administrator could fill (kaniko, BuildKit).
REGISTRY_CA_VARIABLE = "BUILD_REGISTRY_CA"


def registry_ca_step() -> str:
    return (
        f"If the registry's certificate is signed by a private CA, add the CA certificate as a "
        f"File-type CI/CD variable `{REGISTRY_CA_VARIABLE}` (Settings > CI/CD > Variables); the job "
        "adds it to the builder's trust store. Without it the push fails with "
        "`x509: certificate signed by unknown authority`."
    )


def cache_step(p: RenderParams, registry_cache: str) -> str:
    """SETUP.md's word on the job's layer cache: ``registry_cache`` says what it uses and why."""
    if p.cache == "none":
        return (
            "Layer cache: none (generated with `--cache none`): every job runs every Dockerfile "
            "step. Re-run `buildrig init` without it to get the registry cache."
        )
    return f"Layer cache: {registry_cache}"


def store_volume(p: RenderParams, path: str) -> tuple[str, ...]:
    """The runner's cache volume that keeps a builder's own store (``path``) between jobs.

    A ``volumes`` entry without a host path is a volume GitLab Runner names per runner, project
    and concurrent slot (at v17.9.3 runner-<token>-project-<id>-concurrent-<n>-cache-<md5>:
    executors/docker/internal/volumes/manager.go:197, common/build.go:227; 18.3 adds a suffix
    for protected refs, 18.4 hashes the parts) and keeps between jobs (job clean-up removes
    anonymous volumes only: docker.go:852), binding it into services as well (docker.go:397).
    Slots are handed out per project skipping those of running builds
    (commands/builds_helper.go:169), so no two running jobs share one store. Kubernetes has no
    such volume, and ``--cache none`` asks for no cache at all.
    """
    return () if p.kubernetes or p.cache == "none" else (path,)


def store_volume_note(p: RenderParams, path: str, what: str) -> str:
    """SETUP.md's word on :func:`store_volume` (empty where there is none)."""
    if not store_volume(p, path):
        return ""
    prune = (
        "remove these volumes on a schedule on the instances, or recycle instances "
        "(`max_use_count`): the next job is then a cold one"
        if p.executor == "docker-autoscaler"
        else "remove these volumes on a schedule with `/usr/share/gitlab-runner/clear-docker-cache "
        "prune-volumes` (the next job is then a cold one)"
    )
    return (
        f" The runner's `volumes` entry `{path}` keeps {what} between jobs: GitLab Runner makes "
        "it a cache volume per project and concurrent slot, so no two running jobs share it and a "
        "rebuild on the same slot finds its layers locally; the registry cache serves a new "
        f"runner or slot. It grows with every build: {prune}. WARNING: every pipeline of the "
        "project on that runner shares the store (all branches and users, and merge requests "
        "from forks run in this project), so a job on one branch can plant an image or layer a "
        "later build on another branch uses. GitLab Runner 18.3 and later keep separate volumes "
        "for protected and unprotected refs; on older runners, build protected refs (the ones "
        "that publish) on a runner of their own. `disable_cache = true` in `[runners.docker]` "
        "turns the store off (every job starts empty and uses the registry cache). The entry "
        "applies to every job of the runner: keep this runner for the build job."
    )


HOST_DAEMON_CACHE = (
    "daemon keeps every layer between jobs, the fastest cache there is, so the job adds no "
    "registry cache (`--cache-from` would only add registry round trips to a build the daemon "
    "already has cached). Its disk fills up: prune it on a schedule (`docker builder prune`, "
    "`docker image prune`)."
)


def registry_step() -> str:
    return (
        "Give the job push rights: the generated job logs in with the predefined "
        "CI_REGISTRY_USER / CI_REGISTRY_PASSWORD, so the project's container registry must be "
        "enabled (Settings > General > Visibility > Container registry)."
    )


def register_step(p: RenderParams, runner: RunnerSpec) -> str:
    image = f' --docker-image "{runner.image}"' if runner.image and runner.section == "docker" else ""
    step = (
        "Install GitLab Runner on the build host and register a runner for this project with "
        f'executor "{p.executor}" (`gitlab-runner register --executor {p.executor}{image} ...`); '
        "if you already have one, use it."
    )
    if p.executor == "docker-autoscaler":
        step += (
            " docker-autoscaler also needs its `[runners.autoscaler]` section (fleeting plugin, "
            "instance group, capacity), which buildrig does not generate; the `[runners.docker]` "
            "settings below apply to every instance it starts."
        )
    return step


def merge_step(p: RenderParams) -> str:
    return (
        "Merge the generated `config.toml` settings into the `[[runners]]` entry of that runner "
        "(`/etc/gitlab-runner/config.toml` for a system install; buildrig does this itself with "
        "`--runner-config PATH`). Keep the `url` and `token` lines `gitlab-runner register` wrote."
    )


def restart_step() -> str:
    return (
        "Apply: `gitlab-runner restart` (the runner also reloads config.toml on its own within a "
        "few seconds)."
    )


def verify_step(p: RenderParams) -> str:
    return (
        f"Push a commit: the `{p.job_name}` job builds `$BUILD_DOCKERFILE`, pushes "
        "`$BUILD_IMAGE:$CI_COMMIT_SHORT_SHA` and `:$CI_COMMIT_REF_SLUG` (and `:$CI_COMMIT_TAG` on "
        f"tags) and ends with a line `{DIGEST_MARKER}sha256:…` that must match the registry."
    )
