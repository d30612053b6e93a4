"""dind: the runner bind-mounts ``/etc/hosts`` into job containers, hiding the service aliases.

Without a per-build network GitLab Runner makes services reachable by writing their aliases into
the job container's ``/etc/hosts`` (Docker links, or ``extra_hosts`` since runner 18.7). A runner
volume ``"/etc/hosts:/etc/hosts"`` replaces that file with the host's, so ``docker`` (the dind
service) no longer resolves (gitlab-org/gitlab-ee#3755)::

    error during connect: Get http://docker:2375/v1.32/info: dial tcp: lookup docker on
    10.2.6.33:53: no such host

Fix: remove the ``/etc/hosts`` volume (use ``extra_hosts`` in ``[runners.docker]`` for host
entries), or enable ``FF_NETWORK_PER_BUILD`` so services resolve through Docker's DNS.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, label

ID = "BR120"
TITLE = "dind: /etc/hosts mounted into jobs hides the service aliases"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnersdocker-section"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx):
        services = derive.job_services(jv.job, jv.runners)
        if not services:
            continue
        for r in jv.runners:
            if r.docker is None or not F.is_docker_executor(r):
                continue
            mount = next(
                (m.raw for m in F.docker_mounts(r) if m.source and m.destination.rstrip("/") == "/etc/hosts"),
                None,
            )
            if mount is None or F.flag_on(r, F.NETWORK_PER_BUILD_FF, jv.env) or r.docker.network_mode:
                continue
            alias = derive.service_key(services[0])
            yield finding(
                f"{label(jv.job)}: runner '{r.name}' mounts \"{mount}\", which replaces the /etc/hosts "
                f'where the runner writes service aliases; {alias} does not resolve: "error during connect: '
                f'... dial tcp: lookup {alias} ...: no such host".',
                "Remove the /etc/hosts volume (put host entries in [runners.docker] extra_hosts), or enable "
                "FF_NETWORK_PER_BUILD.",
                loc=r.docker.key_locs.get("volumes", r.docker.loc or r.loc),
                job=jv.job.name,
            )
            break
