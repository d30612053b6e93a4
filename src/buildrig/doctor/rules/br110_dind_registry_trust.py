"""dind: registry trust set up where the dind daemon cannot see it.

``docker pull``/``push``/``build`` in a dind job are done by the daemon inside the service
container, a fresh dockerd that knows nothing of the host's ``insecure-registries``, registry CAs
in ``/etc/docker/certs.d`` or CAs installed into the job container. Jobs that trust a private
registry or a TLS-intercepting proxy (Zscaler) that way fail inside dind with::

    tls: failed to verify certificate: x509: certificate signed by unknown authority

or, for a plain-HTTP registry, ``http: server gave HTTP response to HTTPS client``.

Fix: give the trust to the inner daemon: service ``command: ["--insecure-registry=host:port"]``
for plain HTTP; for a CA, override the service to install it before ``dockerd-entrypoint.sh``
(GitLab's documented ``CA_CERTIFICATE`` recipe) or mount ``/etc/docker/certs.d`` into services via
the runner's ``volumes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, label

ID = "BR110"
TITLE = "dind: registry CA or insecure registry configured outside the inner daemon"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/#docker-x509-certificate-signed-by-unknown-authority"
_CLIENT_TRUST = re.compile(
    r"/etc/docker/certs\.d|update-ca-certificates|/usr/local/share/ca-certificates|ca-certificates\.crt"
)


def check(ctx: Context) -> Iterator[Issue]:
    insecure = ctx.daemon.insecure_registries if ctx.daemon is not None else ()
    for jv in jobs(ctx, "dind"):
        services = derive.dind_services(jv.job, jv.runners)
        if not services:
            continue
        svc = services[0]
        if any(F.shares_path(r, "/etc/docker/certs.d") for r in jv.runners) and jv.runners:
            continue
        if F.passes_default_args(svc) is False or svc.entrypoint:
            continue  # a custom entrypoint/command is where the documented CA recipe lives
        lines = [ln for ln in F.script_lines(jv.job) if _CLIENT_TRUST.search(ln.text)]
        used = "\n".join([ln.text for ln in F.script_lines(jv.job)] + [v.value for v in jv.env.values()])
        missing = [
            reg
            for reg in insecure
            if reg.split("/", 1)[0] in used and not F.command_has(svc, "--insecure-registry")
        ]
        if lines:
            line = lines[0]
            yield finding(
                f"{label(jv.job)} installs registry trust in the job container ({line.key}: "
                f"{line.text.strip()[:80]!r}), but pulls and pushes are done by the daemon in {svc.name}, "
                'which never sees it; they fail with "x509: certificate signed by unknown authority".',
                "Install the CA in the dind service instead (override its entrypoint to copy $CA_CERTIFICATE "
                "to /usr/local/share/ca-certificates and run update-ca-certificates before "
                "dockerd-entrypoint.sh), or mount /etc/docker/certs.d into services through the runner's "
                "volumes.",
                loc=line.loc,
                job=jv.job.name,
            )
        elif missing:
            yield finding(
                f"{label(jv.job)}: the host daemon trusts insecure registries {', '.join(missing)}, but the "
                f'dind daemon in {svc.name} does not; pulls and pushes there fail with "http: server gave '
                'HTTP response to HTTPS client".',
                f'Add command: ["--insecure-registry={missing[0]}"] to the {svc.name} service.',
                loc=svc.loc or jv.job.loc,
                job=jv.job.name,
            )
