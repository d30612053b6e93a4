"""Derived facts per job: its way, the runners that can take it, its effective environment.

Effective environment, lowest precedence first: the image's own ``ENV`` defaults, the runner's
``environment``, the global and the job's ``variables`` (GitLab Runner passes these to services
too), then for services their own ``variables``. Last, the docker image's entrypoint fills
``DOCKER_HOST`` (and the TLS pair when client certificates exist) where nothing set them, as
docker-library's ``docker-entrypoint.sh`` does; executors that skip the entrypoint (Kubernetes
unless ``FF_KUBERNETES_HONOR_ENTRYPOINT``, or ``entrypoint: [""]``) get nothing from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from buildrig.doctor import facts as F
from buildrig.doctor.analysis import remembered

# the image every rule means by "the job's image" (re-exported for the engine and the rules)
from buildrig.doctor.facts import image_name as image_name
from buildrig.gitlab.ci import job_variables
from buildrig.gitlab.expand import expand_with
from buildrig.gitlab.model import Job, Pipeline, Runner, RunnerConfig, ServiceSpec, Variable
from buildrig.gitlab.mounts import covers
from buildrig.gitlab.services import split_aliases

Env = dict[str, Variable]


def _var(name: str, value: str) -> Variable:
    return Variable(name=name, value=value, loc=None)


def expand(value: str, env: Mapping[str, Variable]) -> str:
    """``$VAR``/``${VAR}`` replaced from ``env`` as GitLab expands variables (gitlab/expand.py);
    unknown ones stay: they may be set in the project's settings, which doctor cannot see."""
    return expand_with(value, env, keep_unknown=True)


def service_key(svc: ServiceSpec) -> str:
    """The key of a service's environment in :func:`effective_env`: its first alias, else its
    first derived name (a key only: the names it answers to are ``F.service_aliases``)."""
    return next(iter(split_aliases(svc.alias) or F.derived_aliases(svc)), svc.name)


def expand_names(pipeline: Pipeline | None, job: Job) -> Job:
    """The job with its image and service names and aliases expanded by its variables, as GitLab
    Runner expands them before it uses them (common/build.go:1366-1373 at v17.9.3); what the files
    do not define stays as written. The same object when nothing refers to a variable."""
    image = job.image
    refers = (image is not None and "$" in image.name) or any(
        "$" in s.name or "$" in (s.alias or "") for s in job.services
    )
    if not refers:
        return job
    env = job_variables(pipeline, job) if pipeline is not None else {v.name: v for v in job.variables}

    def exp(text: str) -> str:
        return expand_with(text, env, keep_unknown=True)

    return replace(
        job,
        image=replace(image, name=exp(image.name)) if image is not None else None,
        services=tuple(
            replace(s, name=exp(s.name), alias=exp(s.alias) if s.alias else s.alias) for s in job.services
        ),
    )


def _defaults(env: Mapping[str, str]) -> Env:
    return {k: _var(k, v) for k, v in env.items()}


# Variables are frozen values: one set per image family serves every job (callers get a copy).
_DOCKER_DEFAULTS = _defaults(F.DOCKER_IMAGE_ENV)
_KANIKO_DEFAULTS = _defaults(F.KANIKO_IMAGE_ENV)
_BUILDAH_DEFAULTS = _defaults(F.BUILDAH_IMAGE_ENV)


def image_defaults(name: str | None) -> Env:
    if name is None:
        return {}
    ref = F.parse_image(name)
    if ref.last == "docker":
        return dict(_DOCKER_DEFAULTS)
    if "kaniko" in ref.path:
        return dict(_KANIKO_DEFAULTS)
    if "buildah" in ref.path:
        return dict(_BUILDAH_DEFAULTS)
    return {}


def _as_tuple(runners: Sequence[Runner]) -> tuple[Runner, ...]:
    return runners if type(runners) is tuple else tuple(runners)


def agreed_runner_env(runners: Sequence[Runner]) -> Env:
    """Runner ``environment`` entries every candidate runner sets to the same value (asked per job
    and rule: worked out once per runner set in a run)."""
    if not runners:
        return {}
    agreed: Env = remembered("agreed_runner_env", _as_tuple(runners), _agreed_runner_env, runners)
    return dict(agreed)  # callers own their copy


def _agreed_runner_env(runners: Sequence[Runner]) -> Env:
    first = F.runner_env(runners[0])
    out: Env = {}
    for name, var in first.items():
        if all((o := F.runner_env(r).get(name)) is not None and o.value == var.value for r in runners[1:]):
            out[name] = var
    return out


def runners_for(job: Job, config: RunnerConfig | None, *, tags_known: bool) -> tuple[Runner, ...]:
    """Runners that can pick the job up: its tags a subset of theirs; untagged jobs go to runners
    that run untagged jobs (explicitly, or by having no tags). Unknown runner tags match all."""
    if config is None:
        return ()
    if not tags_known:
        return config.runners
    return _runners_for_tags(config, job.tags)


