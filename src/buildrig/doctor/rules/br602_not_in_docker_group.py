"""BR602 — shell/runner: the shell executor's user may not use the Docker socket.

What it checks: a job runs ``docker`` on a shell-executor runner and the user the runner runs
builds as (``gitlab-runner`` by default) is neither root nor a member of the group that owns the
socket (``docker``). That needs ``--live``; without it the rule only reminds (INFO) that the
build user must be able to reach the socket, since nothing in the files can show it.

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

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR602"
TITLE = "shell/runner: runner user is not in the docker group"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-shell-executor"


def _unknown(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        shells = [r for r in jv.runners if u.is_shell_executor(r)]
        # remind only where the job surely runs on the shell executor: keeps mixed fleets quiet
        if not shells or len(shells) != len(jv.runners):
            continue
        lines = u.daemon_docker_lines(jv.job)
        if not lines:
            continue
        yield finding(
            f"{u.jname(jv.job)} runs docker ({lines[0].loc}) on the shell executor of "
            f"{u.rname(shells[0])}: it works only if the runner's build user (gitlab-runner) is in "
            "the docker group; otherwise \"permission denied while trying to connect to the "
            "Docker daemon socket at unix:///var/run/docker.sock\" (not checked: run with --live).",
            "sudo usermod -aG docker gitlab-runner && sudo gitlab-runner restart (check with "
            "sudo -u gitlab-runner -H docker info).",
            loc=lines[0].loc,
            job=jv.job.name,
            severity=Severity.INFO,
        )


def check(ctx: Context) -> Iterator[Issue]:
    live = ctx.live
    if live is None or not live.runner_user:
        yield from _unknown(ctx)
        return
    if live.runner_user == "root" or live.socket_exists is False:
        return  # root may use any socket; no socket at all is BR601's finding
    group = live.socket_group or "docker"
    if group in live.runner_user_groups:
        return
    if live.socket_mode is not None and live.socket_mode & 0o006 == 0o006:
        return  # world read/write socket: anyone may connect
    for jv in ctx.jobs:
        shells = [r for r in jv.runners if u.is_shell_executor(r)]
        lines = u.daemon_docker_lines(jv.job)
        if not shells or not lines:
            continue
        yield finding(
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
