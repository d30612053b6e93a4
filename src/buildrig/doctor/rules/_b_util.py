"""Shared helpers for the docker_sock, kaniko, buildah/buildkit, shell/runner and security rules.

Not a rule (leading underscore). Everything here is pure: it reads the models it is given.
"""

from __future__ import annotations

import re
import shlex

from buildrig import engine_versions as EV
from buildrig.doctor.base import JobView, Severity

# What GitLab Runner and the well-known images do is decided once, in facts.py, for the engine and
# every rule; these names are re-exported for the B rules.
from buildrig.doctor.facts import DOCKER_EXECUTORS as DOCKER_EXECUTORS
from buildrig.doctor.facts import Line as Line
from buildrig.doctor.facts import docker_mounts as docker_mounts
from buildrig.doctor.facts import honors_entrypoint as honors_entrypoint
from buildrig.doctor.facts import image_name as image_name
from buildrig.doctor.facts import is_dind_service as is_dind_service
from buildrig.doctor.facts import is_docker_executor as is_docker_executor
from buildrig.doctor.facts import is_docker_image as is_docker_image
from buildrig.doctor.facts import is_kubernetes as is_kubernetes
from buildrig.doctor.facts import is_shell as is_shell
from buildrig.doctor.facts import is_shell_executor as is_shell_executor
from buildrig.doctor.facts import parse_image as parse_image
from buildrig.doctor.facts import script_lines as script_lines
from buildrig.errors import Loc
from buildrig.gitlab.expand import expand_with
from buildrig.gitlab.model import Job, Runner, RunnerConfig, ServiceSpec, Variable
from buildrig.gitlab.mounts import Mount as Mount

SOCKET_PATHS = ("/var/run/docker.sock", "/run/docker.sock")
SOCKET_DIRS = ("/var/run", "/run")


# --- images -------------------------------------------------------------------------------------


def dind_services(job: Job) -> tuple[ServiceSpec, ...]:
    return tuple(s for s in job.services if is_dind_service(s))


_KANIKO_REPOS = (
    "kaniko-project/executor",
    "osscontainertools/kaniko",
    "martizih/kaniko",
    "chainguard/kaniko",
    "chainguard-dev-kaniko/executor",
)


def is_kaniko_image(name: str) -> bool:
    return "kaniko" in parse_image(name).path


def known_kaniko_repo(name: str) -> str | None:
    path = parse_image(name).path
    return next((r for r in _KANIKO_REPOS if path.endswith(r)), None)


def is_buildah_image(name: str) -> bool:
    ref = parse_image(name)
    return ref.last in ("buildah", "stable", "upstream", "testing") and "buildah" in ref.path


def is_buildkit_image(name: str) -> bool:
    return parse_image(name).last == "buildkit"


def is_rootless_buildkit_image(name: str) -> bool:
    ref = parse_image(name)
    return ref.last == "buildkit" and "rootless" in (ref.tag or "")


# --- scripts ------------------------------------------------------------------------------------


# Rules ask for the same job's lines many times; jobs and runners are frozen, so the memos below
# key them by identity (each entry keeps its object alive, so the id is not reused while cached).
_CACHE_MAX = 8192


# docker in command position: line start, after ; && || | ( $( ` or a shell keyword / wrapper, with
# optional VAR=value prefixes and a /usr/bin path; not "docker" inside an echo'd sentence.
_DOCKER_CMD = re.compile(
    r"(?:^|[;&|(`]|\$\(|\b(?:then|do|else|sudo|exec|time|xargs|if|while|until|timeout\s+\S+|retry)\s|!\s)"
    r"\s*(?:\w+=\S*\s+)*(?:/usr(?:/local)?/bin/)?docker(?:-compose)?(?=\s|$)"
)
_INSTALLS_DOCKER = re.compile(
    r"(apk\s+add[^;&|]*\bdocker)|(apt(-get)?\s+install[^;&|]*\bdocker)|(yum\s+install[^;&|]*\bdocker)"
    r"|(dnf\s+install[^;&|]*\bdocker)|get\.docker\.com|download\.docker\.com"
)


_DOCKER_LINES_CACHE: dict[int, tuple[Job, tuple[Line, ...]]] = {}


def docker_command_lines(job: Job) -> tuple[Line, ...]:
    hit = _DOCKER_LINES_CACHE.get(id(job))
    if hit is not None and hit[0] is job:
        return hit[1]
    found = tuple(sl for sl in script_lines(job) if "docker" in sl.text and _DOCKER_CMD.search(sl.text))
    if len(_DOCKER_LINES_CACHE) >= _CACHE_MAX:
        _DOCKER_LINES_CACHE.clear()
    _DOCKER_LINES_CACHE[id(job)] = (job, found)
    return found


# Subcommands that never talk to a daemon: a job using only these needs no socket.
_DAEMONLESS_DOCKER = re.compile(
    r"(?<![\w./$-])docker\s+(?:--version|-v\b|version\s+--format\s+\S*Client|manifest\b|help\b"
    r"|buildx\s+(?:imagetools|version)\b|context\s+(?:ls|inspect)\b)"
)
_SETS_DOCKER_HOST = re.compile(
    r"(?:^|[\s;&|])(?:export\s+)?DOCKER_HOST=|(?<![\w./$-])docker\s+(?:-H|--host|--context|-c)[\s=]"
    r"|docker\s+context\s+use\b|DOCKER_CONTEXT="
)


