"""BR602 — shell/runner: the shell executor's user may not use the Docker socket.

What it checks: a job runs ``docker`` against the host's socket on a shell-executor runner (no
``DOCKER_HOST`` elsewhere, no ``sudo``) and the user the runner runs builds as (``gitlab-runner``
by default) is neither root nor a member of the group that owns the socket (``docker``).

Group membership is a host fact no file shows. ``--live`` reads it on the machine (``/etc/group``
and the socket's owner and mode): ERROR when the user cannot open the socket, nothing when it can.
Given the error text the job printed (``--symptom``), a "permission denied ... docker.sock" makes
it a WARNING naming the check; another symptom drops it. Otherwise it is an INFO pointer naming the
exact check: ``id gitlab-runner`` and ``ls -l /var/run/docker.sock``.

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

import re
from collections.abc import Iterator

from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, LiveFacts, Severity, finding

ID = "BR602"
TITLE = "shell/runner: runner user is not in the docker group"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-shell-executor"

SYMPTOM = re.compile(
    r"permission denied while trying to connect to the docker daemon socket|docker\.sock:? .*connect: "
    r"permission denied|dial unix [^ ]*docker\.sock: connect: permission denied",
    re.IGNORECASE,
)
_SUDO_DOCKER = re.compile(r"(?<![\w-])sudo\s+(?:-\S+\s+)*docker\b")


def _locked_out(live: LiveFacts) -> bool | None:
    """Whether --live shows the runner user cannot open the socket (None: not known here)."""
    if not live.runner_user or live.socket_exists is False:
        return None  # no user to judge, or no socket at all (BR601's finding)
    if live.runner_user == "root":
        return False
    if (live.socket_group or "docker") in live.runner_user_groups:
        return False
    return not (live.socket_mode is not None and live.socket_mode & 0o006 == 0o006)


def _uses_host_socket(jv: JobView) -> bool:
    if u.explicit_env(jv, "DOCKER_HOST") is not None or u.script_sets_docker_host(jv.job):
        return False
    if any(u.runner_env(r, "DOCKER_HOST") for r in jv.runners):
        return False
    return not any(_SUDO_DOCKER.search(ln.text) for ln in u.daemon_docker_lines(jv.job))


def check(ctx: Context) -> Iterator[Issue]:
    live = ctx.live
    if live is not None and live.socket_exists is False:
        return  # no socket on this host: BR601 says so
    confirmed = _locked_out(live) if live is not None else None
    user = (live.runner_user if live is not None else None) or "gitlab-runner"
    sock = (live.socket_path if live is not None else None) or "/var/run/docker.sock"
    group = (live.socket_group if live is not None else None) or "docker"
    for jv in ctx.jobs:
        shells = [r for r in jv.runners if u.is_shell_executor(r)]
        lines = u.daemon_docker_lines(jv.job)
        # only where the job surely runs on a shell executor: keeps mixed fleets quiet
        if not shells or len(shells) != len(jv.runners) or not lines or not _uses_host_socket(jv):
            continue
        severity = hostfacts.grade(ctx, SYMPTOM, confirmed=confirmed)
        if severity is None:
            continue
        check_cmd = f"id {user}; ls -l {sock}"
        if confirmed:
            what = (f"as '{user}', whose groups ({', '.join(live.runner_user_groups) if live else ''}) "
                    f"do not include '{group}', the group that owns {sock}")
        else:
            what = (f"as the runner's build user ({user}); that works only if it is root or in the "
                    f"group that owns {sock} ('{group}') {hostfacts.not_checked(ctx, check_cmd)}")
        yield finding(
            f"{u.jname(jv.job)} runs docker ({lines[0].loc}) on the shell executor of "
            f"{u.rname(shells[0])} {what}: \"Got permission denied while trying to connect to the "
            f"Docker daemon socket at unix://{sock}\".",
            f"sudo usermod -aG {group} {user} && sudo gitlab-runner restart (check with "
            f"sudo -u {user} -H docker info). Membership of {group} is root on the host (BR704).",
            loc=lines[0].loc,
            job=jv.job.name,
            severity=severity,
        )
