"""BR207 — docker_sock: the job container runs as a non-root user that may not use the socket.

What it checks: a job on a runner that binds the host socket, whose container user is forced to
a non-root uid (``[runners.docker] user``, or ``image: {docker: {user: ...}}``) without
``group_add`` giving it the socket's group.

Why it fails: the bound socket keeps the host's ownership (``root:docker``, mode 0660), and the
container user is neither root nor in a group with the host ``docker`` group's gid::

    permission denied while trying to connect to the Docker daemon socket at
    unix:///var/run/docker.sock: ... dial unix /var/run/docker.sock: connect: permission denied

Fix: add the host docker group's gid to the container (``[runners.docker] group_add =
["<gid of docker on the host>"]``, e.g. from ``stat -c %g /var/run/docker.sock``), or run the job
as root.

Docs: https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnersdocker-section
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR207"
TITLE = "docker_sock: non-root job user without the socket's group"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runnersdocker-section"


def _non_root(user: str | None) -> bool:
    return user is not None and user.strip().split(":")[0] not in ("", "0", "root")


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        lines = u.daemon_docker_lines(jv.job)
        if not lines or u.dind_services(jv.job):
            continue
        for r in jv.runners:
            if not u.is_docker_executor(r) or r.docker is None or u.socket_mount(r) is None:
                continue
            if r.docker.raw.get("group_add"):
                continue
            img_user = jv.job.image.user if jv.job.image is not None else None
            user = img_user if _non_root(img_user) else r.docker.user if _non_root(r.docker.user) else None
            if user is None:
                continue
            where = u.image_loc(jv.job) if _non_root(img_user) else u.docker_loc(r, "user")
            yield finding(
                f"{u.jname(jv.job)} runs as user '{user}' ({where}) on {u.rname(r)}, which binds the "
                "host's Docker socket without group_add: the socket is root:docker 0660 on the host, "
                "so docker fails with \"permission denied while trying to connect to the Docker "
                "daemon socket\".",
                "Add group_add = [\"<gid of the host's docker group>\"] to [runners.docker] "
                "(stat -c %g /var/run/docker.sock), or run the job as root.",
                loc=where,
                job=jv.job.name,
            )
            break
