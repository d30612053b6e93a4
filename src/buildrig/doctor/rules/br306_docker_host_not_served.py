"""docker_host: the daemon does not listen where ``DOCKER_HOST`` points.

Compares the job's ``DOCKER_HOST`` with the TCP listeners of the daemon configuration given
(daemon.json ``hosts`` and the unit's ``-H`` flags): no TCP listener at all, another port, or a
loopback-only address (``127.0.0.1`` is unreachable from other machines and from containers)::

    Cannot connect to the Docker daemon at tcp://10.0.0.5:2376. Is the docker daemon running?

Fix: make dockerd listen on the build host's private address and the port the job uses
(``-H tcp://10.0.0.5:2376 --tlsverify ...`` in a drop-in, or ``hosts`` in daemon.json), or change
``DOCKER_HOST``.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, var_loc

ID = "BR306"
TITLE = "docker_host: the daemon has no listener at DOCKER_HOST"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/daemon/remote-access/"


def check(ctx: Context) -> Iterator[Issue]:
    d = ctx.daemon
    if d is None:
        return
    if d.hosts_flags and d.hosts_json:
        return  # dockerd does not start at all: BR305
    hosts = d.hosts_flags or d.hosts_json
    if not hosts and not d.exec_start and not d.raw_json:
        return
    listeners = [ep for ep in (F.parse_endpoint(h) for h in hosts) if ep is not None and ep.scheme == "tcp"]
    for jv in jobs(ctx, "docker_host"):
        ep = endpoint(jv.env)
        if ep is None or ep.scheme != "tcp" or ep.is_loopback:
            continue
        if not listeners:
            why = f"dockerd has no TCP listener (hosts: {', '.join(hosts) or 'the default unix socket only'})"
        else:
            same_port = [lst for lst in listeners if lst.port == ep.port]
            if not same_port:
                ports = ", ".join(str(lst.port) for lst in listeners)
                why = f"dockerd listens on TCP port {ports}, not {ep.port}"
            elif all(lst.is_loopback and lst.host != "0.0.0.0" for lst in same_port):
                why = f"dockerd listens on {same_port[0].raw}, reachable only from the host itself"
            else:
                continue
        yield finding(
            f'{label(jv.job)}: DOCKER_HOST={ep.raw} but {why}; the job fails with "Cannot connect to the '
            f'Docker daemon at {ep.raw}. Is the docker daemon running?".',
            f"Make dockerd listen on the host's private address and port {ep.port} (with --tlsverify), or "
            "change DOCKER_HOST.",
            loc=var_loc(jv.env.get("DOCKER_HOST"), jv.job, "variables"),
            job=jv.job.name,
            severity=Severity.ERROR if not listeners else Severity.WARNING,
        )
