"""docker_host: the daemon's TLS certificate has expired or expires soon.

Certificates made by hand for the docker_host set-up (openssl one-liners, 365 days) expire
silently; from that day every job fails with::

    tls: failed to verify certificate: x509: certificate has expired or is not yet valid

Checked when the daemon's ``tlscert`` is readable where doctor runs (on the build host, or next
to the certificates ``buildrig init`` generated). Error once expired, warning within 30 days.

Fix: issue a new server certificate from the same CA (same subjectAltNames), install it and
restart dockerd (``systemctl restart docker``); re-running ``buildrig init`` renews generated ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR311"
TITLE = "docker_host: daemon TLS certificate expired or expiring within 30 days"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = (
    "https://docs.docker.com/engine/security/protect-access/#create-a-ca-server-and-client-keys-with-openssl"
)
SOON = timedelta(days=30)


def check(ctx: Context) -> Iterator[Issue]:
    d = ctx.daemon
    if d is None or d.tlscert_not_after is None:
        return
    now = datetime.now(UTC)
    left = d.tlscert_not_after - now
    if left > SOON:
        return
    expired = left <= timedelta(0)
    when = d.tlscert_not_after.strftime("%Y-%m-%d")
    yield finding(
        f"the daemon's server certificate ({d.tlscert}) "
        + (f"expired on {when}" if expired else f"expires on {when}, in {left.days} days")
        + '; jobs connecting over TLS fail with "x509: certificate has expired or is not yet valid".',
        "Issue a new server certificate from the same CA with the same subjectAltNames, install it and "
        "restart dockerd.",
        loc=d.key_locs.get("tlscert") or d.key_locs.get("--tlscert") or d.exec_start_loc,
        severity=Severity.ERROR if expired else Severity.WARNING,
    )
