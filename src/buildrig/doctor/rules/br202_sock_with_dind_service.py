"""BR202 — docker_sock: the runner binds the host socket and the job also starts a dind service.

What it checks: a job with a ``docker:dind`` service runs on a Docker-executor runner whose
``[runners.docker] volumes`` bind ``/var/run/docker.sock``. Runner volumes are applied to service
containers too, so the dind service starts with the host's socket mounted over the path its own
daemon wants to listen on.

Why it fails: GitLab's docs call the two "incompatible". Depending on the set-up the inner daemon
cannot create its socket and the service never becomes healthy (``*** WARNING: Service
runner-...-docker-0 probably didn't start properly``, then ``Cannot connect to the Docker daemon
at tcp://docker:2375``), or the job silently talks to the host daemon through the socket and
not to the privileged dind container it paid for: bind mounts such as ``docker run -v
$CI_PROJECT_DIR:/src`` then come up empty and containers leak onto the host.

Fix: pick one. For dind, use a runner without the socket volume (``volumes = ["/certs/client",
"/cache"]``, ``privileged = true``). For socket binding, drop the ``docker:dind`` service and the
``DOCKER_HOST``/``DOCKER_TLS_CERTDIR`` variables that point at it.

Docs: https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Finding, Severity, finding
from buildrig.doctor.rules import _b_util as u

ID = "BR202"
TITLE = "docker_sock: host socket bound on a runner whose job also starts a dind service"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding"

_SELF = sys.modules[__name__]


def check(ctx: Context) -> Iterator[Finding]:
    for jv in ctx.jobs:
        svcs = u.dind_services(jv.job)
        if not svcs:
            continue
        bad = [r for r in jv.runners if u.is_docker_executor(r) and u.socket_mount(r) is not None]
        if not bad:
            continue
        svc = svcs[0]
        sloc = svc.loc or u.job_loc(jv.job, "services")
        runners = ", ".join(
            f"{u.rname(r)} (volume \"{m.raw}\" at {u.docker_loc(r, 'volumes')})"
            for r in bad
            if (m := u.socket_mount(r)) is not None
        )
        yield finding(
            _SELF,
            f"{u.jname(jv.job)} starts the dind service '{svc.name}' ({sloc}) but {runners} binds "
            "the host's Docker socket, and runner volumes are mounted into services too: GitLab "
            "documents the two as incompatible. The dind service may never become healthy "
            "(\"Service ... probably didn't start properly\", then \"Cannot connect to the Docker "
            "daemon at tcp://docker:2375\") or the job silently builds on the host daemon.",
            "Use one approach: remove \"/var/run/docker.sock:/var/run/docker.sock\" from that "
            "runner's volumes (dind), or remove the docker:dind service and its DOCKER_HOST/"
            "DOCKER_TLS_CERTDIR variables from the job (socket binding).",
            loc=sloc,
            job=jv.job.name,
        )
