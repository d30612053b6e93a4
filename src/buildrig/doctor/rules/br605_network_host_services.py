"""BR605 — shell/runner: ``network_mode = "host"`` on a runner whose jobs use services.

What it checks: a job with ``services:`` runs on a Docker-executor runner with ``[runners.docker]
network_mode = "host"``.

Why it fails: in the host network there are no per-job links or network aliases, so the service
hostname (``docker``, ``postgres``...) does not resolve, and every service binds its ports on the
host itself (two concurrent dind jobs collide on 2375/2376, and the daemon listens on the host's
interfaces)::

    error during connect: ... dial tcp: lookup docker on 127.0.0.53:53: no such host

(with ``FF_NETWORK_PER_BUILD`` the runner cannot attach the containers at all: "network-scoped
alias is supported only for containers in user defined networks").

It also flags any ``network_mode`` set together with ``FF_NETWORK_PER_BUILD``, which the runner
docs say not to combine (the runner cannot attach the build and services to its per-job network).

Fix: remove ``network_mode`` (default bridge) or use ``FF_NETWORK_PER_BUILD = true``; if the job
must use the host network, reach services through ``localhost`` and run one such job at a time.

Docs: https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnersdocker-section
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import facts as F
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.gitlab.model import Runner

ID = "BR605"
TITLE = "shell/runner: network_mode = \"host\" with services"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnersdocker-section"


def _per_build(r: Runner) -> bool:
    """On for every job of the runner: [runners.feature_flags] or its environment (gitlab/features)."""
    return F.flag_on(r, F.NETWORK_PER_BUILD_FF)


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is not None:
        for r in ctx.runner_config.runners:
            mode = r.docker.network_mode if r.docker is not None else None
            if mode and u.is_docker_executor(r) and _per_build(r):
                yield finding(
                    f"{u.rname(r)} sets network_mode = \"{mode}\" ({u.docker_loc(r, 'network_mode')}) "
                    "together with FF_NETWORK_PER_BUILD: the runner docs say not to combine them; the "
                    "per-job network and its service aliases are not used, so services are not found.",
                    "Remove network_mode (FF_NETWORK_PER_BUILD creates the per-job network) or turn "
                    "the feature flag off.",
                    loc=u.docker_loc(r, "network_mode"),
                    severity=Severity.WARNING,
                )
    for jv in ctx.jobs:
        if not jv.job.services:
            continue
        bad = [
            r for r in jv.runners
            if u.is_docker_executor(r) and r.docker is not None
            and (r.docker.network_mode or "").lower() == "host"
        ]
        if not bad:
            continue
        r = bad[0]
        names = ", ".join(s.name for s in jv.job.services)
        yield finding(
            f"{u.jname(jv.job)} uses services ({names}) on {u.rname(r)}, which sets network_mode = "
            f"\"host\" ({u.docker_loc(r, 'network_mode')}): services get no alias in the host "
            "network, so \"lookup docker ... no such host\", and their ports bind on the host "
            "itself (concurrent jobs collide).",
            "Remove network_mode from [runners.docker] (or enable FF_NETWORK_PER_BUILD instead); "
            "with the host network, reach services via localhost and run one job at a time.",
            loc=u.docker_loc(r, "network_mode"),
            job=jv.job.name,
            severity=u.severity_for(len(bad), len(jv.runners)),
        )
