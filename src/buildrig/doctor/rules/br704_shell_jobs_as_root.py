"""BR704 — security: shell-executor jobs run as root (or as a user with root-equivalent docker access).

What it checks, for shell-executor runners:

- ``--live`` says the runner's build user is ``root`` (``gitlab-runner install --user root``, or the
  service run by root without ``--user``) — WARNING;
- the ``builds_dir`` lies under ``/root`` — a strong hint the same — WARNING;
- ``--live`` says the build user is in the ``docker`` group — WARNING: that is root-equivalent on
  the host (the same risk as binding the socket into containers, BR703), which GitLab's docs and the
  runner's own post-install script warn about;
- a job the runner takes runs commands only root may run, without ``sudo`` (``apt-get install``,
  ``yum install``, ``apk add``, ``systemctl``, ``useradd``...) — WARNING: the job works only where
  the runner runs jobs as root (the usual "fix" of its permission errors), or it fails.

Why it matters: every command of every job runs with full control of the runner host: it can read
the runner's ``config.toml`` (runner tokens), other projects' checkouts, and persist itself
between jobs.

Allowed risk: a runner declared dedicated to trusted projects with a ``# buildrig: dedicated``
comment line inside its ``[[runners]]`` entry is not flagged (see ``--explain BR703``).

Fix: install the runner with ``gitlab-runner install --user gitlab-runner`` (the deb/rpm packages
do), keep ``builds_dir`` in that user's home, and prefer an isolating executor (Docker) for
untrusted code.

Docs: https://docs.gitlab.com/runner/security/#usage-of-shell-executor
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.gitlab.model import Runner

ID = "BR704"
TITLE = "security: shell executor runs jobs as root"
SEVERITY = Severity.WARNING
CATEGORY = Category.SECURITY
DOCS = "https://docs.gitlab.com/runner/security/#usage-of-shell-executor"

# Commands that change the host's system state: an unprivileged build user gets "Permission
# denied" from each, so a shell job running them bare was made to work by running jobs as root.
_ROOT_ONLY = re.compile(
    r"^(?:apt-get|apt|aptitude|yum|dnf|zypper|microdnf)\s+(?:-\S+\s+)*(?:install|update|upgrade|remove|purge)\b"
    r"|^apk\s+(?:-\S+\s+)*(?:add|del|update|upgrade)\b"
    r"|^(?:useradd|usermod|groupadd|systemctl|service|modprobe|update-alternatives)\b"
)


def _root_only_line(ctx: Context, r: Runner) -> tuple[str, str, str] | None:
    """(job, command, place) of the first job command on this runner that only root may run."""
    for jv in ctx.jobs:
        if r not in jv.runners:
            continue
        for sl in u.script_lines(jv.job):
            text = sl.text.strip()
            if _ROOT_ONLY.match(text):
                return jv.job.name, text, str(sl.loc)
    return None


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is None:
        return
    live = ctx.live
    for r in ctx.runner_config.runners:
        if not u.is_shell_executor(r) or r.dedicated is not None:
            continue
        if live is not None and live.runner_user == "root":
            yield finding(
                f"{u.rname(r)} uses the shell executor and its builds run as root: every job "
                "controls the host, can read the runner's config.toml (tokens) and other projects' "
                "files, and persists between jobs.",
                "Reinstall the service with gitlab-runner install --user gitlab-runner (as the "
                "deb/rpm packages do) and use a Docker executor for untrusted code.",
                loc=r.loc,
            )
        elif r.builds_dir and (r.builds_dir == "/root" or r.builds_dir.startswith("/root/")):
            yield finding(
                f"{u.rname(r)} uses the shell executor with builds_dir = \"{r.builds_dir}\" "
                f"({u.runner_loc(r, 'builds_dir')}), under root's home: its jobs most likely run "
                "as root and control the host.",
                "Run builds as an unprivileged user (gitlab-runner install --user gitlab-runner) "
                "with builds_dir in that user's home.",
                loc=u.runner_loc(r, "builds_dir"),
            )
        elif live is not None and live.runner_user and "docker" in live.runner_user_groups:
            yield finding(
                f"{u.rname(r)} runs shell jobs as '{live.runner_user}', a member of the docker "
                "group: that is root-equivalent on the host (docker run -v /:/host ...).",
                "Accept it only for trusted projects on a dedicated host (declare it with a "
                "'# buildrig: dedicated' line in the [[runners]] entry); otherwise build with a "
                "Docker executor (dind) or daemonless (Buildah, BuildKit).",
                loc=r.loc,
            )
        elif (hit := _root_only_line(ctx, r)) is not None:
            job, command, where = hit
            yield finding(
                f"{u.rname(r)} uses the shell executor and job '{job}' runs '{command}' ({where}) "
                "without sudo: only root may do that on the host, so the job works only when the "
                "runner runs its jobs as root, which gives every job control of the host.",
                "Install what jobs need on the host once (or use a Docker executor with an image "
                "that has it); keep the runner's build user unprivileged (gitlab-runner install "
                "--user gitlab-runner).",
                loc=r.loc,
            )
