"""BR607 — shell/runner: the runner user's bash dotfiles fail the shell executor's jobs.

What it checks: a shell-executor runner (bash, the default shell) runs each job in ``bash
--login`` as its user (``gitlab-runner``), so that user's ``~/.bash_logout``, ``~/.bash_profile``,
``~/.profile`` and ``~/.bashrc`` run around every job. A ``.bash_logout`` that calls
``clear_console`` (Debian's and Ubuntu's skeleton does), ``clear`` or ``tput`` fails without a
terminal and its status becomes the job's; a login file that runs ``exit`` or ``exec`` never lets
the script run.

Why it fails (gitlab-runner#4449, #4559, #3849)::

    bash: line 82: cd: /home/gitlab-runner/builds/ey8QzqLq/0/group/project: No such file or directory
    ERROR: Job failed: exit status 1

or a job that fails right after ``Running on <host>...`` before any step; current runners say
``ERROR: Job failed: prepare environment: exit status 1. Check
https://docs.gitlab.com/runner/shells/index.html#shell-profile-loading``.

The dotfiles are a host fact. ``--live`` reads the runner user's home (``--runner-user``): ERROR
listing each offending line, nothing when they are clean. With the error text the job printed
(``--symptom``) matching the above: WARNING; otherwise an INFO pointer naming the check
(``sudo -u gitlab-runner -H cat ~/.bash_logout``).

Fix: remove ``~gitlab-runner/.bash_logout`` (or the ``clear_console`` lines in it) and any
``exit``/``exec`` from the user's login files; GitLab's shell executor docs say the same.

Docs: https://docs.gitlab.com/runner/shells/#shell-profile-loading
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.gitlab.model import Runner

ID = "BR607"
TITLE = "shell/runner: the runner user's bash dotfiles fail every job"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/runner/shells/#shell-profile-loading"

_NAMED = re.compile(
    r"clear_console|\.bash_logout|\.bash_profile|shell-profile-loading|prepare environment: exit status 1"
    r"|bash: line \d+: cd: \S*/builds/\S*: No such file or directory",
    re.IGNORECASE,
)
_STEP = re.compile(r"^\s*\$ ", re.MULTILINE)


def symptom(text: str) -> bool:
    """A dotfile's failure: named outright, or a shell job that exits 1 before its first step."""
    if _NAMED.search(text):
        return True
    return "job failed: exit status 1" in text.lower() and not _STEP.search(text)


def _bash_shell(r: Runner) -> bool:
    return u.is_shell_executor(r) and (r.shell or "bash") == "bash"


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is None:
        return
    live = ctx.live
    user = (live.runner_user if live is not None else None) or "gitlab-runner"
    if live is not None and live.runner_home is None:
        return  # --live could not read the user's home here: its notes say why
    confirmed = bool(live.runner_dotfile_hazards) if live is not None else None
    shells = [r for r in ctx.runner_config.runners if _bash_shell(r)]
    # by identity: runners are frozen values whose equality compares every field
    by_runner: dict[int, list[str]] = {id(r): [] for r in shells}
    for jv in ctx.jobs:
        for x in jv.runners:
            names = by_runner.get(id(x))
            if names is not None:
                names.append(jv.job.name)
    for r in shells:
        jobs = by_runner[id(r)]
        severity = hostfacts.grade(ctx, symptom, confirmed=confirmed)
        if severity is None:
            continue
        check_cmd = f"sudo -u {user} -H sh -c 'cat ~/.bash_logout ~/.bash_profile ~/.profile'"
        if confirmed and live is not None:
            lines = "; ".join(live.runner_dotfile_hazards[:3])
            said = f"{user}'s dotfiles fail a non-interactive login shell: {lines}"
        else:
            said = (f"{user}'s ~/.bash_logout and login files run around every job; one that calls "
                    f"clear_console (Debian's skeleton) or exits fails them all "
                    f"{hostfacts.not_checked(ctx, check_cmd)}")
        yield finding(
            f"{u.rname(r)} runs jobs in bash --login on the shell executor"
            + (f" (jobs {', '.join(repr(j) for j in jobs[:3])})" if jobs else "")
            + f": {said}; jobs end with \"ERROR: Job failed: exit status 1\" (often after \"cd: "
            ".../builds/...: No such file or directory\").",
            f"Remove ~{user}/.bash_logout (or its clear_console lines) and any exit/exec in "
            f"~{user}/.bash_profile, ~/.profile and ~/.bashrc.",
            loc=u.runner_loc(r, "executor"),
            job=jobs[0] if len(jobs) == 1 else None,
            severity=severity,
        )
