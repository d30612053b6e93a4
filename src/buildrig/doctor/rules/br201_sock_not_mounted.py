"""BR201 — docker_sock: the job talks to the host's Docker socket, but the runner does not mount it.

What it checks: a job that runs ``docker`` commands with no ``docker:dind`` service and no
``tcp://`` ``DOCKER_HOST`` talks to ``unix:///var/run/docker.sock`` (or the ``unix://`` path its
``DOCKER_HOST`` names) inside its container. On the Docker executor that socket exists only when
``[runners.docker] volumes`` binds it (``"/var/run/docker.sock:/var/run/docker.sock"``); on
Kubernetes only through a ``[[runners.kubernetes.volumes.host_path]]``.

Why it fails: the client finds no daemon::

    Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?

(with the ``docker`` image, whose entrypoint falls back to ``tcp://docker:2375`` when no socket
exists, the error reads ``error during connect: ... dial tcp: lookup docker ... no such host``).

Jobs that are visibly meant for dind (``DOCKER_TLS_CERTDIR`` set, or only privileged runners)
are left to the dind rules: their cause is the missing or misspelt service, not the socket.

Fix: add the socket to the runner's volumes, e.g. ``volumes = ["/var/run/docker.sock:/var/run/
docker.sock", "/cache"]`` (and make the job's ``tags`` select that runner), or build another way:
a ``docker:dind`` service on a privileged runner, Buildah or rootless BuildKit.

Docs: https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.gitlab.model import Runner

ID = "BR201"
TITLE = "docker_sock: job uses the Docker socket but the runner does not mount it"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding"


def _provides(r: Runner, sock: str) -> bool:
    if u.is_kubernetes(r):
        return u.kube_socket_volume(r) is not None
    m = u.socket_mount(r)
    if m is None:
        return False
    target = m.destination.rstrip("/")
    return sock == target or sock.startswith(target + "/") or (
        sock in u.SOCKET_PATHS and target in u.SOCKET_PATHS
    )


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        job = jv.job
        # a dind service the runner adds ([[runners.docker.services]]) counts as much as the job's own
        if jv.way == "shell" or derive.dind_services(job, jv.runners):
            continue
        lines = u.daemon_docker_lines(job)
        if not lines or u.script_sets_docker_host(job):
            continue
        dind_runners = bool(jv.runners) and all(u.runner_privileged(r) for r in jv.runners)
        if u.explicit_env(jv, "DOCKER_TLS_CERTDIR") is not None or dind_runners:
            continue  # a dind set-up missing its service: the dind/input rules name that
        dh = u.explicit_env(jv, "DOCKER_HOST")
        sock = "/var/run/docker.sock"
        if dh is not None and dh.value:
            if not dh.value.startswith("unix://"):
                continue
            sock = dh.value[len("unix://") :]
            if sock.startswith("/run/user/"):
                continue  # BR604 names the rootless socket case
        candidates = [r for r in jv.runners if u.is_docker_executor(r) or u.is_kubernetes(r)]
        bad = [r for r in candidates if not _provides(r, sock)]
        if not bad:
            continue
        sev = u.severity_for(len(bad), len(jv.runners))
        where = ", ".join(
            f"{u.rname(r)}, whose "
            + (f"[runners.kubernetes] volumes ({u.kube_loc(r, 'volumes')})" if u.is_kubernetes(r)
               else f"[runners.docker] volumes ({u.docker_loc(r, 'volumes')})")
            for r in bad
        )
        some = "" if sev is Severity.ERROR else " (only some of the runners that can take it)"
        if any(u.is_kubernetes(r) and u.socket_mount(r) is not None for r in bad):
            some += "; [runners.docker] volumes are ignored by the Kubernetes executor"
        yield finding(
            f"{u.jname(job)} runs docker ({lines[0].loc}: `{lines[0].text.strip()[:60]}`) with no "
            f"docker:dind service and no tcp:// DOCKER_HOST, so it needs unix://{sock}; {where} "
            f"do not mount it into job containers{some}. The job fails with \"Cannot connect to "
            f"the Docker daemon at unix://{sock}. Is the docker daemon running?\"",
            f"Add \"{sock}:{sock}\" to [runners.docker] volumes (Kubernetes: a "
            "[[runners.kubernetes.volumes.host_path]] for it) of the runner that takes this job, or "
            "build with a docker:dind service, Buildah or rootless BuildKit instead.",
            loc=lines[0].loc,
            job=job.name,
            severity=sev,
        )
