"""BR701 — security: dockerd listens on TCP without TLS client verification, or on every interface.

What it checks, for each ``tcp://`` address in daemon.json ``hosts`` and the unit's ``-H`` flags:

- no ``tlsverify`` (with or without ``tls``): anyone who reaches the port controls the daemon,
  which is root on the host (``docker -H tcp://host:2375 run -v /:/host ...``). ERROR on every
  interface (``0.0.0.0``) or a public address; WARNING on a private or loopback address (every
  machine of that network, or every local user and host-network container, can reach it);
- ``tlsverify`` but bound to ``0.0.0.0``/``::``/a public address: the API is exposed beyond the
  private network the runner uses (WARNING).

Symptom: none in the job log; scanners find port 2375/2376 open, and exposed daemons are
routinely hijacked for cryptomining.

Fix: ``--tlsverify`` with ``tlscacert``/``tlscert``/``tlskey`` (clients need a cert signed by that
CA), and bind to the private address the runner reaches (``tcp://10.0.0.5:2376``), or drop TCP and
use the socket or SSH (``DOCKER_HOST=ssh://``).

Docs: https://docs.docker.com/engine/security/protect-access/
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.errors import Loc

ID = "BR701"
TITLE = "security: dockerd TCP listener without TLS verification or on all interfaces"
SEVERITY = Severity.ERROR
CATEGORY = Category.SECURITY
DOCS = "https://docs.docker.com/engine/security/protect-access/"


def _host_of(addr: str) -> str:
    rest = addr[len("tcp://") :].split("/")[0]
    if rest.startswith("["):
        return rest[1 : rest.find("]")]
    return rest.rsplit(":", 1)[0] if ":" in rest else rest


def _scope(host: str) -> str:
    """loopback, private, any (all interfaces) or public; names count as private."""
    if host in ("", "0.0.0.0", "::", "*"):
        return "any"
    if host == "localhost":
        return "loopback"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "private"
    if ip.is_loopback:
        return "loopback"
    if ip.is_private or ip.is_link_local:
        return "private"
    return "public"


def check(ctx: Context) -> Iterator[Issue]:
    d = ctx.daemon
    if d is None:
        return
    sources: list[tuple[str, Loc | None]] = [(h, d.key_locs.get("hosts")) for h in d.hosts_json]
    sources += [(h, d.key_locs.get("-H") or d.key_locs.get("--host")) for h in d.hosts_flags]
    verify = d.tlsverify is True
    for addr, loc in sources:
        if not addr.startswith("tcp://"):
            continue
        scope = _scope(_host_of(addr))
        where = f" ({loc})" if loc else ""
        if not verify:
            mode = "with TLS but without client verification" if d.tls else "without TLS"
            yield finding(
                f"dockerd listens on {addr}{where} {mode}: whoever reaches that port controls the "
                "daemon, i.e. root on the host"
                + (" (here: every local user and host-network container)." if scope == "loopback"
                   else f" ({'all interfaces' if scope == 'any' else scope + ' address'})."),
                "Enable tlsverify with tlscacert/tlscert/tlskey (clients present a cert from your "
                "CA) and bind to the private address the runner uses, or drop the TCP listener.",
                loc=loc,
                severity=Severity.ERROR if scope in ("any", "public") else Severity.WARNING,
            )
        elif scope in ("any", "public"):
            yield finding(
                f"dockerd listens on {addr}{where} "
                + ("on every interface" if scope == "any" else "on a public address")
                + ": even with TLS verification the API is reachable from beyond the private "
                "network the runner uses.",
                "Bind to the private address the runner reaches (e.g. tcp://10.0.0.5:2376) and "
                "firewall the port to the runner hosts.",
                loc=loc,
                severity=Severity.WARNING,
            )
