"""dind: DNS inside dind builds with a per-build network.

With ``FF_NETWORK_PER_BUILD`` the dind service sits on a user-defined network whose resolver is
Docker's embedded DNS at 127.0.0.11. The inner daemon cannot hand that loopback address to
build containers and falls back to public resolvers (8.8.8.8), which sites with internal DNS or
blocked egress do not answer: ``RUN apt-get update`` or ``go mod download`` inside ``docker
build`` fail with::

    Temporary failure resolving 'deb.debian.org'  /  Could not resolve host: gitlab.example.com

Fix: give the dind daemon real resolvers: service ``command: ["--dns=10.0.0.2"]`` (your DNS
servers), or don't enable the per-build network for dind jobs.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, label

ID = "BR111"
TITLE = "dind: DNS of inner builds with FF_NETWORK_PER_BUILD"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/"


def check(ctx: Context) -> Iterator[Issue]:
    daemon_dns = tuple(ctx.daemon.raw_json.get("dns", ())) if ctx.daemon is not None else ()
    for jv in jobs(ctx):
        services = [s for s in derive.dind_services(jv.job, jv.runners) if not F.command_has(s, "--dns")]
        if not services:
            continue
        per_build = [
            r for r in jv.runners if F.is_docker_executor(r) and F.flag_on(r, F.NETWORK_PER_BUILD_FF, jv.env)
        ]
        if not per_build and not jv.runners:
            var = jv.env.get(F.NETWORK_PER_BUILD_FF)
            if var is None or var.value.lower() not in ("true", "1"):
                continue
        elif not per_build:
            continue
        dns = [d for r in per_build for d in F.runner_dns(r)] + [str(d) for d in daemon_dns]
        svc = services[0]
        yield finding(
            f"{label(jv.job)}: FF_NETWORK_PER_BUILD puts {svc.name} behind Docker's embedded DNS "
            "(127.0.0.11), which builds inside dind cannot use; "
            + (
                f"your resolvers ({', '.join(dns)}) are not passed on, so "
                if dns
                else "they fall back to public resolvers, so on networks with internal DNS "
            )
            + 'RUN steps fail with "Temporary failure resolving ...".',
            f'Add command: ["--dns={dns[0] if dns else "<your DNS server>"}"] to the {svc.name} service.',
            loc=svc.loc or jv.job.loc,
            job=jv.job.name,
            severity=Severity.WARNING if dns else Severity.INFO,
        )
