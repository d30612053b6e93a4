"""docker_host: the daemon's certificate does not name the address the job uses.

The CLI checks that the host in ``DOCKER_HOST`` is among the server certificate's subject
alternative names. A certificate made for ``docker.example.com`` or ``127.0.0.1`` does not cover
``tcp://10.0.0.5:2376``::

    tls: failed to verify certificate: x509: certificate is valid for 127.0.0.1, not 10.0.0.5

Checked when the daemon's ``tlscert`` (daemon.json or ``--tlscert``) is readable where doctor
runs.

Fix: reissue the server certificate with ``subjectAltName = IP:10.0.0.5`` (and every name jobs
use), or use a name the certificate has in ``DOCKER_HOST``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, tls_on, var_loc

ID = "BR304"
TITLE = "docker_host: DOCKER_HOST address not in the daemon certificate's SANs"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/security/protect-access/#use-tls-https-to-protect-the-docker-daemon-socket"


def _covered(host: str, sans: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    for san in sans:
        kind, _, value = san.partition(":")
        if ip is not None and kind == "IP":
            try:
                if ipaddress.ip_address(value) == ip:
                    return True
            except ValueError:
                continue
        elif ip is None and kind == "DNS":
            if value.lower() == host.lower():
                return True
            if (
                value.startswith("*.")
                and host.lower().endswith(value[1:].lower())
                and host.count(".") == value.count(".")
            ):
                return True
    return False


def check(ctx: Context) -> Iterator[Issue]:
    sans = ctx.daemon.tlscert_sans if ctx.daemon is not None else None
    if not sans and sans != ():
        return
    assert sans is not None
    for jv in jobs(ctx, "docker_host"):
        ep = endpoint(jv.env)
        if ep is None or ep.scheme != "tcp" or ep.host is None or not (tls_on(jv.env) or ep.port == 2376):
            continue
        if _covered(ep.host, sans):
            continue
        listed = ", ".join(s.partition(":")[2] for s in sans) or "no names"
        ip_hint = ""
        try:
            ipaddress.ip_address(ep.host)
            if not any(s.startswith("IP:") for s in sans):
                ip_hint = (
                    f"\"x509: cannot validate certificate for {ep.host} because it doesn't contain any "
                    'IP SANs"'
                )
        except ValueError:
            pass
        kind = "IP" if ep.host.replace(".", "").isdigit() or ":" in ep.host else "DNS"
        symptom = (
            ip_hint
            or f'"tls: failed to verify certificate: x509: certificate is valid for {listed}, not {ep.host}"'
        )
        yield finding(
            f"{label(jv.job)} connects to {ep.raw} but the daemon's certificate "
            f"({ctx.daemon.tlscert if ctx.daemon else '?'}) names only {listed}; the job fails with "
            f"{symptom}.",
            f"Reissue the server certificate with subjectAltName {kind}:{ep.host}, or use a name it has "
            "in DOCKER_HOST.",
            loc=var_loc(jv.env.get("DOCKER_HOST"), jv.job, "variables"),
            job=jv.job.name,
        )
