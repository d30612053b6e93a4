"""BR206 — docker_sock: SELinux blocks job containers from the bound socket and host paths.

What it checks: the daemon config has ``"selinux-enabled": true`` and a Docker-executor runner
bind-mounts the host socket (or other host paths) into job containers without telling SELinux:
no ``security_opt = ["label=disable"]`` (or ``label:disable``), not privileged, and no ``:z``/``:Z``
on other host bind mounts.

Why it fails: containers run as ``container_t``; the socket is ``container_runtime_t`` and host
directories keep their own labels, so access is denied even for root (the audit log shows ``avc:
denied { connectto } ... path="/run/docker.sock"``)::

    Got permission denied while trying to connect to the Docker daemon socket at
    unix:///var/run/docker.sock: ... connect: permission denied

``--live`` on the runner host reads ``/sys/fs/selinux/enforce`` and the engine's security options:
enforcing with an SELinux-labelling engine makes the socket finding an ERROR; otherwise nothing.
The error text the job printed (``--symptom``: the "permission denied" above, or an ``avc: denied``)
makes it a WARNING naming the check (``getenforce``).

Fix: for the socket, ``security_opt = ["label=disable"]`` in ``[runners.docker]`` (never relabel the
socket with ``:z``/``:Z``: that breaks the daemon's own access). For data directories, add ``:z``
(shared) to the volume. Without ``selinux-enabled`` in daemon.json this rule cannot tell: the
host may still enforce SELinux.

Docs: https://docs.docker.com/engine/storage/bind-mounts/#configure-the-selinux-label
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR206"
TITLE = "docker_sock: SELinux denies the bound socket or host paths to job containers"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/storage/bind-mounts/#configure-the-selinux-label"



SYMPTOM = re.compile(
    r"permission denied while trying to connect to the docker daemon socket|avc: +denied",
    re.IGNORECASE,
)


def _selinux(ctx: Context) -> tuple[str, Severity] | None:
    """Where SELinux labelling is known from, and the severity that gives the socket finding."""
    d = ctx.daemon
    if d is not None and d.selinux_enabled is True:
        dloc = d.key_locs.get("selinux-enabled") or d.key_locs.get("--selinux-enabled")
        return (f" ({dloc})" if dloc else ""), Severity.WARNING
    live = ctx.live
    confirmed = None
    if live is not None and live.selinux_enforcing is not None:
        confirmed = bool(live.selinux_enforcing and live.selinux_labels)
    severity = hostfacts.grade(ctx, SYMPTOM, confirmed=confirmed)
    if severity is None or severity is Severity.INFO:
        return None  # nothing says SELinux is on: every socket runner would get this pointer
    if confirmed:
        return " (this host enforces SELinux and the engine labels containers)", severity
    return (" if the host enforces it (not checked: getenforce; docker info --format "
            "'{{.SecurityOptions}}' lists name=selinux)"), severity


def check(ctx: Context) -> Iterator[Issue]:
    known = _selinux(ctx)
    if known is None or ctx.runner_config is None:
        return
    dwhere, severity = known
    for r in ctx.runner_config.runners:
        if not u.is_docker_executor(r) or r.docker is None or r.docker.privileged:
            continue
        opts = u.security_opts(r)
        label_off = any(o in ("label:disable", "label:type:spc_t") for o in opts)
        sock = u.socket_mount(r)
        if sock is not None and not label_off:
            yield finding(
                f"dockerd has SELinux enabled{dwhere} and {u.rname(r)} binds \"{sock.raw}\" "
                f"({u.docker_loc(r, 'volumes')}) without security_opt label=disable: job "
                "containers (container_t) may not connect to the socket, and docker fails with "
                "\"Got permission denied while trying to connect to the Docker daemon socket\".",
                "Add security_opt = [\"label=disable\"] to that runner's [runners.docker]; do not "
                "relabel the socket with :z/:Z.",
                loc=u.docker_loc(r, "volumes"),
                severity=severity,
            )
        for m in u.docker_mounts(r):
            if m is sock or m.host_path is None or label_off or m.label:
                continue
            yield finding(
                f"dockerd has SELinux enabled{dwhere} and {u.rname(r)} bind-mounts the host path "
                f"\"{m.raw}\" ({u.docker_loc(r, 'volumes')}) without :z: reads and writes there "
                "fail with \"Permission denied\" inside the job.",
                f"Use \"{m.with_label('z')}\" (shared label).",
                loc=u.docker_loc(r, "volumes"),
                severity=Severity.WARNING,
            )
