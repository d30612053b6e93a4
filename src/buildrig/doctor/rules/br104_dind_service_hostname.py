"""dind: the dind service does not answer to the host name the client uses.

GitLab Runner derives a service's host name from its image path: ``docker:29.7.2-dind`` answers
as ``docker``, but ``registry.example.com/library/docker:29.7.2-dind`` (a mirror, the Dependency
Proxy, your own registry) answers as ``registry.example.com__library__docker`` and
``registry.example.com-library-docker``. The docker image's entrypoint and most jobs talk to
``tcp://docker:...``, so the client fails with::

    error during connect: Post "https://docker:2376/v1.24/auth": dial tcp: lookup docker on 10.0.0.2:53:
    no such host

Fix: give the service ``alias: docker`` (``services: [{name: ..., alias: docker}]``) or point
``DOCKER_HOST`` at the alias it has.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, origin, per_runner

ID = "BR104"
TITLE = "dind: the service's host name is not the one DOCKER_HOST uses (alias missing)"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/#error-during-connect-post-httpsdocker2376v140authdial-tcp-lookup-docker-on-xxxx53-no-such-host"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        services = derive.dind_services(jv.job, jv.runners)
        if not services:
            continue
        for view in per_runner(ctx, jv)[:1]:
            k8s = view.kubernetes
            # every name the runner gives a service: derived from the image, then its aliases
            names = {
                a
                for s in derive.job_services(jv.job, jv.runners)
                for a in F.service_aliases(s, kubernetes=k8s)
            }
            ep = endpoint(view.env)
            if ep is None or ep.scheme != "tcp" or ep.host is None or ep.is_loopback:
                continue
            if ep.host in names or ep.host in _extra_hosts(view.runner):
                continue
            svc = services[0]
            host_var = view.env.get("DOCKER_HOST")
            yield finding(
                f"{label(jv.job)}: the client connects to {ep.host} (DOCKER_HOST={ep.raw}, "
                f"{origin(host_var)}) but service {svc.name} answers only as "
                f'{", ".join(F.service_aliases(svc, kubernetes=k8s))}; the job fails with '
                '"error during connect: ... '
                f'dial tcp: lookup {ep.host} ...: no such host".',
                f"Add alias: {ep.host} to the service (services: [{{name: {svc.name}, alias: {ep.host}}}]).",
                loc=svc.loc or jv.job.key_locs.get("services", jv.job.loc),
                job=jv.job.name,
            )


def _extra_hosts(runner: object) -> set[str]:
    from buildrig.gitlab.model import Runner

    if not isinstance(runner, Runner) or runner.docker is None:
        return set()
    return {h.split(":", 1)[0] for h in runner.docker.extra_hosts}
