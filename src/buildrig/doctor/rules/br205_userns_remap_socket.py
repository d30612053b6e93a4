"""BR205 — docker_sock: dockerd runs with ``userns-remap``, so job containers cannot use its socket.

What it checks: the daemon config enables ``userns-remap`` and a Docker-executor runner binds the
host socket into job containers without ``userns_mode = "host"`` in ``[runners.docker]``.

Why it fails: with user-namespace remapping, root in the job container is an unprivileged
subordinate uid on the host; the socket is ``root:docker`` mode 0660 on the host, so the client
is refused::

    Got permission denied while trying to connect to the Docker daemon socket at
    unix:///var/run/docker.sock: ... connect: permission denied

(privileged containers, e.g. a dind service, are refused by a remapped daemon for the same
reason unless they run with ``--userns=host``).

Fix: set ``userns_mode = "host"`` in that runner's ``[runners.docker]`` (the job container then
runs in the host user namespace, which is what socket binding means anyway), or stop binding the
socket and build daemonless (Buildah, rootless BuildKit).

Docs: https://docs.docker.com/engine/security/userns-remap/#disable-namespace-remapping-for-a-container
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR205"
TITLE = "docker_sock: userns-remap daemon refuses the bound socket to job containers"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/security/userns-remap/#disable-namespace-remapping-for-a-container"


def check(ctx: Context) -> Iterator[Issue]:
    d = ctx.daemon
    if d is None or not d.userns_remap or ctx.runner_config is None:
        return
    dloc = d.key_locs.get("userns-remap") or d.key_locs.get("--userns-remap")
    dwhere = f" ({dloc})" if dloc else ""
    for r in ctx.runner_config.runners:
        if not u.is_docker_executor(r) or r.docker is None:
            continue
        m = u.socket_mount(r)
        if m is None or (r.docker.userns_mode or "").lower() == "host":
            continue
        jobs = [jv.job.name for jv in ctx.jobs if r in jv.runners]
        jobs_txt = f" (jobs: {', '.join(jobs)})" if jobs else ""
        yield finding(
            f"dockerd runs with userns-remap={d.userns_remap}{dwhere} and {u.rname(r)} binds "
            f"\"{m.raw}\" ({u.docker_loc(r, 'volumes')}) without userns_mode = \"host\"{jobs_txt}: "
            "root in the job is an unprivileged host uid, so docker fails with \"Got permission "
            "denied while trying to connect to the Docker daemon socket at "
            "unix:///var/run/docker.sock\".",
            "Add userns_mode = \"host\" to that runner's [runners.docker], or stop binding the "
            "socket and build daemonless (Buildah, rootless BuildKit).",
            loc=u.docker_loc(r, "volumes"),
            job=jobs[0] if len(jobs) == 1 else None,
        )
