"""What the well-known images and GitLab Runner do on their own, as pure functions.

The one definition of each such fact: the engine uses these to derive each job's way and
effective environment, the dind and docker_host rules to reason per runner, and kit/
re-exports them for the other rules. Sources: docker-library/docker's
``docker-entrypoint.sh``/``dockerd-entrypoint.sh`` and Dockerfiles. What GitLab Runner itself does
(service names, volumes, image references, expansion, feature flags, privileges) is not decided
here but in ``buildrig.gitlab`` (shared with ``run``), and docker image releases in
``engine_versions``; the functions below that touch those only apply them to doctor's models.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from buildrig import engine_versions as EV
from buildrig.doctor.analysis import remembered
from buildrig.errors import Loc
from buildrig.gitlab import features, mounts, privileged, services
from buildrig.gitlab.imageref import ImageRef as ImageRef
from buildrig.gitlab.imageref import parse_image as parse_image
from buildrig.gitlab.model import Job, Runner, ServiceSpec, Variable

DOCKER_EXECUTORS = frozenset(
    {"docker", "docker+machine", "docker-autoscaler", "docker-ssh", "docker-ssh+machine", "docker-windows"}
)
HONOR_ENTRYPOINT_FF = features.KUBERNETES_HONOR_ENTRYPOINT
NETWORK_PER_BUILD_FF = features.NETWORK_PER_BUILD

# The image ENV each well-known image sets (Dockerfile ENV, so even Kubernetes sees them).
DOCKER_IMAGE_ENV = {"DOCKER_TLS_CERTDIR": "/certs"}
KANIKO_IMAGE_ENV = {"DOCKER_CONFIG": "/kaniko/.docker/", "SSL_CERT_DIR": "/kaniko/ssl/certs"}
# buildah's STORAGE_DRIVER is not an ENV of quay.io/buildah/stable: overlay is its storage.conf
# default, which the rules read as if it were the variable.
BUILDAH_IMAGE_ENV = {"BUILDAH_ISOLATION": "chroot", "STORAGE_DRIVER": "overlay"}
BUILDKIT_ROOTLESS_ENV = {"BUILDKITD_FLAGS": ""}


# --- images -------------------------------------------------------------------------------------


def is_docker_image(name: str | None) -> bool:
    """The official ``docker`` image (any variant), possibly through a mirror or proxy."""
    return name is not None and parse_image(name).last == "docker"


@lru_cache(maxsize=4096)
def is_dind_image(name: str) -> bool:
    ref = parse_image(name)
    if ref.last == "docker":
        parts = (ref.tag or "latest").lower().split("-")
        # Only the "cli" and the Windows variants ship no daemon (the Windows Dockerfiles delete
        # dockerd.exe); bare versions, "latest"/"stable" and "git" (FROM docker:<v>-dind) are dind.
        return "dind" in parts or not any(
            p == "cli" or p.startswith(("windowsservercore", "nanoserver")) for p in parts
        )
    return "dind" in ref.last


def is_dind_service(svc: ServiceSpec) -> bool:
    return is_dind_image(svc.name)


def is_rootless_dind(svc: ServiceSpec) -> bool:
    return "rootless" in (parse_image(svc.name).tag or "") or "rootless" in parse_image(svc.name).last


def docker_release(name: str) -> tuple[int, int] | None:
    """The Docker release a ``docker`` image runs, floating tags included (engine_versions)."""
    ref = parse_image(name)
    if ref.digest and not ref.tag:
        return None  # a digest names a build, not a release doctor can read
    found = EV.release_of_tag(ref.tag)
    return found.release if found is not None else None


def docker_major(name: str) -> int | None:
    """Major version of a docker image (``24.0.5-cli`` -> 24, ``stable`` -> 19, ``dind`` -> the
    current major); None when unknown."""
    rel = docker_release(name)
    return rel[0] if rel is not None else None


def docker_version(name: str) -> tuple[int, ...] | None:
    return docker_release(name)


def is_floating_docker_tag(name: str) -> bool:
    """The tag moves under the job: a name (``dind``, ``latest``, ``stable``) or a version without
    its patch number (``29-dind``); a full ``x.y.z`` pin or a digest does not."""
    ref = parse_image(name)
    if ref.digest:
        return False
    found = EV.release_of_tag(ref.tag)
    return found is None or found.floating


def image_name(job: Job, runners: Iterable[Runner] = ()) -> str | None:
    """The job's image; without one, the runners' default image when every candidate runner that
    names one names the same (otherwise which one runs the job is not known)."""
    if job.image is not None and job.image.name:
        return job.image.name
    names = {_default_image(r) for r in runners}
    names.discard(None)
    return next(iter(names)) if len(names) == 1 else None


def _default_image(r: Runner) -> str | None:
    if r.docker is not None and r.docker.image:
        return r.docker.image
    if r.kubernetes is not None and r.kubernetes.image:
        return r.kubernetes.image
    return None


def service_aliases(svc: ServiceSpec, *, kubernetes: bool = False) -> tuple[str, ...]:
    """Host names a service answers to, per GitLab Runner: the names derived from its image and
    its aliases (gitlab/services.py)."""
    return services.host_names(svc.name, svc.alias, kubernetes=kubernetes)


def derived_aliases(svc: ServiceSpec) -> tuple[str, ...]:
    return services.derived_names(svc.name)


# --- DOCKER_HOST ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    scheme: str  # tcp, unix, ssh, npipe, fd
    host: str | None
    port: int | None
    raw: str

    @property
    def is_loopback(self) -> bool:
        return self.host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or (
            self.host is not None and self.host.startswith("127.")
        )


@lru_cache(maxsize=4096)
def parse_endpoint(value: str) -> Endpoint | None:
    value = value.strip()
    if not value or "$" in value:
        return None
    if "://" not in value:
        value = "tcp://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        scheme = "tcp"
    if scheme == "tcp" and port is None:
        port = 2375
    return Endpoint(scheme=scheme, host=parts.hostname, port=port, raw=value)


# --- scripts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    key: str  # before_script, script or after_script
    text: str
    loc: Loc  # the key's line: entries carry no line of their own


def script_lines(job: Job, *, after: bool = False) -> tuple[Line, ...]:
    """Every command line the job's shell runs (``after``: with after_script's), comments dropped;
    many rules read the same job's lines, so they are worked out once per run."""
    return remembered("script_lines+after" if after else "script_lines", job, _script_lines, job, after)