def daemon_docker_lines(job: Job) -> tuple[Line, ...]:
    """Lines whose docker command needs a daemon."""
    return tuple(sl for sl in docker_command_lines(job) if not _DAEMONLESS_DOCKER.search(sl.text))


def script_sets_docker_host(job: Job) -> bool:
    """The script chooses its daemon itself (``export DOCKER_HOST=``, ``docker -H``, contexts)."""
    return any(_SETS_DOCKER_HOST.search(sl.text) for sl in script_lines(job))


def installs_docker(job: Job) -> bool:
    return any(_INSTALLS_DOCKER.search(sl.text) for sl in script_lines(job))


def split_words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=False, posix=True)
    except ValueError:
        return line.split()


def option_values(words: list[str], *names: str) -> list[str]:
    """Values of ``--name value``, ``--name=value`` and short ``-n value`` options."""
    out: list[str] = []
    for i, w in enumerate(words):
        for n in names:
            if w == n and i + 1 < len(words):
                out.append(words[i + 1])
            elif n.startswith("--") and w.startswith(n + "="):
                out.append(w[len(n) + 1 :])
    return out


# --- runners ------------------------------------------------------------------------------------


def socket_mount(r: Runner) -> Mount | None:
    """The bind mount that puts the host's Docker socket into job containers, if any."""
    for m in docker_mounts(r):
        host = m.host_path
        if host is None:
            continue
        target = m.destination.rstrip("/")
        if target in SOCKET_PATHS or (target in SOCKET_DIRS and host.rstrip("/") in SOCKET_DIRS):
            return m
        if host.endswith("docker.sock") and target.endswith("docker.sock"):
            return m
    return None


def kube_socket_volume(r: Runner) -> str | None:
    if r.kubernetes is None:
        return None
    for v in r.kubernetes.volumes:
        if v.kind == "host_path" and (
            (v.host_path or "").endswith("docker.sock") or v.mount_path.endswith("docker.sock")
        ):
            return v.host_path or v.mount_path
    return None


def mounts_socket(r: Runner) -> bool:
    return socket_mount(r) is not None or kube_socket_volume(r) is not None


def runner_privileged(r: Runner) -> bool:
    if r.docker is not None and r.docker.privileged:
        return True
    return r.kubernetes is not None and r.kubernetes.privileged


def security_opts(r: Runner) -> tuple[str, ...]:
    if r.docker is None:
        return ()
    return tuple(o.replace("=", ":", 1).replace(" ", "").lower() for o in r.docker.security_opt)


def is_shared(r: Runner, config: RunnerConfig | None = None) -> bool:
    """A runner that takes jobs without tags: any project's job can land on it.

    Registration keeps tags server-side, so a runner without ``tags`` in config.toml only counts
    as untagged when the file states tags at all (on some runner) or says ``run_untagged``.
    """
    if r.run_untagged is True:
        return True
    if r.run_untagged is False or r.tags:
        return False
    if re.search(r"(^|[^a-z])(shared|instance|public)([^a-z]|$)", r.name.lower()):
        return True  # named as an instance/shared runner
    return config is not None and any("tags" in o.raw for o in config.runners)


def docker_loc(r: Runner, *keys: str) -> Loc:
    if r.docker is not None:
        for k in keys:
            if k in r.docker.key_locs:
                return r.docker.key_locs[k]
        if r.docker.loc is not None:
            return r.docker.loc
    return r.loc


def kube_loc(r: Runner, *keys: str) -> Loc:
    if r.kubernetes is not None:
        for k in keys:
            if k in r.kubernetes.key_locs:
                return r.kubernetes.key_locs[k]
        if r.kubernetes.loc is not None:
            return r.kubernetes.loc
    return r.loc


def runner_loc(r: Runner, *keys: str) -> Loc:
    for k in keys:
        if k in r.key_locs:
            return r.key_locs[k]
    return r.loc


def rname(r: Runner) -> str:
    return f"runner '{r.name}' ({r.loc})"


def jname(job: Job, loc: Loc | None = None) -> str:
    return f"job '{job.name}' ({loc or job.loc})"


def job_loc(job: Job, *keys: str) -> Loc:
    for k in keys:
        if k in job.key_locs:
            return job.key_locs[k]
    return job.loc


def image_loc(job: Job) -> Loc:
    if job.image is not None and job.image.loc is not None:
        return job.image.loc
    return job_loc(job, "image")


# --- environment --------------------------------------------------------------------------------


def env_value(jv: JobView, name: str) -> str | None:
    v = jv.env.get(name)
    if v is not None:
        return v.value
    for var in jv.job.variables:
        if var.name == name:
            return var.value
    return None


