"""docker_host: port 2376 (TLS) but the client does not speak TLS.

2376 is Docker's TLS port. Without ``DOCKER_TLS_VERIFY`` (or ``--tlsverify``) the CLI sends plain
HTTP to it and the daemon answers::

    Error response from daemon: Client sent an HTTP request to an HTTPS server.

Fix: set ``DOCKER_TLS_VERIFY: "1"`` and ``DOCKER_CERT_PATH`` to a directory holding ``ca.pem``,
``cert.pem`` and ``key.pem`` (written in ``before_script`` from CI/CD variables).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, tls_on, var_loc

ID = "BR302"
TITLE = "docker_host: TLS port 2376 without TLS on the client"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/security/protect-access/#use-tls-https-to-protect-the-docker-daemon-socket"
_TLS_FLAG = re.compile(r"--tls(verify)?\b|DOCKER_TLS_VERIFY=\S")


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "docker_host"):
        ep = endpoint(jv.env)
        if ep is None or ep.scheme != "tcp" or ep.port != 2376 or tls_on(jv.env):
            continue
        if any(_TLS_FLAG.search(ln.text) for ln in F.script_lines(jv.job)):
            continue
        yield finding(
            f"{label(jv.job)}: DOCKER_HOST={ep.raw} is Docker's TLS port but DOCKER_TLS_VERIFY is not set, "
            'so the client speaks plain HTTP: "Error response from daemon: Client sent an HTTP request to '
            'an HTTPS server."',
            'Set DOCKER_TLS_VERIFY: "1" and DOCKER_CERT_PATH to the directory with ca.pem, cert.pem and '
            "key.pem (written in before_script from CI/CD variables).",
            loc=var_loc(jv.env.get("DOCKER_HOST"), jv.job, "variables"),
            job=jv.job.name,
        )
