"""BR707 — security: ``docker login`` on the shell executor leaves credentials for later jobs.

What it checks: a job that only shell-executor runners take runs ``docker login`` (or ``buildah``/
``podman login``) without a per-job ``DOCKER_CONFIG``/``REGISTRY_AUTH_FILE`` and without a
``docker logout`` in ``after_script``.

Why it matters: on the shell executor every job runs as the same host user, so the login is
written to that user's ``~/.docker/config.json`` and stays there: every later job on the host,
from any project, can push with those credentials (and read them). The job itself succeeds. With
more than one job at a time the shared file also breaks builds: one job's login replaces another's
token, and one job's ``docker logout`` removes the login a concurrent job is pushing with ("no
basic auth credentials").

Fix: give each job its own config outside the project directory (inside it, the file is sent with
the build context and ``COPY . .`` puts the token in the image): ``variables: DOCKER_CONFIG:
"$RUNNER_TEMP_PROJECT_DIR/docker-config"`` (GitLab Runner 15.7+; a directory per concurrent slot),
and ``rm -rf "$DOCKER_CONFIG"`` in ``after_script``.

Docs: https://docs.gitlab.com/runner/security/#usage-of-shell-executor
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR707"
TITLE = "security: registry login persists for later jobs on the shell executor"
SEVERITY = Severity.WARNING
CATEGORY = Category.SECURITY
DOCS = "https://docs.gitlab.com/runner/security/#usage-of-shell-executor"

_LOGIN = re.compile(r"(?<![\w./$-])(docker|buildah|podman)\s+login\b")
_PER_JOB = re.compile(r"DOCKER_CONFIG=|REGISTRY_AUTH_FILE=|--authfile")
_LOGOUT = re.compile(r"(?<![\w./$-])(docker|buildah|podman)\s+logout\b")


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        if not jv.runners or not all(u.is_shell_executor(r) for r in jv.runners):
            continue
        lines = u.script_lines(jv.job, after=True)
        login = next((sl for sl in lines if _LOGIN.search(sl.text) and sl.key != "after_script"), None)
        if login is None:
            continue
        if u.explicit_env(jv, "DOCKER_CONFIG") or u.explicit_env(jv, "REGISTRY_AUTH_FILE"):
            continue
        if any(_PER_JOB.search(sl.text) for sl in lines):
            continue
        if any(_LOGOUT.search(sl.text) for sl in lines if sl.key == "after_script"):
            continue
        yield finding(
            f"{u.jname(jv.job)} logs in to a registry ({login.loc}) on the shell executor of "
            f"{u.rname(jv.runners[0])}: the credentials are stored in the runner user's "
            "~/.docker/config.json and stay usable by every later job on that host, from any project.",
            "Set variables: DOCKER_CONFIG: \"$RUNNER_TEMP_PROJECT_DIR/docker-config\" (a per-job "
            "config outside the build context) and run rm -rf \"$DOCKER_CONFIG\" in after_script.",
            loc=login.loc,
            job=jv.job.name,
        )
