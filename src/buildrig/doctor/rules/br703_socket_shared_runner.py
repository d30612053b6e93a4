"""BR703 — security: the host's Docker socket is given to job containers.

What it checks: a runner that binds the host's Docker socket into job containers (``[runners.docker]
volumes`` or a Kubernetes ``host_path``), whatever its tags. The message is stronger when the
runner also takes untagged jobs (``run_untagged = true``, no ``tags`` while other runners of the
file have some, or a name such as ``shared-...``): then any project's job lands there.

Why it matters: access to the socket is root on the host: ``docker run -v /:/host --privileged
...``. Every job that lands on the runner can read other projects' checkouts and secrets, stop the
runner's containers (``docker rm -f $(docker ps -aq)``) and take over the machine. Tags only choose
which jobs land there; they do not stop a job that selects the tag. GitLab's docs list this among
the socket-binding caveats.

Allowed risk: a runner that serves only trusted projects (a project runner, locked to its project,
on a host you accept losing to those projects' jobs) may keep the socket. Declare it in config.toml
with a comment line inside its ``[[runners]]`` entry::

    [[runners]]
      # buildrig: dedicated
      name = "image-builds"

doctor then stays silent for that runner (BR702, BR703 and BR704 honour the same marker). GitLab
keeps a runner's "locked to project" setting on the server, so the file cannot show it otherwise.

Fix: if the runner is not dedicated, build with dind on a dedicated privileged runner or
daemonless (kaniko, Buildah, rootless BuildKit) instead; if it is, add the marker.

Docs: https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR703"
TITLE = "security: the host's Docker socket is bound into job containers"
SEVERITY = Severity.WARNING
CATEGORY = Category.SECURITY
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-docker-executor-with-docker-socket-binding"


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is None:
        return
    for r in ctx.runner_config.runners:
        if r.dedicated is not None:
            continue  # declared dedicated to trusted projects: an accepted risk
        m = u.socket_mount(r) if u.is_docker_executor(r) else None
        kube = u.kube_socket_volume(r) if u.is_kubernetes(r) else None
        if m is None and kube is None:
            continue
        what = f"volume \"{m.raw}\"" if m is not None else f"host_path {kube}"
        loc = u.docker_loc(r, "volumes") if m is not None else u.kube_loc(r, "volumes")
        if u.is_shared(r, ctx.runner_config):
            why = "run_untagged = true" if r.run_untagged else "it is a shared runner taking untagged jobs"
            who = f"{why}: any job of any project that lands there"
            fix = ("Tag the runner (tags = [\"docker-sock\"], run_untagged = false) and keep it for "
                   "trusted projects' image builds, or use dind/daemonless builds on shared runners.")
        else:
            who = "every job that selects it"
            fix = ("Keep it for trusted projects only and declare that with a '# buildrig: dedicated' "
                   "line in its [[runners]] entry, or build with dind/daemonless builds instead.")
        yield finding(
            f"{u.rname(r)} gives job containers the host's Docker socket ({what}, {loc}) and {who} "
            "is root on the host (docker run -v /:/host ...) and can reach other jobs' containers "
            "and secrets.",
            fix,
            loc=loc,
        )
