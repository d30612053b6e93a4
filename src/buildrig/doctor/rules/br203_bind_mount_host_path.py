"""BR203 — docker_sock: ``docker run -v <job path>`` is resolved on the host, not in the job.

What it checks: a job on a runner that binds the host's Docker socket runs ``docker run``/
``docker create`` with a bind-mount source inside the job's checkout (``$CI_PROJECT_DIR``,
``$PWD``, ``$(pwd)``, ``./``, ``/builds/...``). With socket binding the containers you start are
siblings of the job container, created by the host daemon, so the source path is looked up on the
*host*.

Why it fails: the path does not exist on the host (the checkout lives in a Docker volume), so the
daemon creates an empty directory for ``-v`` and the container sees nothing (``ls: /src: No such
file or directory``, ``can't open 'package.json'``), and ``--mount type=bind`` fails outright:
``invalid mount config for type "bind": bind source path does not exist: /builds/...``. GitLab's docs:
"``-v $(pwd)/src:...`` resolves on the host, not inside the job container".

``docker compose up`` in the same set-up gets an INFO note: relative bind mounts of its compose
file (``./src:/app``) break the same way, but the compose file is not read here.

Fix: share the builds directory at the same path on host and job (``[runners.docker] volumes =
["/builds:/builds"]`` or ``builds_dir``), copy files in with ``docker cp`` / build them into an
image, or use a docker:dind service (its daemon shares the job's ``/builds`` volume).

Docs: https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.gitlab.model import Runner

ID = "BR203"
TITLE = "docker_sock: bind-mount source inside the job is resolved on the host"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding"


_JOB_PATH = (
    r"""["']?(\$\{?CI_PROJECT_DIR\}?|\$\{?CI_BUILDS_DIR\}?|\$\{?PWD\}?|\$\(pwd\)|`pwd`"""
    r"""|\.{1,2}/|\.:|/builds\b)"""
)
_VOLUME = re.compile(r"(?:\s-v|\s--volume)(?:\s+|=)" + _JOB_PATH)
_MOUNT = re.compile(r"\s--mount(?:\s+|=)\S*(?:source|src)=" + _JOB_PATH)
_RUNS = re.compile(r"(?<![\w./$-])docker\s+(?:container\s+)?(?:run|create)\b")
_COMPOSE = re.compile(r"(?<![\w./$-])docker(?:-compose|\s+compose)\b.*\s(?:up|run|create)\b")


def _shares_builds(r: Runner) -> bool:
    builds = (r.builds_dir or "/builds").rstrip("/")
    return any(
        m.host_path is not None
        and m.host_path.rstrip("/") == m.destination.rstrip("/")
        and (builds + "/").startswith(m.destination.rstrip("/") + "/")
        for m in u.docker_mounts(r)
    )


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        if jv.way == "shell" or u.dind_services(jv.job):
            continue
        sock = [r for r in jv.runners if u.mounts_socket(r) and not u.is_shell(r)]
        bad = [r for r in sock if not _shares_builds(r)]
        if not bad:
            continue
        compose_noted = False
        for sl in u.docker_command_lines(jv.job):
            line = " " + sl.text
            if _COMPOSE.search(line) and not compose_noted:
                compose_noted = True
                yield finding(
                    f"{u.jname(jv.job)} runs docker compose ({sl.loc}) while {u.rname(bad[0])} gives "
                    "it the host's Docker socket: if the compose file bind-mounts paths of the "
                    "checkout (./src:/app), the host daemon resolves them on the host and the "
                    "services see empty directories.",
                    "Mount the builds directory at the same path on host and job ([runners.docker] "
                    "volumes = [\"/builds:/builds\"]), or copy files into images instead of "
                    "bind-mounting them.",
                    loc=sl.loc,
                    job=jv.job.name,
                    severity=Severity.INFO,
                )
            if not _RUNS.search(line) or not (_VOLUME.search(line) or _MOUNT.search(line)):
                continue
            symptom = (
                "\"invalid mount config for type \"bind\": bind source path does not exist\""
                if _MOUNT.search(line)
                else "the container sees an empty directory (\"No such file or directory\")"
            )
            yield finding(
                f"{u.jname(jv.job)} bind-mounts a path of its checkout into a container "
                f"({sl.loc}: `{sl.text.strip()[:80]}`) while {u.rname(bad[0])} gives it the host's "
                "Docker socket: the host daemon resolves the source on the host, where it does not "
                f"exist: {symptom}.",
                "Mount the builds directory at the same path on host and job ([runners.docker] "
                "volumes = [\"/builds:/builds\"]), or copy the files in (docker cp, or build them "
                "into an image), or use a docker:dind service.",
                loc=sl.loc,
                job=jv.job.name,
            )
            break
