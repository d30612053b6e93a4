"""BR208 — docker_sock: fixed container or network names on a shared daemon.

What it checks: a job that uses the host daemon through the bound socket (or the shell
executor's host daemon) and creates containers/networks with a fixed name (``docker run --name
db``, ``docker network create ci``, ``docker compose -p app``) that contains no per-job variable
(``$CI_JOB_ID``, ``$CI_PIPELINE_ID``, ``$CI_CONCURRENT_ID``...).

Why it fails: every job on that host shares one daemon, so two concurrent jobs (or a job after one
that failed before its cleanup) collide::

    docker: Error response from daemon: Conflict. The container name "/db" is already in use by
    container "3f2c...". You have to remove (or rename) that container to be able to reuse that name.

GitLab's socket-binding caveats list this ("concurrent jobs can clash on container names").

Fix: put the job in the name (``--name "db-$CI_JOB_ID"``, ``docker compose -p "$CI_PROJECT_PATH_SLUG-
$CI_JOB_ID"``) and remove it in ``after_script``; or give each job its own daemon (dind).

Docs: https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR208"
TITLE = "docker_sock: fixed container/network names collide on the shared daemon"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding"

_NAMED = re.compile(
    r"(?<![\w./$-])docker\s+(?:container\s+)?(?:run|create)\b.*?\s--name(?:\s+|=)[\"']?(?P<a>[^\s\"']+)"
    r"|(?<![\w./$-])docker\s+network\s+create\b(?:\s+-\S+(?:\s+\S+)?)*\s+[\"']?(?P<b>[A-Za-z0-9_.$-]+)"
    r"|(?<![\w./$-])docker[\s-]compose\b.*?\s(?:-p|--project-name)(?:\s+|=)[\"']?(?P<c>[^\s\"']+)"
)
_PER_JOB = re.compile(r"\$\{?(CI_JOB_ID|CI_PIPELINE_ID|CI_CONCURRENT_ID|CI_CONCURRENT_PROJECT_ID|"
                      r"CI_JOB_NAME_SLUG|CI_BUILD_ID|CI_COMMIT_SHA|CI_COMMIT_SHORT_SHA|RANDOM)\b|\$\$|\$\(")


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        if u.dind_services(jv.job):
            continue
        shared = [r for r in jv.runners if u.is_shell_executor(r) or u.mounts_socket(r)]
        if not shared:
            continue
        for sl in u.docker_command_lines(jv.job):
            m = _NAMED.search(sl.text)
            if m is None:
                continue
            name = m.group("a") or m.group("b") or m.group("c") or ""
            if not name or _PER_JOB.search(name) or name.startswith("-"):
                continue
            if name.startswith("$") and not _PER_JOB.search(name):
                var = u.env_value(jv, name.strip("${}"))
                if var is None or _PER_JOB.search(var):
                    continue
            yield finding(
                f"{u.jname(jv.job)} names a container/network/project '{name}' ({sl.loc}) on the "
                f"daemon it shares with every job of {u.rname(shared[0])}: concurrent or leftover "
                "jobs collide with \"Conflict. The container name ... is already in use\".",
                f"Make the name per job (e.g. \"{name.strip(chr(34))}-$CI_JOB_ID\") and remove it in "
                "after_script, or give each job its own daemon (dind).",
                loc=sl.loc,
                job=jv.job.name,
            )
            break