def _runners_for_tags(config: RunnerConfig, tags: tuple[str, ...]) -> tuple[Runner, ...]:
    # one answer per tag set in a run (the tag tuple is kept with it, so its identity is stable)
    return remembered(f"runners_for_tags {tags!r}", config, _match_tags, config, tags)


def _match_tags(config: RunnerConfig, tags: tuple[str, ...]) -> tuple[Runner, ...]:
    want = set(tags)
    out = []
    for r in config.runners:
        if want:
            if want <= set(r.tags):
                out.append(r)
        elif r.run_untagged is True or (r.run_untagged is None and not r.tags):
            out.append(r)
    return tuple(out)


def tags_known(config: RunnerConfig | None) -> bool:
    return config is not None and any("tags" in r.raw for r in config.runners)


def base_env(pipeline: Pipeline | None, job: Job, runners: Sequence[Runner], image: str | None) -> Env:
    env = image_defaults(image)
    env.update(agreed_runner_env(runners))
    if pipeline is not None:
        env.update(job_variables(pipeline, job))
    else:
        env.update({v.name: v for v in job.variables})
    return env


def service_env(base: Env, svc: ServiceSpec, runners: Sequence[Runner], pipeline_env: Env) -> Env:
    env: Env = {}
    if F.is_docker_image(svc.name):
        env.update(_DOCKER_DEFAULTS)
    env.update(agreed_runner_env(runners))
    env.update(pipeline_env)
    env.update({v.name: v for v in svc.variables})
    return env


@dataclass(frozen=True)
class DindMode:
    """How a dind service's daemon listens, per dockerd-entrypoint.sh."""

    tls: bool
    port: int | None  # None: only a Unix socket, or the command replaced the defaults
    socket: str | None
    certdir: str
    default_args: bool


def dind_mode(svc: ServiceSpec, env: Mapping[str, Variable]) -> DindMode:
    certdir_var = env.get("DOCKER_TLS_CERTDIR")
    certdir = certdir_var.value if certdir_var is not None else ""
    host = env.get("DOCKER_HOST")
    socket = host.value[len("unix://") :] if host is not None and host.value.startswith("unix://") else None
    default = F.passes_default_args(svc)
    if not default:
        # the command replaced dockerd's arguments: look for explicit --host/--tlsverify in it
        words = [p for w in (svc.command or ()) for p in w.split()]
        tls = any(w.startswith("--tlsverify") or w.startswith("--tls") for w in words)
        ports = [w for w in words if "tcp://" in w]
        port = F.parse_endpoint(ports[0].split("=", 1)[-1]) if ports else None
        return DindMode(tls, port.port if port else None, socket, certdir, False)
    if F.command_has(svc, "--tls=false"):
        return DindMode(False, 2375, socket, certdir, True)
    if certdir:
        return DindMode(True, 2376, socket, certdir, True)
    return DindMode(False, 2375, socket, certdir, True)


def runner_services(runners: Sequence[Runner]) -> tuple[ServiceSpec, ...]:
    """``[[runners.docker.services]]``/``[[runners.kubernetes.services]]`` every runner adds to
    every job (only those all candidate runners define, by image name)."""
    if not runners:
        return ()
    return remembered("runner_services", _as_tuple(runners), _runner_services, runners)


def _runner_services(runners: Sequence[Runner]) -> tuple[ServiceSpec, ...]:
    def of(r: Runner) -> tuple[ServiceSpec, ...]:
        if r.docker is not None and F.is_docker_executor(r):
            return r.docker.services
        if r.kubernetes is not None and F.is_kubernetes(r):
            return r.kubernetes.services
        return ()

    first = of(runners[0])
    return tuple(s for s in first if all(any(o.name == s.name for o in of(r)) for r in runners[1:]))


def job_services(job: Job, runners: Sequence[Runner] = ()) -> tuple[ServiceSpec, ...]:
    """The job's services plus those its runners add."""
    extra = runner_services(runners)
    return job.services + extra if extra else job.services


def dind_services(job: Job, runners: Sequence[Runner] = ()) -> tuple[ServiceSpec, ...]:
    # a tuple (a JobView's runners) is named by itself, kept with the answer; other sequences
    # by their runners
    if type(runners) is tuple:
        return remembered("dind_services", (job, runners), _dind_services, job, runners)
    return remembered("dind_services of each", (job, *runners), _dind_services, job, runners)


def _dind_services(job: Job, runners: Sequence[Runner]) -> tuple[ServiceSpec, ...]:
    return tuple(s for s in job_services(job, runners) if F.is_dind_service(s))


def certs_available(env: Env, job: Job, runners: Sequence[Runner], pipeline_env: Env) -> bool:
    """Whether ``$DOCKER_TLS_CERTDIR/client`` holds client certs when the job container starts."""
    certdir = env.get("DOCKER_TLS_CERTDIR")
    if certdir is None or not certdir.value:
        return False
    client_dir = certdir.value.rstrip("/") + "/client"
    if (
        runners
        and any(_bind_mounted(r, client_dir) for r in runners)
        and all(_bind_mounted(r, client_dir) or F.shares_path(r, client_dir) for r in runners)
    ):
        return True
    tls_dind = any(
        dind_mode(s, service_env(env, s, runners, pipeline_env)).tls for s in dind_services(job, runners)
    )
    if not tls_dind:
        return False
    if not runners:
        return True  # no config.toml: give the volume the benefit of the doubt (stated in limits)
    return all(F.shares_path(r, client_dir) for r in runners)


