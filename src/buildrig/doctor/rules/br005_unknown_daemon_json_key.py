"""Input: daemon.json has a directive dockerd does not know.

dockerd refuses to start on an unknown directive in daemon.json, so a typo takes the whole build
host down::

    unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives
    don't match any configuration option: insecure-registry

Keys one typo away from a known directive are errors; other unknown keys are warnings (doctor's
list may lag new dockerd releases).

Fix: correct the directive (``insecure-registries``, ``registry-mirrors``, ...), then
``systemctl restart docker``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR005"
TITLE = "input: unknown daemon.json directive (dockerd will not start)"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file"

DAEMON_KEYS = frozenset(
    {
        "allow-direct-routing", "allow-nondistributable-artifacts", "api-cors-header",
        "authorization-plugins", "bip", "bip6", "bridge", "builder", "cdi-spec-dirs",
        "cgroup-parent", "cluster-advertise", "cluster-store", "cluster-store-opts", "containerd",
        "containerd-namespace", "containerd-plugins-namespace", "cpu-rt-period", "cpu-rt-runtime",
        "data-root", "debug", "default-address-pools", "default-cgroupns-mode", "default-gateway",
        "default-gateway-v6", "default-ipc-mode", "default-network-opts", "default-runtime",
        "default-shm-size", "default-ulimits", "dns", "dns-opts", "dns-search", "exec-opts",
        "exec-root", "experimental", "features", "firewall-backend", "fixed-cidr", "fixed-cidr-v6",
        "group", "host-gateway-ip", "host-gateway-ips", "hosts", "http-proxy", "https-proxy", "icc",
        "init", "init-path", "insecure-registries", "ip", "ip-forward", "ip-forward-no-drop",
        "ip-masq", "ip6tables", "iptables", "ipv6", "labels", "live-restore", "log-driver",
        "log-format", "log-level", "log-opts", "max-concurrent-downloads", "max-concurrent-uploads",
        "max-download-attempts", "metrics-addr", "min-api-version", "mtu", "no-new-privileges",
        "no-proxy", "node-generic-resources", "oom-score-adjust", "pidfile", "proxies", "raw-logs",
        "registry-mirrors", "runtimes", "seccomp-profile", "selinux-enabled", "shutdown-timeout",
        "storage-driver", "storage-opts", "swarm-default-advertise-addr", "tls", "tlscacert",
        "tlscert", "tlskey", "tlsverify", "userland-proxy", "userland-proxy-path", "userns-remap",
    }
)  # fmt: skip


#: Unknown keys reported one by one; dockerd names them all in one line and stops, and a
#: daemon.json of 40,000 made-up keys must not cost 40,000 fuzzy matches and findings.
MAX_REPORTED = 20
_SORTED = sorted(DAEMON_KEYS)


def check(ctx: Context) -> Iterator[Issue]:
    d = ctx.daemon
    if d is None:
        return
    unknown = [key for key in d.raw_json if key not in DAEMON_KEYS]
    if len(unknown) > MAX_REPORTED:
        rest = unknown[MAX_REPORTED:]
        yield finding(
            f"daemon.json: {len(rest):,} more keys are not dockerd directives (the first: '{rest[0]}'); "
            "dockerd refuses to start.",
            "Remove the keys `dockerd --help` does not list.",
            loc=d.key_locs.get(rest[0]),
            severity=Severity.WARNING,
        )
    for key in unknown[:MAX_REPORTED]:
        close = difflib.get_close_matches(key, _SORTED, n=1, cutoff=0.8)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        yield finding(
            f"daemon.json: '{key}' is not a dockerd directive{hint}; dockerd refuses to start: \"unable to "
            f"configure the Docker daemon with file ...: the following directives don't match any "
            f'configuration option: {key}".',
            f"Rename '{key}' to '{close[0]}'." if close else f"Remove '{key}' (check `dockerd --help`).",
            loc=d.key_locs.get(key),
            severity=Severity.ERROR if close else Severity.WARNING,
        )
