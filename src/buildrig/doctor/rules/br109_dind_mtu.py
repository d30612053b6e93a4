"""dind: the inner daemon's MTU is larger than the network's.

The dind daemon creates its bridge with MTU 1500 and does not inherit the runner's network MTU.
Where the outer network is smaller (VPNs, cloud overlays, ``network_mtu`` on the runner, an
``mtu`` in the host's daemon.json, Kubernetes overlays at 1450), large packets from build
containers are dropped: pulls and ``apt-get``/``curl`` inside ``docker build`` hang or fail with::

    curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to deb.debian.org:443

The outer MTU is a host fact unless config.toml or daemon.json states it. Given the error text
the job printed (``--symptom``: TLS handshakes that hang or time out, ``SSL_ERROR_SYSCALL``) a dind
job without ``--mtu`` gets a WARNING naming the check (``ip link`` on the runner host); ``--live``
on the runner host reads the MTU of its default-route interface: ERROR below 1500, nothing at 1500.

Fix: start the service with the network's MTU, e.g. ``command: ["--mtu=1360"]`` (GitLab.com
small runners) or ``["--mtu=1450"]`` (Kubernetes overlays).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import derive, hostfacts
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, label

ID = "BR109"
TITLE = "dind: inner daemon MTU (1500) larger than the outer network's"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/runner/executors/docker/#configure-the-network-mtu"
SYMPTOM = re.compile(
    r"TLS handshake (?:timeout|until)|hang in the TLS handshake|SSL_ERROR_SYSCALL|handshake timed out"
    r"|net/http: TLS handshake timeout",
    re.IGNORECASE,
)


def check(ctx: Context) -> Iterator[Issue]:
    daemon_mtu = ctx.daemon.mtu if ctx.daemon is not None else None
    for jv in jobs(ctx):
        services = [s for s in derive.dind_services(jv.job, jv.runners) if not F.command_has(s, "--mtu")]
        if not services:
            continue
        svc = services[0]
        evidence = []
        for r in jv.runners:
            if r.docker is not None and r.docker.network_mtu and r.docker.network_mtu < 1500:
                evidence.append(
                    (f"runner '{r.name}' sets network_mtu = {r.docker.network_mtu}", r.docker.network_mtu)
                )
        if daemon_mtu and daemon_mtu < 1500:
            evidence.append((f"the host daemon runs with mtu {daemon_mtu}", daemon_mtu))
        kube = bool(jv.runners) and all(F.is_kubernetes(r) for r in jv.runners)
        if evidence:
            mtu = min(m for _, m in evidence)
            why = "; ".join(e for e, _ in evidence)
            severity = Severity.WARNING
        else:
            live_mtu = ctx.live.uplink_mtu if ctx.live is not None else None
            confirmed = None if live_mtu is None else live_mtu < 1500
            graded = hostfacts.grade(ctx, SYMPTOM, confirmed=confirmed)
            if graded is None or (graded is Severity.INFO and not kube):
                continue
            severity = graded
            if confirmed and live_mtu is not None:
                mtu, why = live_mtu, f"this host's default-route interface has MTU {live_mtu}"
            elif kube:
                mtu = 1450
                why = ("Kubernetes pod networks are usually overlays below 1500 "
                       f"{hostfacts.not_checked(ctx, 'ip link on a node')}")
            else:
                mtu = 1360
                why = ("the runner's network may be smaller (GitLab-hosted runners: 1360) "
                       f"{hostfacts.not_checked(ctx, 'ip link on the runner host')}")
        yield finding(
            f"{label(jv.job)}: {svc.name} runs its bridge at MTU 1500 but {why}; pulls and downloads "
            'inside the build hang or fail with "curl: (35) ... SSL_ERROR_SYSCALL".',
            f'Add command: ["--mtu={mtu}"] to the {svc.name} service.',
            loc=svc.loc or jv.job.loc,
            job=jv.job.name,
            severity=severity,
        )
