"""docker_host: client and daemon disagree on TLS.

A client with ``DOCKER_TLS_VERIFY`` talking to a daemon that listens without TLS fails with::

    error during connect: ... tls: first record does not look like a TLS handshake

and a plain client talking to a ``--tlsverify`` daemon on a port other than 2376 fails with::

    Error response from daemon: Client sent an HTTP request to an HTTPS server.

Fix: use TLS on both sides (``--tlsverify`` with ``tlscacert``/``tlscert``/``tlskey`` on the daemon,
``DOCKER_TLS_VERIFY: "1"`` plus client certificates in the job).
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, tls_on, var_loc

ID = "BR307"
TITLE = "docker_host: TLS on one side only (client vs daemon)"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/security/protect-access/"


def check(ctx: Context) -> Iterator[Issue]:
    d = ctx.daemon
    if d is None or not (d.hosts_flags or d.hosts_json):
        return
    daemon_tls = bool(d.tlsverify or d.tls)
    for jv in jobs(ctx, "docker_host"):
        ep = endpoint(jv.env)
        if ep is None or ep.scheme != "tcp":
            continue
        client_tls = tls_on(jv.env)
        if client_tls and not daemon_tls:
            what = "the job verifies TLS (DOCKER_TLS_VERIFY) but dockerd has no --tlsverify/--tls"
            symptom = "error during connect: ... tls: first record does not look like a TLS handshake"
        elif daemon_tls and not client_tls and ep.port != 2376:
            what = "dockerd requires TLS (--tlsverify) but the job does not set DOCKER_TLS_VERIFY"
            symptom = "Error response from daemon: Client sent an HTTP request to an HTTPS server."
        else:
            continue
        yield finding(
            f'{label(jv.job)}: {what}; the job fails with "{symptom}".',
            "Use TLS on both sides: dockerd --tlsverify with its CA and server key pair, "
            'DOCKER_TLS_VERIFY: "1" and client certificates in the job.',
            loc=var_loc(jv.env.get("DOCKER_TLS_VERIFY") or jv.env.get("DOCKER_HOST"), jv.job, "variables"),
            job=jv.job.name,
        )
