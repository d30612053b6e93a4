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

Without a daemon config that says so, remapping is a host fact: ``--live`` on the runner host reads
the engine's security options (``name=userns``): ERROR when set, nothing otherwise; the error text
the job printed (``--symptom``, the "permission denied" above) makes it a WARNING naming the check.

Fix: set ``userns_mode = "host"`` in that runner's ``[runners.docker]`` (the job container then
runs in the host user namespace, which is what socket binding means anyway), or stop binding the
socket and build daemonless (Buildah, rootless BuildKit).

Docs: https://docs.docker.com/engine/security/userns-remap/#disable-namespace-remapping-for-a-container
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR205"
TITLE = "docker_sock: userns-remap daemon refuses the bound socket to job containers"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/security/userns-remap/#disable-namespace-remapping-for-a-container"



SYMPTOM = re.compile(
    r"permission denied while trying to connect to the docker daemon socket"
    r"|docker\.sock:? .*permission denied",
    re.IGNORECASE,
)


def check(ctx: Context) -> Iterator[Issue]:
    d = ctx.daemon
    if ctx.runner_config is None:
        return
    if d is not None and d.userns_remap:
        dloc = d.key_locs.get("userns-remap") or d.key_locs.get("--userns-remap")
        said = f"userns-remap={d.userns_remap}" + (f" ({dloc})" if dloc else "")
        severity: Severity | None = Severity.ERROR
    else:
        live = ctx.live
        confirmed = live.userns_remap if live is not None else None
        severity = hostfacts.grade(ctx, SYMPTOM, confirmed=confirmed, shape=Severity.INFO)
        if severity is None or (severity is Severity.INFO):
            return  # no daemon file, nothing said: every socket runner would get this pointer
        said = ("userns-remap (docker info on this host lists name=userns)" if confirmed else
                "userns-remap if its daemon.json sets it (not checked: docker info --format "
                "'{{.SecurityOptions}}' on the runner host lists name=userns)")
    for r in ctx.runner_config.runners:
        if not u.is_docker_executor(r) or r.docker is None:
            continue
        m = u.socket_mount(r)
        if m is None or (r.docker.userns_mode or "").lower() == "host":
            continue
        jobs = [jv.job.name for jv in ctx.jobs if r in jv.runners]
        jobs_txt = f" (jobs: {', '.join(jobs)})" if jobs else ""
        yield finding(
            f"dockerd runs with {said} and {u.rname(r)} binds "
            f"\"{m.raw}\" ({u.docker_loc(r, 'volumes')}) without userns_mode = \"host\"{jobs_txt}: "
            "root in the job is an unprivileged host uid, so docker fails with \"Got permission "
            "denied while trying to connect to the Docker daemon socket at "
            "unix:///var/run/docker.sock\".",
            "Add userns_mode = \"host\" to that runner's [runners.docker], or stop binding the "
            "socket and build daemonless (Buildah, rootless BuildKit).",
            loc=u.docker_loc(r, "volumes"),
            job=jobs[0] if len(jobs) == 1 else None,
            severity=severity,
        )
