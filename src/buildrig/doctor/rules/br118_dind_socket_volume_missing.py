"""dind: the shared-socket variant without the shared volume.

GitLab documents a dind variant where daemon and client meet on a Unix socket instead of TCP:
``DOCKER_HOST: unix:///runner/services/docker/docker.sock`` (dind creates the socket there, the
client uses it) with ``volumes = ["/runner/services/docker"]`` in ``[runners.docker]`` so that the
service and the job see the same directory. Without that volume the socket exists only inside the
service container::

    Cannot connect to the Docker daemon at unix:///runner/services/docker/docker.sock. Is the docker
    daemon running?

Fix: add the socket's directory to the runner's ``volumes`` (Kubernetes: an ``empty_dir`` mounted
there), or use the TCP set-up (``tcp://docker:2376`` with TLS).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, per_runner, severity_over, var_loc

ID = "BR118"
TITLE = "dind: DOCKER_HOST is a Unix socket the job does not share with the dind service"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_in_docker/#use-a-unix-socket-on-a-shared-volume-between-docker-in-docker-and-build-container"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        if not derive.dind_services(jv.job, jv.runners) or not jv.runners:
            continue
        views = [v for v in per_runner(ctx, jv) if not v.shell]
        bad = []
        path = ""
        for view in views:
            ep = endpoint(view.env)
            if ep is None or ep.scheme != "unix" or view.runner is None:
                continue
            path = ep.raw[len("unix://") :]
            if path in ("/var/run/docker.sock", "/run/docker.sock"):
                continue  # the host socket: a docker_sock matter
            if not F.shares_path(view.runner, posixpath.dirname(path)):
                bad.append(view.runner)
        if not bad:
            continue
        r = bad[0]
        loc = r.docker.key_locs.get("volumes", r.docker.loc) if r.docker is not None else r.loc
        yield finding(
            f"{label(jv.job)}: DOCKER_HOST=unix://{path} but runner '{r.name}' ({r.loc}) does not share "
            f"{posixpath.dirname(path)} between the dind service and the job; the job fails with "
            f'"Cannot connect to the Docker daemon at unix://{path}. Is the docker daemon running?".',
            f'Add "{posixpath.dirname(path)}" to [runners.docker] volumes (Kubernetes: an empty_dir '
            "mounted there), or use tcp://docker:2376 with TLS.",
            loc=loc or var_loc(jv.env.get("DOCKER_HOST"), jv.job, "variables"),
            job=jv.job.name,
            severity=severity_over(len(bad), len(views)),
        )
