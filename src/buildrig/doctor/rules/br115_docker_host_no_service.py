"""dind: ``DOCKER_HOST`` names a service the job does not have.

A job whose ``DOCKER_HOST`` is ``tcp://docker:2376`` (set by the job, the pipeline, the runner, or
derived by the docker image's entrypoint) but that starts no ``docker:dind`` service has nothing
answering to that name. Typical causes: ``services:`` defined in ``default:`` but the job sets its
own ``services`` (which replaces them), ``inherit: default: false``, or a template copied without
its service::

    error during connect: Get "http://docker:2375/v1.24/info": dial tcp: lookup docker on 127.0.0.11:53:
    no such host

Fix: add the service (``services: [docker:29.7.2-dind]``) or point ``DOCKER_HOST`` at the daemon
you mean to use.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig import versions
from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, origin, var_loc

ID = "BR115"
TITLE = "dind: DOCKER_HOST points at a service the job does not start"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_in_docker/"


def check(ctx: Context) -> Iterator[Issue]:
    dind_elsewhere = any(derive.dind_services(j.job, j.runners) for j in ctx.jobs)
    for jv in jobs(ctx, "dind", "docker_sock"):
        if derive.dind_services(jv.job, jv.runners):
            continue
        host_var = jv.env.get("DOCKER_HOST")
        if jv.way == "docker_sock" and not (dind_elsewhere and host_var is not None and host_var.loc is None):
            continue  # derived tcp://docker: only a dind mistake when the pipeline uses dind elsewhere
        ep = endpoint(jv.env)
        if ep is None or ep.scheme != "tcp" or ep.host is None or ep.is_loopback:
            continue
        aliases = {a for s in derive.job_services(jv.job, jv.runners) for a in F.service_aliases(s)}
        extra = {h.split(":", 1)[0] for r in jv.runners if r.docker for h in r.docker.extra_hosts}
        if ep.host in aliases or ep.host in extra:
            continue
        var = jv.env.get("DOCKER_HOST")
        yield finding(
            f"{label(jv.job)}: DOCKER_HOST={ep.raw} ({origin(var)}) but the job starts no service "
            f'called {ep.host}; docker commands fail with "error during connect: ... dial tcp: lookup '
            f'{ep.host} ...: no such host".',
            f"Add services: [{versions.DOCKER_DIND_IMAGE}] to the job (a job's own services replace "
            "default: services), or set DOCKER_HOST to the daemon you mean.",
            loc=var_loc(var, jv.job, "services", "variables", "image"),
            job=jv.job.name,
        )
