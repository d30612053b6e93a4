"""BR705 — security: dind runs without TLS on Kubernetes.

What it checks: a job with a ``docker:dind`` service that a Kubernetes runner can pick up, with
TLS turned off (``DOCKER_TLS_CERTDIR: ""`` for the service, or ``DOCKER_HOST: tcp://...:2375``).

Why it matters: on Kubernetes the dind daemon is privileged and listens on ``0.0.0.0:2375`` of the
pod, whose IP every other pod in the cluster can reach unless NetworkPolicies forbid it. An
unauthenticated privileged Docker API is root on the node for anyone in the cluster, for the whole
life of the job.

Fix: keep TLS on: ``DOCKER_TLS_CERTDIR: "/certs"``, an ``empty_dir`` volume at ``/certs/client``,
``DOCKER_HOST: tcp://docker:2376``, ``DOCKER_TLS_VERIFY: "1"``, ``DOCKER_CERT_PATH:
"$DOCKER_TLS_CERTDIR/client"`` and service variable ``HEALTHCHECK_TCP_PORT: "2376"``; or share a
Unix socket through an ``empty_dir`` instead of TCP.

Docs: https://docs.gitlab.com/ci/docker/docker_in_docker/#kubernetes-executor
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.errors import Loc

ID = "BR705"
TITLE = "security: dind without TLS on Kubernetes"
SEVERITY = Severity.WARNING
CATEGORY = Category.SECURITY
DOCS = "https://docs.gitlab.com/ci/docker/docker_in_docker/#kubernetes-executor"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        svcs = u.dind_services(jv.job)
        kube = [r for r in jv.runners if u.is_kubernetes(r)]
        if not svcs or not kube:
            continue
        reason: str | None = None
        loc: Loc | None = None
        for svc in svcs:
            v = next((x for x in svc.variables if x.name == "DOCKER_TLS_CERTDIR"), None)
            if v is not None and not v.value.strip():
                reason, loc = "the service sets DOCKER_TLS_CERTDIR: \"\"", v.loc or svc.loc
        if reason is None:
            for env in jv.service_env.values():
                v = env.get("DOCKER_TLS_CERTDIR")
                if v is not None and v.loc is not None and not v.value.strip():
                    reason, loc = "DOCKER_TLS_CERTDIR is \"\"", v.loc
                    break
        if reason is None:
            v = u.explicit_env(jv, "DOCKER_TLS_CERTDIR")
            if v is not None and not v.value.strip():
                reason, loc = "DOCKER_TLS_CERTDIR is \"\"", v.loc
        if reason is None:
            dh = u.explicit_env(jv, "DOCKER_HOST")
            if dh is not None and dh.value.rstrip("/").endswith(":2375"):
                reason, loc = f"DOCKER_HOST is {dh.value}", dh.loc
        if reason is None:
            continue
        loc = loc or svcs[0].loc or u.job_loc(jv.job, "services")
        yield finding(
            f"{u.jname(jv.job)} runs a docker:dind service on the Kubernetes {u.rname(kube[0])} and "
            f"{reason} ({loc}): the privileged daemon listens unauthenticated on port 2375 of the "
            "pod IP, reachable from every pod in the cluster.",
            "Keep TLS: DOCKER_TLS_CERTDIR: \"/certs\", an empty_dir at /certs/client, DOCKER_HOST: "
            "tcp://docker:2376, DOCKER_TLS_VERIFY: \"1\", DOCKER_CERT_PATH: "
            "\"$DOCKER_TLS_CERTDIR/client\", service variable HEALTHCHECK_TCP_PORT: \"2376\".",
            loc=loc,
            job=jv.job.name,
        )
