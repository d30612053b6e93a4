"""dind on Kubernetes: the job does not wait for the dind daemon.

On the Kubernetes executor the job container starts while the dind service may still be
generating certificates and starting dockerd; the runner only waits for a service port when the
service sets ``HEALTHCHECK_TCP_PORT`` (since runner 16.9). The first docker command then races the
daemon (gitlab-runner#27215)::

    Cannot connect to the Docker daemon at tcp://docker:2376. Is the docker daemon running?

Fix: add the service variable ``HEALTHCHECK_TCP_PORT: "2376"`` (``"2375"`` without TLS), or wait in
``before_script``: ``until docker info; do sleep 1; done``.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, label, per_runner, svc_env

ID = "BR113"
TITLE = "dind on Kubernetes: no readiness wait for the dind daemon"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_in_docker/#docker-in-docker-with-tls-enabled-in-kubernetes"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx):
        services = derive.dind_services(jv.job, jv.runners)
        if not services or not jv.runners:
            continue
        if F.waits_for_daemon(F.script_lines(jv.job)):
            continue
        for view in per_runner(ctx, jv):
            if not view.kubernetes:
                continue
            svc = services[0]
            if "HEALTHCHECK_TCP_PORT" in svc_env(view, svc):
                continue
            mode = derive.dind_mode(svc, svc_env(view, svc))
            port = mode.port or 2376
            name = view.runner.name if view.runner else "?"
            yield finding(
                f"{label(jv.job)} runs on the Kubernetes executor (runner '{name}') where nothing waits "
                f'for {svc.name} to listen; the first docker command can fail with "Cannot connect to the '
                f'Docker daemon at tcp://docker:{port}. Is the docker daemon running?".',
                f'Add the service variable HEALTHCHECK_TCP_PORT: "{port}", or wait in before_script: '
                "until docker info; do sleep 1; done.",
                loc=svc.loc or jv.job.loc,
                job=jv.job.name,
            )
            break
