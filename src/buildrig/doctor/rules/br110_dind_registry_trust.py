"""dind: registry trust set up where the dind daemon cannot see it.

``docker pull``/``push``/``build`` in a dind job are done by the daemon inside the service
container, a fresh dockerd that knows nothing of the host's ``insecure-registries``, registry CAs
in ``/etc/docker/certs.d`` or CAs installed into the job container. Jobs that trust a private
registry or a TLS-intercepting proxy (Zscaler) that way fail inside dind with::

    tls: failed to verify certificate: x509: certificate signed by unknown authority

or, for a plain-HTTP registry, ``http: server gave HTTP response to HTTPS client``.

Whether a registry serves plain HTTP or a private CA's certificate is a fact of that registry no
file shows (and doctor sends no traffic to it). Given the error text the job printed
(``--symptom``) with one of the two errors above, a dind job that pulls, pushes or logs in while its
service trusts nothing extra gets a WARNING naming the check (``curl -v https://<registry>/v2/``).

Fix: give the trust to the inner daemon: service ``command: ["--insecure-registry=host:port"]``
for plain HTTP; for a CA, override the service to install it before ``dockerd-entrypoint.sh``
(GitLab's documented ``CA_CERTIFICATE`` recipe) or mount ``/etc/docker/certs.d`` into services via
the runner's ``volumes``. A runner whose ``volumes`` mount the host's ``/etc/docker/daemon.json``
gives it to the dind service too (the runner binds its volumes into services:
executors/docker/docker.go:397 at v17.9.3), so the host's ``insecure-registries`` do reach that
daemon.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import derive, hostfacts
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding
from buildrig.doctor.kit import jobs, label
from buildrig.gitlab.model import ServiceSpec

ID = "BR110"
TITLE = "dind: registry CA or insecure registry configured outside the inner daemon"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/#docker-x509-certificate-signed-by-unknown-authority"
SYMPTOM = re.compile(
    r"server gave HTTP response to HTTPS client|x509: certificate signed by unknown authority",
    re.IGNORECASE,
)
_REGISTRY_USE = re.compile(r"(?<![\w./$-])docker\s+(?:push|pull|login|build|buildx\s+build)\b")
_HOST = re.compile(r"(?:Get|Head|Post) \"?https?://([^/\s\"]+)/v2/")
_CLIENT_TRUST = re.compile(
    r"/etc/docker/certs\.d|update-ca-certificates|/usr/local/share/ca-certificates|ca-certificates\.crt"
)


def _symptom_pointer(ctx: Context, jv: JobView, svc: ServiceSpec) -> Issue | None:
    """The user's error says the registry is plain HTTP or privately signed: the inner daemon's."""
    used = [ln for ln in F.script_lines(jv.job) if _REGISTRY_USE.search(ln.text)]
    if not used or F.command_has(svc, "--insecure-registry"):
        return None
    host = _HOST.search(ctx.symptom or "")
    reg = host.group(1) if host else "<registry>"
    plain = "HTTP response to HTTPS" in (ctx.symptom or "")
    said = (
        '"http: server gave HTTP response to HTTPS client" (the registry serves plain HTTP)'
        if plain
        else '"x509: certificate signed by unknown authority" (a private CA)'
    )
    fix = (
        f'Add command: ["--insecure-registry={reg}"] to the {svc.name} service.'
        if plain
        else "Install the registry's CA in the dind service before dockerd-entrypoint.sh (GitLab's "
        "CA_CERTIFICATE recipe), or mount /etc/docker/certs.d into services."
    )
    return finding(
        f"{label(jv.job)} talks to {reg} ({used[0].key}: {used[0].text.strip()[:60]!r}) through the "
        f"daemon in {svc.name}, which trusts only public CAs over HTTPS: {said} (not checked: curl -v "
        f"https://{reg}/v2/ from the runner host).",
        fix,
        loc=used[0].loc,
        job=jv.job.name,
        severity=Severity.WARNING,
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
        shared_config = bool(jv.runners) and all(
            F.shares_path(r, "/etc/docker/daemon.json") for r in jv.runners
        )
        missing = [
            reg
            for reg in insecure
            if reg.split("/", 1)[0] in used
            and not F.command_has(svc, "--insecure-registry")
            and not shared_config
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
        elif not missing and hostfacts.said(ctx, SYMPTOM):
            pointer = _symptom_pointer(ctx, jv, svc)
            if pointer is not None:
                yield pointer
        elif missing:
            yield finding(
                f"{label(jv.job)}: the host daemon trusts insecure registries {', '.join(missing)}, but the "
                f'dind daemon in {svc.name} does not; pulls and pushes there fail with "http: server gave '
                'HTTP response to HTTPS client".',
                f'Add command: ["--insecure-registry={missing[0]}"] to the {svc.name} service.',
                loc=svc.loc or jv.job.loc,
                job=jv.job.name,
            )
