"""BR703 — security: the host's Docker socket is given to untagged (any) jobs.

What it checks: a runner that binds the host's Docker socket into job containers (``[runners.docker]
volumes`` or a Kubernetes ``host_path``) and runs untagged jobs (``run_untagged = true``, no
``tags`` while other runners of the file have some, or a name such as ``shared-...``).

Why it matters: access to the socket is root on the host: ``docker run -v /:/host --privileged
...``. Every job that lands on the runner can read other projects' checkouts and secrets, stop the
runner's containers (``docker rm -f $(docker ps -aq)``) and take over the machine. GitLab's docs
list this among the socket-binding caveats.

Fix: tag the runner (``tags = ["docker-sock"]``, ``run_untagged = false``) and use it only for
trusted projects' image builds; prefer dind on a dedicated privileged runner or daemonless builds
for shared runners.

Docs: https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR703"
TITLE = "security: Docker socket bound on a runner that takes untagged jobs"
SEVERITY = Severity.WARNING
CATEGORY = Category.SECURITY
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding"


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is None:
        return
    for r in ctx.runner_config.runners:
        if not u.is_shared(r, ctx.runner_config):
            continue
        m = u.socket_mount(r) if u.is_docker_executor(r) else None
        kube = u.kube_socket_volume(r) if u.is_kubernetes(r) else None
        if m is None and kube is None:
            continue
        what = f"volume \"{m.raw}\"" if m is not None else f"host_path {kube}"
        loc = u.docker_loc(r, "volumes") if m is not None else u.kube_loc(r, "volumes")
        why = "run_untagged = true" if r.run_untagged else "it is a shared runner that takes untagged jobs"
        yield finding(
            f"{u.rname(r)} gives job containers the host's Docker socket ({what}, {loc}) and {why}: "
            "any job that lands there is root on the host (docker run -v /:/host ...) and can "
            "reach other jobs' containers and secrets.",
            "Tag the runner (tags = [\"docker-sock\"], run_untagged = false) and let only trusted "
            "image-build jobs select it, or use dind/daemonless builds on shared runners.",
            loc=loc,
        )
