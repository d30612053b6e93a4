"""dind: a dind service older than Docker 20.10 on a current host.

dind images before 20.10 cannot start on hosts running Docker 20.10 or later (cgroup v2, newer
runc); the service dies and the job fails. GitLab's troubleshooting page lists the error::

    cgroups: cgroup mountpoint does not exist: unknown

Fix: use a current dind image, pinned to the same version as the cli image
(``docker:29.7.2-dind`` with ``docker:29.7.2-cli``).
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig import versions
from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, label

ID = "BR107"
TITLE = "dind: dind image older than 20.10 (fails on current hosts)"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/#error-cgroups-cgroup-mountpoint-does-not-exist-unknown"


def check(ctx: Context) -> Iterator[Issue]:
    host = ctx.live.engine_version if ctx.live is not None else None
    host_new = host is not None and tuple(int(x) for x in host.split(".")[:2] if x.isdigit()) >= (20, 10)
    for jv in jobs(ctx):
        for svc in derive.dind_services(jv.job, jv.runners):
            version = F.docker_version(svc.name) if F.is_docker_image(svc.name) else None
            if version is None or version >= (20, 10):
                continue
            yield finding(
                f"{label(jv.job)} uses {svc.name}; dind before 20.10 fails on hosts with Docker 20.10+ "
                'with "cgroups: cgroup mountpoint does not exist: unknown".',
                f"Use {versions.DOCKER_DIND_IMAGE} (and {versions.DOCKER_CLI_IMAGE} for the job image).",
                loc=svc.loc or jv.job.loc,
                job=jv.job.name,
                severity=Severity.ERROR if host_new else Severity.WARNING,
            )