def _bind_mounted(r: Runner, path: str) -> bool:
    """``path`` lies on a host directory the runner binds into the job."""
    return any(m.host_path is not None and covers(m, path) for m in F.docker_mounts(r))


def entrypoint_runs(job: Job, runners: Sequence[Runner], env: Env) -> bool:
    if job.image is not None and job.image.entrypoint is not None:
        return False  # any override replaces docker-entrypoint.sh
    if not runners:
        return True
    return all(F.honors_entrypoint(r, env) for r in runners)


def effective_env(
    pipeline: Pipeline | None, job: Job, runners: Sequence[Runner]
) -> tuple[Env, dict[str, Env]]:
    """The job container's environment and each service's (keyed by its first alias)."""
    image = image_name(job, runners)
    env = base_env(pipeline, job, runners, image)
    pipeline_env = dict(env)
    for k in list(pipeline_env):
        if pipeline_env[k].loc is None:
            del pipeline_env[k]
    services: dict[str, Env] = {}
    for svc in job_services(job, runners):
        services.setdefault(service_key(svc), service_env(env, svc, runners, pipeline_env))
    if F.is_docker_image(image) and entrypoint_runs(job, runners, env):
        _apply_docker_entrypoint(env, job, runners, pipeline_env)
    return env, services


_UNSET = _var("", "")


@lru_cache(maxsize=1024)
def _entrypoint_var(name: str, value: str) -> Variable:
    # what the entrypoint sets has no place in the pipeline: one frozen value serves every job
    return _var(name, value)


def _apply_docker_entrypoint(env: Env, job: Job, runners: Sequence[Runner], pipeline_env: Env) -> None:
    certs = certs_available(env, job, runners, pipeline_env)
    if "DOCKER_HOST" not in env or not env["DOCKER_HOST"].value:
        if runners and all(_socket_mounted(r) for r in runners):
            env["DOCKER_HOST"] = _entrypoint_var("DOCKER_HOST", "unix:///var/run/docker.sock")
        else:
            env["DOCKER_HOST"] = _entrypoint_var("DOCKER_HOST", "tcp://docker:2376" if certs else "tcp://docker:2375")
    host = env["DOCKER_HOST"].value
    if (
        host.startswith("tcp:")
        and not env.get("DOCKER_TLS_VERIFY", _UNSET).value
        and not env.get("DOCKER_CERT_PATH", _UNSET).value
        and certs
    ):
        env["DOCKER_TLS_VERIFY"] = _entrypoint_var("DOCKER_TLS_VERIFY", "1")
        env["DOCKER_CERT_PATH"] = _entrypoint_var(
            "DOCKER_CERT_PATH", env["DOCKER_TLS_CERTDIR"].value.rstrip("/") + "/client"
        )


def _socket_mounted(r: Runner) -> bool:
    socket_paths = ("/var/run/docker.sock", "/var/run", "/run/docker.sock")
    if any(m.source is not None and m.destination.rstrip("/") in socket_paths for m in F.docker_mounts(r)):
        return True
    if r.kubernetes is not None:
        return any(v.mount_path.rstrip("/") == "/var/run/docker.sock" for v in r.kubernetes.volumes)
    return False


def detect_way(job: Job, runners: Sequence[Runner], env: Mapping[str, Variable]) -> str | None:
    image = image_name(job, runners)
    lines = F.script_lines(job)
    ref = F.parse_image(image) if image else None
    if (ref and "kaniko" in ref.path) or F.uses_kaniko(lines):
        return "kaniko"
    if (ref and ref.last == "buildkit") or F.uses_buildctl(lines):
        return "buildkit"
    if (ref and "buildah" in ref.path) or F.uses_buildah(lines):
        return "buildah"
    if not (F.uses_docker_cli(lines) or F.is_docker_image(image)):
        return None
    host_var = env.get("DOCKER_HOST")
    endpoint = (
        F.parse_endpoint(expand(host_var.value, env)) if host_var is not None and host_var.value else None
    )
    aliases = {a for s in job_services(job, runners) for a in F.service_aliases(s)}
    if runners and all(F.is_shell(r) for r in runners):
        if endpoint is not None and endpoint.scheme == "tcp" and not endpoint.is_loopback:
            return "docker_host"
        return "shell"
    if dind_services(job, runners):
        return "dind"
    if endpoint is not None:
        if endpoint.scheme == "tcp":
            if endpoint.host == "docker" or endpoint.host in aliases:
                return "dind"
            return "docker_host"
        if endpoint.scheme == "unix" and endpoint.raw.startswith("unix:///runner/services/"):
            return "dind"
        return "docker_sock"
    if image is None and not runners:
        return "shell"
    return "docker_sock"
