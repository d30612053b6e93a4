"""docker_host: ``DOCKER_HOST`` points at localhost from inside a container.

In a job container ``localhost`` is the container itself, not the build host, so
``DOCKER_HOST: tcp://localhost:2375`` (or ``127.0.0.1``) reaches nothing on the Docker executor::

    Cannot connect to the Docker daemon at tcp://localhost:2375. Is the docker daemon running?

The value counts wherever the job sets it: ``variables:`` (job, global, included, runner
``environment``) or its script (``export DOCKER_HOST=tcp://0.0.0.0:2376`` in ``before_script``: the
last assignment before the docker commands wins). ``0.0.0.0`` is a listen address, not a place to
connect to; as a client address it too is the job container itself.

It works only on the shell executor, with ``network_mode = "host"``, or on Kubernetes where a dind
service shares the pod's network.

Fix: use the build host's address as seen from containers (its private IP, e.g.
``tcp://10.0.0.5:2376`` with TLS, and make dockerd listen there), or mount the socket instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, per_runner, severity_over, var_loc
from buildrig.errors import Loc

ID = "BR301"
TITLE = "docker_host: DOCKER_HOST is localhost inside a job container"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/"


# `export DOCKER_HOST=...` / `DOCKER_HOST=...` as its own command (not `DOCKER_HOST=x docker ...`)
_EXPORT = re.compile(r"""(?:^|[;&|]\s*)(?:export\s+)?DOCKER_HOST=(["']?)([^\s"';&|]+)\1\s*(?:$|[;&|])""")


def _script_endpoint(jv: JobView) -> tuple[F.Endpoint, Loc] | None:
    """The DOCKER_HOST the job's own script exports last, with the line that does it."""
    found: tuple[F.Endpoint, Loc] | None = None
    for sl in F.script_lines(jv.job):
        for m in _EXPORT.finditer(sl.text.strip()):
            ep = F.parse_endpoint(derive.expand(m.group(2), jv.env))
            found = (ep, sl.loc) if ep is not None else None
    return found


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx):
        if jv.way in ("shell", "kaniko", "buildah", "buildkit", None):
            continue
        views = per_runner(ctx, jv)
        scripted = _script_endpoint(jv)
        where = var_loc(jv.env.get("DOCKER_HOST"), jv.job, "variables") if scripted is None else scripted[1]
        bad = 0
        ep = None
        for view in views:
            ep_here = scripted[0] if scripted is not None else endpoint(view.env)
            if ep_here is None or ep_here.scheme != "tcp" or not ep_here.is_loopback:
                continue
            if view.shell:
                continue
            r = view.runner
            if r is not None and r.docker is not None and r.docker.network_mode == "host":
                continue
            if view.kubernetes and derive.dind_services(jv.job, jv.runners):
                continue
            if view.runner is None and derive.image_name(jv.job, ()) is None:
                continue  # may be a shell executor: no image, no config.toml
            bad += 1
            ep = ep_here
        if not bad or ep is None:
            continue
        has_dind = bool(derive.dind_services(jv.job, jv.runners))
        unknown_executor = not jv.runners
        if has_dind:
            fix = (
                f"Use the service's alias: DOCKER_HOST: tcp://docker:{ep.port} (localhost reaches the "
                "service only on the Kubernetes executor, where services share the pod's network)."
            )
        else:
            fix = (
                "Point DOCKER_HOST at the build host's private address (tcp://<host-ip>:2376 with TLS) "
                "and make dockerd listen there, or bind-mount the socket instead."
            )
        yield finding(
            f"{label(jv.job)}: DOCKER_HOST={ep.raw} but the job runs in a container, where {ep.host} is "
            f'the job container itself; docker commands fail with "Cannot connect to the Docker daemon at '
            f'{ep.raw}. Is the docker daemon running?"'
            + (
                " (unless the runner uses the Kubernetes executor)." if has_dind and unknown_executor else "."
            ),
            fix,
            loc=where,
            job=jv.job.name,
            severity=Severity.WARNING if has_dind and unknown_executor else severity_over(bad, len(views)),
        )