def _script_lines(job: Job, after: bool) -> tuple[Line, ...]:
    if after:  # the main lines are the same either way: reuse them and add after_script's
        return script_lines(job) + _key_lines(job, "after_script", job.after_script)
    return _key_lines(job, "before_script", job.before_script) + _key_lines(job, "script", job.script)


_CONTINUATION = re.compile(r"\\\r?\n")


def _key_lines(job: Job, key: str, entries: tuple[str, ...]) -> tuple[Line, ...]:
    loc = job.key_locs.get(key, job.loc)
    out = []
    for entry in entries:
        # a backslash-newline continues the command, as in the shell: `docker build \` + `-t x .`
        # is one docker command
        joined = _CONTINUATION.sub(" ", entry) if "\\" in entry else entry
        for text in joined.splitlines() or [joined]:
            if text.strip() and not text.lstrip().startswith("#"):
                out.append(Line(key, text, loc))
    return tuple(out)


_DOCKER_CMD = re.compile(r"(?:^|[\s;&|(`$]|\$\()(?:sudo\s+)?(docker|docker-compose)(?=\s|$)")
_BUILDAH_CMD = re.compile(r"(?:^|[\s;&|(])(buildah|podman)\s")
_BUILDCTL_CMD = re.compile(r"(?:^|[\s;&|(/])(buildctl|buildctl-daemonless\.sh)(?=\s|$)")
_KANIKO_CMD = re.compile(r"/kaniko/executor|(?:^|\s)executor\s+--(context|dockerfile|destination)")


def uses_docker_cli(lines: Iterable[Line]) -> bool:
    return any(_DOCKER_CMD.search(line.text) for line in lines)


def docker_lines(lines: Iterable[Line]) -> tuple[Line, ...]:
    return tuple(line for line in lines if _DOCKER_CMD.search(line.text))


def uses_buildah(lines: Iterable[Line]) -> bool:
    return any(_BUILDAH_CMD.search(line.text) for line in lines)


def uses_buildctl(lines: Iterable[Line]) -> bool:
    return any(_BUILDCTL_CMD.search(line.text) for line in lines)


def uses_kaniko(lines: Iterable[Line]) -> bool:
    return any(_KANIKO_CMD.search(line.text) for line in lines)


_WAIT_LOOP = re.compile(
    r"(until|while)[^;]*docker\s+(info|version|ps)|for\s+\w+\s+in[^;]*;\s*do[^;]*docker\s+(info|version)"
    r"|docker\s+(info|version)[^;]*\|\|\s*sleep|wait-for|timeout\s+\d+\s+sh\s+-c"
)


def waits_for_daemon(lines: Iterable[Line]) -> bool:
    return any(_WAIT_LOOP.search(line.text) for line in lines)


# --- runners ------------------------------------------------------------------------------------


def is_docker_executor(r: Runner) -> bool:
    return r.executor in DOCKER_EXECUTORS


def is_kubernetes(r: Runner) -> bool:
    return r.executor == "kubernetes"


#: Executors that run the script straight on a machine (the runner host, an SSH host, a VM) with
#: no job container: image, services and ENTRYPOINT do not apply there.
CONTAINERLESS_EXECUTORS = frozenset({"shell", "ssh", "parallels", "virtualbox", "custom", "instance"})


