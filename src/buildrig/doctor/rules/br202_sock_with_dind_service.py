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

Severity: an error when the socket lands on the path the inner daemon listens on
(``/var/run/docker.sock``) and the job's ``DOCKER_HOST`` names the dind service over TCP: dind
never starts and every run fails (``failed to load listeners: can't create unix socket
/var/run/docker.sock: device or resource busy``). Otherwise a warning: the job may still reach
the host daemon through the socket, so whether it fails depends on what it runs.

Without config.toml the runner's volumes are not known; the error text the job printed
(``--symptom``) with dind's "failed to load listeners: can't create unix socket" makes it a
WARNING naming the check (the ``volumes`` of the runner's ``[runners.docker]``).

Fix: pick one. For dind, use a runner without the socket volume (``volumes = ["/certs/client",
"/cache"]``, ``privileged = true``). For socket binding, drop the ``docker:dind`` service and the
``DOCKER_HOST``/``DOCKER_TLS_CERTDIR`` variables that point at it.

Docs: https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import facts as F
from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint

ID = "BR202"
TITLE = "docker_sock: host socket bound on a runner whose job also starts a dind service"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding"
SYMPTOM = re.compile(r"failed to load listeners: can't create unix s", re.IGNORECASE)
_CHECK = "grep -n docker.sock /etc/gitlab-runner/config.toml"


def _unposted_runner(ctx: Context) -> Iterator[Issue]:
    """No config.toml: dind's own error says a socket sits on its listen path."""
    if hostfacts.grade(ctx, SYMPTOM) is not Severity.WARNING:
        return  # without the error text every dind job would get this pointer
    for jv in ctx.jobs:
        svcs = u.dind_services(jv.job)
        if not svcs:
            continue
        sloc = svcs[0].loc or u.job_loc(jv.job, "services")
        yield finding(
            f"{u.jname(jv.job)} starts the dind service '{svcs[0].name}' ({sloc}), whose daemon "
            "could not create its socket (\"failed to load listeners: can't create unix socket\"): "
            "something is mounted on /var/run/docker.sock in the service, which is what a runner "
            "that binds the host's socket in its volumes does, since runner volumes are mounted into "
            f"services too {hostfacts.not_checked(ctx, _CHECK)}.",
            "Remove \"/var/run/docker.sock:/var/run/docker.sock\" from that runner's volumes "
            "(dind), or drop the docker:dind service and build on the bound socket.",
            loc=sloc,
            job=jv.job.name,
            severity=Severity.WARNING,
        )


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is None:
        yield from _unposted_runner(ctx)
        return
    for jv in ctx.jobs:
        svcs = u.dind_services(jv.job)
        if not svcs:
            continue
        bad = [r for r in jv.runners if u.is_docker_executor(r) and u.socket_mount(r) is not None]
        if not bad:
            continue
        svc = svcs[0]
        # The runner mounts its volumes into services too: a socket on dind's own listen path keeps
        # dockerd from starting, which only matters when the job's client goes to dind, not the host.
        ep = endpoint(jv.env)
        aliases = {a for s in svcs for a in F.service_aliases(s)}
        to_dind = ep is not None and ep.scheme == "tcp" and ep.host in aliases
        blocks_listener = all(
            (m := u.socket_mount(r)) is not None and m.destination.rstrip("/") in u.SOCKET_PATHS for r in bad
        )
        sure = to_dind and blocks_listener
        sloc = svc.loc or u.job_loc(jv.job, "services")
        runners = ", ".join(
            f"{u.rname(r)} (volume \"{m.raw}\" at {u.docker_loc(r, 'volumes')})"
            for r in bad
            if (m := u.socket_mount(r)) is not None
        )
        yield finding(
            f"{u.jname(jv.job)} starts the dind service '{svc.name}' ({sloc}) but {runners} binds "
            "the host's Docker socket, and runner volumes are mounted into services too: GitLab "
            "documents the two as incompatible. "
            + (
                "The socket covers dind's own listen path, so its daemon never starts (\"failed to "
                "load listeners: can't create unix socket /var/run/docker.sock: device or resource "
                f"busy\"), and DOCKER_HOST={ep.raw} sends every docker command to it: the job fails "
                "on every run."
                if sure and ep is not None
                else "The dind service may never become healthy (\"Service ... probably didn't start "
                "properly\", then \"Cannot connect to the Docker daemon at tcp://docker:2375\") or "
                "the job silently builds on the host daemon."
            ),
            "Use one approach: remove \"/var/run/docker.sock:/var/run/docker.sock\" from that "
            "runner's volumes (dind), or remove the docker:dind service and its DOCKER_HOST/"
            "DOCKER_TLS_CERTDIR variables from the job (socket binding).",
            loc=sloc,
            job=jv.job.name,
            severity=Severity.ERROR if sure else Severity.WARNING,
        )
