"""dind: the dind service does not run privileged on the runner that takes the job.

dockerd inside a container needs privileged mode. Without it the service dies at start (its log
says ``mount: permission denied (are you root?)``) and the job reports::

    error during connect: Get "http://docker:2375/v1.24/info": dial tcp: lookup docker on 127.0.0.11:53:
    no such host

Privileged comes from ``[runners.docker] privileged = true`` (or ``services_privileged = true``,
which overrides it for services; ``allowed_privileged_services`` must then match the dind image)
or ``[runners.kubernetes] privileged = true``. The rootless dind image needs it too.

Fix: run the job on a runner with privileged mode (tag it and give the job that tag), or build
without a daemon (buildah, BuildKit rootless).
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, label, severity_over

ID = "BR103"
TITLE = "dind: the dind service is not privileged on the runner"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/#docker-cannot-connect-to-the-docker-daemon-at-tcpdocker2375-is-the-docker-daemon-running"


def _why(runner: object, svc_name: str) -> str:
    from buildrig.gitlab.model import Runner

    assert isinstance(runner, Runner)
    if runner.docker is not None and F.is_docker_executor(runner):
        d = runner.docker
        if d.services_privileged is False:
            return f"services_privileged = false ({d.key_locs.get('services_privileged', d.loc)})"
        if (d.privileged or d.services_privileged) and d.allowed_privileged_services:
            return f"allowed_privileged_services does not match {svc_name}"
        return f"privileged is not true in [runners.docker] ({d.key_locs.get('privileged', d.loc)})"
    if F.is_kubernetes(runner):
        k = runner.kubernetes
        where = k.key_locs.get("privileged", k.loc) if k is not None else runner.loc
        return f"privileged is not true in [runners.kubernetes] ({where})"
    return "the executor runs no privileged containers"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx):
        services = derive.dind_services(jv.job, jv.runners)
        if not services or not jv.runners:
            continue
        relevant = [r for r in jv.runners if F.is_docker_executor(r) or F.is_kubernetes(r)]
        bad = []
        for r in relevant:
            for svc in services:
                if F.privileged_for_service(r, svc) is False:
                    bad.append((r, svc))
                    break
        if not bad:
            continue
        r, svc = bad[0]
        loc = r.docker.loc if r.docker is not None and r.docker.loc else r.loc
        yield finding(
            f"{label(jv.job)} starts {svc.name}, but runner '{r.name}' ({r.loc}) does not run it "
            f'privileged: {_why(r, svc.name)}. The service dies with "mount: permission denied (are '
            'you root?)" and the job fails with "error during connect: ... lookup docker ... no such host" '
            'or "Cannot connect to the Docker daemon at tcp://docker:2375".',
            "Set privileged = true in the runner's [runners.docker] (or [runners.kubernetes]) section on "
            "a dedicated runner and route the job there with tags, or build without a daemon "
            "(buildah, BuildKit rootless).",
            loc=loc,
            job=jv.job.name,
            severity=severity_over(len(bad), len(relevant)),
        )