def is_shell(r: Runner) -> bool:
    """The job gets no container (see CONTAINERLESS_EXECUTORS), whatever machine runs it."""
    return r.executor in CONTAINERLESS_EXECUTORS


def is_shell_executor(r: Runner) -> bool:
    """The shell executor proper: jobs run as the runner's user on this runner host."""
    return r.executor == "shell"


def flag_on(r: Runner, flag: str, env: Mapping[str, Variable] | None = None) -> bool:
    """Whether a feature flag is on for a job on ``r`` (gitlab/features.py): ``env`` is the job's
    variables over the runner ``environment`` entries all candidates share, then this runner's
    own ``environment``."""

    def variable(name: str) -> str | None:
        v = (env or {}).get(name)
        if v is None:
            v = next((e for e in r.environment if e.name == name), None)
        return v.value if v is not None else None

    return features.flag_on(flag, r.feature_flags, variable)


def honors_entrypoint(r: Runner, env: Mapping[str, Variable] | None = None) -> bool:
    """Whether the executor starts the job image through its ENTRYPOINT: the Docker executors do;
    Kubernetes replaces it with its own command unless FF_KUBERNETES_HONOR_ENTRYPOINT is on."""
    if is_docker_executor(r):
        return True
    return is_kubernetes(r) and flag_on(r, HONOR_ENTRYPOINT_FF, env)


def container_paths(r: Runner) -> tuple[str, ...]:
    """Container paths the runner mounts into the job and its services (volumes, k8s volumes);
    asked per job for each runner, so worked out once per run."""
    return remembered("container_paths", r, _container_paths, r)


def _container_paths(r: Runner) -> tuple[str, ...]:
    out = [m.destination for m in docker_mounts(r)]
    if r.kubernetes is not None:
        out.extend(v.mount_path for v in r.kubernetes.volumes)
    return tuple(p.rstrip("/") or "/" for p in out)


def docker_mounts(r: Runner) -> tuple[mounts.Mount, ...]:
    """``[runners.docker] volumes`` as the runner reads them (gitlab/mounts.py); entries the
    runner refuses are left out (remembered per runner, like container_paths)."""
    if r.docker is None or not r.docker.volumes:
        return ()
    return remembered("docker_mounts", r, _docker_mounts, r)


def _docker_mounts(r: Runner) -> tuple[mounts.Mount, ...]:
    assert r.docker is not None
    return mounts.parse_volumes(r.docker.volumes, windows=r.executor == "docker-windows")


def shares_path(r: Runner, path: str) -> bool:
    """True when ``path`` (in the container) sits on a volume every container of the job shares."""
    path = path.rstrip("/")
    return any(path == p or path.startswith(p + "/") for p in container_paths(r))


def privileged_for_service(r: Runner, svc: ServiceSpec) -> bool | None:
    """Whether the runner starts ``svc`` privileged; None for executors without services."""
    if r.docker is not None and is_docker_executor(r):
        return privileged.service_privileged(r.docker, svc.name)
    if is_kubernetes(r):
        k = r.kubernetes
        if k is None:
            return False
        ctx = k.raw.get("service_container_security_context")
        if isinstance(ctx, Mapping) and isinstance(ctx.get("privileged"), bool):
            return bool(ctx["privileged"])  # the per-container setting overrides the global one
        return k.privileged
    if is_docker_executor(r):
        return False
    return None


def runner_env(r: Runner) -> dict[str, Variable]:
    return {v.name: v for v in r.environment}


def runner_dns(r: Runner) -> tuple[str, ...]:
    return r.docker.dns if r.docker is not None else ()


def describe_runner(r: Runner) -> str:
    return f"runner '{r.name}' ({r.loc})"


def command_flags(svc: ServiceSpec) -> tuple[str, ...]:
    return svc.command or ()


def command_has(svc: ServiceSpec, *flags: str) -> bool:
    for word in command_flags(svc):
        for part in word.split():
            if any(part == f or part.startswith(f + "=") for f in flags):
                return True
    return False


def passes_default_args(svc: ServiceSpec) -> bool:
    """dockerd-entrypoint adds its TLS/host arguments only when it runs with no arguments or
    only flags (``command: ["--mtu=1360"]``, or an entrypoint wrapper such as
    ``["env", "-u", "DOCKER_HOST"]`` followed by ``command: ["dockerd-entrypoint.sh"]``)."""
    argv = [w for part in (*(svc.entrypoint or ()), *command_flags(svc)) for w in part.split() if w]
    for i, word in enumerate(argv):
        if word.endswith("dockerd-entrypoint.sh"):
            return all(a.startswith("-") for a in argv[i + 1 :])
    if svc.entrypoint and svc.entrypoint != ("",):
        return False
    cmd = [w for w in command_flags(svc) if w]
    return not cmd or cmd[0].startswith("-")
