"""dind: TLS to the dind service under a name its certificate does not carry.

With TLS the dind image generates its server certificate at start for ``docker``, ``localhost``,
the container's host name and IPs, plus whatever ``DOCKER_TLS_SAN`` adds. A service alias such
as ``dind`` or ``docker-daemon`` is not among them, so a client that connects to
``tcp://dind:2376`` with verification fails::

    tls: failed to verify certificate: x509: certificate is valid for 2f7a1c3e9b4d, docker, localhost,
    not dind

Fix: use the alias ``docker`` (``DOCKER_HOST: tcp://docker:2376``), or add the name to the
certificate with the service variable ``DOCKER_TLS_SAN: "DNS:dind"``.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, per_runner, svc_env, tls_on, var_loc

ID = "BR105"
TITLE = "dind: the TLS host name is not in the dind certificate (alias other than docker)"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://github.com/docker-library/docker/blob/master/dockerd-entrypoint.sh"
_IN_CERT = {"docker", "localhost", "127.0.0.1", "::1"}


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        for view in per_runner(ctx, jv)[:1]:
            ep = endpoint(view.env)
            if ep is None or ep.scheme != "tcp" or ep.host is None or ep.host in _IN_CERT:
                continue
            if not tls_on(view.env) and ep.port != 2376:
                continue
            for svc in derive.dind_services(jv.job, jv.runners):
                if ep.host not in F.service_aliases(svc):
                    continue
                env = svc_env(view, svc)
                if not derive.dind_mode(svc, env).tls:
                    continue
                san = env.get("DOCKER_TLS_SAN")
                if san is not None and ep.host in san.value:
                    continue
                yield finding(
                    f"{label(jv.job)} connects to the dind service as {ep.host} with TLS, but dind's "
                    "certificate only names docker, localhost and the container's own name and IPs; the "
                    'job fails with "tls: failed to verify certificate: x509: certificate is valid for '
                    f'..., docker, localhost, not {ep.host}".',
                    f"Use alias docker and DOCKER_HOST tcp://docker:2376, or set the service variable "
                    f'DOCKER_TLS_SAN: "DNS:{ep.host}".',
                    loc=var_loc(view.env.get("DOCKER_HOST"), jv.job, "variables"),
                    job=jv.job.name,
                )
                break