def explicit_env(jv: JobView, name: str) -> Variable | None:
    """The variable when the user set it (a file:line), not when an image default filled it."""
    v = jv.env.get(name)
    if v is not None and v.loc is not None:
        return v
    for var in jv.job.variables:
        if var.name == name:
            return var
    return None


def runner_env(r: Runner, name: str) -> Variable | None:
    return next((v for v in r.environment if v.name == name), None)


def severity_for(bad: int, total: int) -> Severity:
    """ERROR when every runner that can take the job is affected, WARNING when only some are."""
    return Severity.ERROR if bad and bad == total else Severity.WARNING



# --- Docker API versions (the table lives in engine_versions.py) ------------------------------


def docker_release_of_tag(tag: str | None) -> tuple[int, int] | None:
    """``24.0.5-cli`` -> (24, 0); floating tags -> what they pull today (``stable`` -> 19.03)."""
    found = EV.release_of_tag(tag)
    return found.release if found is not None else None


api_of_release = EV.api_of_release
api_tuple = EV.api_tuple


# --- kaniko ---------------------------------------------------------------------------------------


_KANIKO_CACHE: dict[int, tuple[Job, tuple[tuple[Line, list[str]], ...]]] = {}


def kaniko_commands(job: Job) -> tuple[tuple[Line, list[str]], ...]:
    """Lines that run the kaniko executor, with their words from the executor on."""
    hit = _KANIKO_CACHE.get(id(job))
    if hit is not None and hit[0] is job:
        return tuple((sl, list(words)) for sl, words in hit[1])
    found = _kaniko_commands(job)
    if len(_KANIKO_CACHE) >= _CACHE_MAX:
        _KANIKO_CACHE.clear()
    _KANIKO_CACHE[id(job)] = (job, found)
    return tuple((sl, list(words)) for sl, words in found)


def _kaniko_commands(job: Job) -> tuple[tuple[Line, list[str]], ...]:
    out: list[tuple[Line, list[str]]] = []
    for sl in script_lines(job):
        if "executor" not in sl.text:
            continue  # cheap filter before the shell-word split
        words = split_words(sl.text)
        for i, w in enumerate(words):
            if w == "/kaniko/executor" or (w.endswith("/executor") and "kaniko" in w) or (
                w == "executor" and (i == 0 or words[i - 1] in ("&&", ";", "||", "exec"))
            ):
                out.append((sl, words[i:]))
                break
    return tuple(out)


def is_kaniko_job(jv: JobView) -> bool:
    name = image_name(jv.job, jv.runners)
    if name is not None and is_kaniko_image(name):
        return True
    return jv.way == "kaniko" or bool(kaniko_commands(jv.job))


# --- buildah / BuildKit -------------------------------------------------------------------------

_BUILDAH_CMD = re.compile(r"(?<![\w./$-])buildah\s+(?:bud|build|from|run|commit|push|login|images|info)\b")
_DAEMONLESS = re.compile(r"buildctl-daemonless\.sh|(?<![\w./$-])buildkitd(?=\s|$)|rootlesskit")


def buildah_lines(job: Job) -> tuple[Line, ...]:
    return tuple(sl for sl in script_lines(job) if _BUILDAH_CMD.search(sl.text))


def is_buildah_job(jv: JobView) -> bool:
    name = image_name(jv.job, jv.runners)
    if jv.way == "buildah" or (name is not None and is_buildah_image(name)):
        return True
    return bool(buildah_lines(jv.job)) and jv.way not in ("shell",)


def daemonless_buildkit_lines(job: Job) -> tuple[Line, ...]:
    return tuple(sl for sl in script_lines(job) if _DAEMONLESS.search(sl.text))


def is_rootless_buildkit_job(jv: JobView) -> bool:
    """A job that starts its own rootless buildkitd (the GitLab "BuildKit rootless" recipe)."""
    name = image_name(jv.job, jv.runners)
    if name is not None and is_rootless_buildkit_image(name):
        return True
    if jv.way == "buildkit" and daemonless_buildkit_lines(jv.job):
        return name is None or "rootless" in name or not is_buildkit_image(name)
    return False


def kaniko_version(name: str | None) -> tuple[int, int] | None:
    """(major, minor) from a kaniko tag such as ``v1.23.2-debug`` or ``debug-v1.3.0``; None: unknown."""
    if name is None:
        return None
    m = re.search(r"v?(\d+)\.(\d+)", parse_image(name).tag or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def kaniko_infers_gitlab_registry(name: str | None) -> bool:
    """kaniko >= 1.9 reads CI_REGISTRY/CI_REGISTRY_USER/CI_REGISTRY_PASSWORD by itself, so pushes to
    the project's GitLab registry work without a config.json; unpinned tags are recent releases."""
    ver = kaniko_version(name)
    return ver is None or ver >= (1, 9)


def expand(jv: JobView, text: str) -> str:
    """``text`` with the job's variables expanded as GitLab expands ``image:`` names; unknown
    ones stay (they may live in the project's settings)."""
    return expand_with(text, jv.env, keep_unknown=True)


def job_image(jv: JobView) -> str | None:
    """The job's own ``image:`` name with its variables expanded."""
    img = jv.job.image
    return expand(jv, img.name) if img is not None and img.name else None
