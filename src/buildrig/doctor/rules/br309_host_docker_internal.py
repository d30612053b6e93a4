"""docker_host: ``host.docker.internal`` does not resolve in Linux job containers.

Docker Desktop answers ``host.docker.internal``; Docker Engine on Linux only does for containers
started with ``--add-host host.docker.internal:host-gateway``. GitLab Runner adds no such entry, so
``DOCKER_HOST: tcp://host.docker.internal:2375`` fails::

    error during connect: Get "http://host.docker.internal:2375/v1.24/info": dial tcp:
    lookup host.docker.internal on 127.0.0.11:53: no such host

Fix: add ``extra_hosts = ["host.docker.internal:host-gateway"]`` to ``[runners.docker]``, or use the
build host's private IP in ``DOCKER_HOST``.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, per_runner, severity_over, var_loc

ID = "BR309"
TITLE = "docker_host: host.docker.internal without an extra_hosts entry"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/reference/cli/docker/container/run/#add-host"
_NAME = "host.docker.internal"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "docker_host", "docker_sock", "dind"):
        views = per_runner(ctx, jv)
        bad = 0
        for view in views:
            ep = endpoint(view.env)
            if ep is None or ep.host != _NAME or view.shell:
                continue
            r = view.runner
            if r is not None and r.docker is not None:
                if any(h.split(":", 1)[0] == _NAME for h in r.docker.extra_hosts):
                    continue
                if r.docker.network_mode == "host":
                    continue
            bad += 1
        if not bad:
            continue
        var = jv.env.get("DOCKER_HOST")
        yield finding(
            f"{label(jv.job)}: DOCKER_HOST uses {_NAME}, which Docker Engine on Linux does not define "
            f'inside job containers; the job fails with "dial tcp: lookup {_NAME} ...: no such host".',
            f'Add extra_hosts = ["{_NAME}:host-gateway"] to [runners.docker], or use the build host\'s '
            "private IP in DOCKER_HOST.",
            loc=var_loc(var, jv.job, "variables"),
            job=jv.job.name,
            severity=severity_over(bad, len(views)) if jv.runners else Severity.WARNING,
        )
