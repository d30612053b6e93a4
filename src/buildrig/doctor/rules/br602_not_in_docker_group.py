"""BR602 — shell/runner: the shell executor's user may not use the Docker socket.

What it checks (needs ``--live``): a job runs ``docker`` on a shell-executor runner and the user
the runner runs builds as (``gitlab-runner`` by default) is neither root nor a member of the group
that owns the socket (``docker``).

Why it fails::

    permission denied while trying to connect to the Docker daemon socket at
    unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.24/...": dial unix
    /var/run/docker.sock: connect: permission denied

Fix: ``sudo usermod -aG docker gitlab-runner`` and restart the runner (``gitlab-runner restart``),
then check with ``sudo -u gitlab-runner -H docker info``. Membership of ``docker`` is equivalent to
root on the host (see BR704).

Docs: https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-shell-executor
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Finding, Severity, finding
from buildrig.doctor.rules import _b_util as u

ID = "BR602"
TITLE = "shell/runner: runner user is not in the docker group"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-shell-executor"

_SELF = sys.modules[__name__]


def check(ctx: Context) -> Iterator[Finding]:
    live = ctx.live
    if live is None or not live.runner_user or live.runner_user == "root":
        return
    group = live.socket_group or "docker"
    if group in live.runner_user_groups:
        return
    if live.socket_mode is not None and live.socket_mode & 0o006 == 0o006:
        return  # world read/write socket: anyone may connect
    for jv in ctx.jobs:
        shells = [r for r in jv.runners if u.is_shell(r)]
        lines = u.docker_command_lines(jv.job)
        if not shells or not lines:
            continue
        yield finding(
            _SELF,
            f"{u.jname(jv.job)} runs docker ({lines[0].loc}) on the shell executor of "
            f"{u.rname(shells[0])} as '{live.runner_user}', who is not in the '{group}' group that "
            f"owns {live.socket_path or '/var/run/docker.sock'}: \"permission denied while trying "
            "to connect to the Docker daemon socket at unix:///var/run/docker.sock\".",
            f"sudo usermod -aG {group} {live.runner_user} && sudo gitlab-runner restart (check with "
            f"sudo -u {live.runner_user} -H docker info).",
            loc=lines[0].loc,
            job=jv.job.name,
            severity=u.severity_for(len(shells), len(jv.runners)),
        )
