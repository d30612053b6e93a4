"""BR603 — shell/runner: ``services:`` on a job that runs on the shell executor.

What it checks: a job with ``services:`` (e.g. ``docker:dind``) that a shell-executor runner can
pick up.

Why it fails: only the Docker and Kubernetes executors start services; the shell executor ignores
``services:`` without a word, so nothing listens where the job expects it::

    Cannot connect to the Docker daemon at tcp://docker:2375. Is the docker daemon running?
    error during connect: ... dial tcp: lookup docker on 127.0.0.53:53: no such host

Fix: give the job the ``tags`` of a Docker-executor runner, or on the shell executor drop the
service (and ``DOCKER_HOST``) and use the host's Docker Engine directly.

Docs: https://docs.gitlab.com/runner/executors/#compatibility-chart
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR603"
TITLE = "shell/runner: services: are ignored by the shell executor"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/runner/executors/#compatibility-chart"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        if not jv.job.services:
            continue
        shells = [r for r in jv.runners if u.is_shell_executor(r)]
        if not shells:
            continue
        svc = jv.job.services[0]
        loc = svc.loc or u.job_loc(jv.job, "services")
        names = ", ".join(s.name for s in jv.job.services)
        yield finding(
            f"{u.jname(jv.job)} declares services ({names}; {loc}) but {u.rname(shells[0])} uses the "
            "shell executor, which ignores services: nothing is started and the job fails to reach "
            "them (\"Cannot connect to the Docker daemon at tcp://docker:2375\" / \"lookup docker "
            "... no such host\").",
            "Give the job the tags of a Docker-executor runner, or drop the services (and "
            "DOCKER_HOST) and use the host's Docker Engine on the shell runner.",
            loc=loc,
            job=jv.job.name,
            severity=u.severity_for(len(shells), len(jv.runners)),
        )
