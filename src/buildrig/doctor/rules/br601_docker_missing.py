"""BR601 — shell/runner: the job runs ``docker`` where no docker client is installed.

What it checks:

- shell executor: the job runs ``docker`` commands and ``--live`` found no ``docker`` binary on the
  runner host, or no daemon socket (``/var/run/docker.sock``) while nothing sets ``DOCKER_HOST``
  (``Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon
  running?``);
- Docker/Kubernetes executor: the job runs ``docker`` commands in a well-known image that ships no
  docker client (``alpine``, ``ubuntu``, ``python``, ``node``, ``maven``, ...) and does not install
  one in its script.

Whether the shell runner's host has the CLI is a host fact: ``--live`` (PATH of the runner host)
decides it, ERROR or nothing; the error text the job printed (``--symptom``: ``docker: command not
found``) makes it a WARNING naming the check (``sudo -u gitlab-runner -H sh -lc 'command -v
docker'``), including for a job with no image on runners no config.toml shows (a shell executor or
the runner's default image), which otherwise gets an INFO pointer. A shell job with neither stays
quiet: GitLab's documented shell set-up installs the CLI.

Why it fails::

    /bin/sh: eval: line 150: docker: not found
    bash: line 140: docker: command not found

Fix: shell executor: install Docker Engine on the runner host (``apt-get install docker-ce``/
``docker.io``) and add ``gitlab-runner`` to the ``docker`` group; container executors: run the
docker commands in ``image: docker:<version>-cli`` (plus a socket or dind set-up), or build
daemonless.

Docs: https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-shell-executor
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding

ID = "BR601"
TITLE = "shell/runner: docker commands where no docker client or daemon is available"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#use-the-shell-executor"

SYMPTOM = re.compile(
    r"docker: (?:command )?not found|docker not found|exec: \"?docker\"?: executable file not found"
)
_NO_DOCKER = frozenset(
    {
        "alpine", "ubuntu", "debian", "centos", "fedora", "rockylinux", "almalinux", "busybox",
        "node", "python", "golang", "ruby", "maven", "gradle", "openjdk", "eclipse-temurin",
        "amazoncorretto", "php", "rust", "gcc", "bash", "composer", "buildpack-deps",
        "archlinux", "opensuse/leap", "amazonlinux", "registry.access.redhat.com/ubi8/ubi",
    }
)


def _cli_pointer(ctx: Context, jv: JobView) -> Issue | None:
    """Shell executor (or a job with no image on unknown runners): is a docker CLI on the host?"""
    lines = u.docker_command_lines(jv.job)
    shells = [r for r in jv.runners if u.is_shell_executor(r)]
    live = ctx.live
    confirmed = None if live is None or live.docker_cli_present is None else not live.docker_cli_present
    if shells:
        if len(shells) != len(jv.runners):
            return None  # a mixed fleet: the container runners' image decides (below)
        where = f"on the shell executor of {u.rname(shells[0])}"
        # GitLab's documented shell set-up installs the CLI: only --live or the symptom speak
        silent = True
    elif not jv.runners and jv.job.image is None and not jv.job.services and ctx.runner_config is None:
        where = "with no image, on a runner doctor cannot see (a shell executor or its default image)"
        silent = False
    else:
        return None
    check = "sudo -u gitlab-runner -H sh -lc 'command -v docker'"
    severity: Severity | None
    if confirmed is None and hostfacts.said(ctx, SYMPTOM) is None:
        severity = None if silent else Severity.INFO
    else:
        severity = hostfacts.grade(ctx, SYMPTOM, confirmed=confirmed)
    if severity is None:
        return None
    if confirmed and shells:
        severity = u.severity_for(len(shells), len(jv.runners))
    said = (
        f"this host has no docker client on {live.runner_user or 'the runner user'}'s PATH"
        if confirmed and live is not None
        else f"it needs a docker client there {hostfacts.not_checked(ctx, check)}"
    )
    return finding(
        f"{u.jname(jv.job)} runs docker ({lines[0].loc}) {where}: {said}; otherwise \"docker: "
        "command not found\".",
        "Install Docker Engine (or at least the docker CLI) on the runner host, on the PATH of the "
        "user the runner runs jobs as, and add that user to the docker group; a shell runner inside "
        "the gitlab/gitlab-runner container has no docker CLI: use the Docker executor there.",
        loc=lines[0].loc,
        job=jv.job.name,
        severity=severity,
    )


def check(ctx: Context) -> Iterator[Issue]:
    live = ctx.live
    for jv in ctx.jobs:
        lines = u.daemon_docker_lines(jv.job) or u.docker_command_lines(jv.job)
        if not lines or u.installs_docker(jv.job):
            continue
        shells = [r for r in jv.runners if u.is_shell_executor(r)]
        pointer = _cli_pointer(ctx, jv)
        if pointer is not None:
            yield pointer
            if pointer.severity is not Severity.INFO:
                continue
        if live is not None and live.docker_cli_present is False:
            continue
        if (
            shells
            and live is not None
            and live.socket_exists is False
            and u.explicit_env(jv, "DOCKER_HOST") is None
            and not any(u.runner_env(r, "DOCKER_HOST") for r in shells)
            and not u.script_sets_docker_host(jv.job)
        ):
            yield finding(
                f"{u.jname(jv.job)} runs docker ({lines[0].loc}) on the shell executor of "
                f"{u.rname(shells[0])}, but this host has no {live.socket_path or '/var/run/docker.sock'} "
                "and nothing sets DOCKER_HOST: \"Cannot connect to the Docker daemon at "
                "unix:///var/run/docker.sock. Is the docker daemon running?\".",
                "Install and start Docker Engine on the runner host (systemctl enable --now docker), "
                "or set DOCKER_HOST in the runner's environment to the daemon you mean.",
                loc=lines[0].loc,
                job=jv.job.name,
                severity=u.severity_for(len(shells), len(jv.runners)),
            )
            continue
        if jv.runners and not any(not u.is_shell(r) for r in jv.runners):
            continue
        name = u.image_name(jv.job, jv.runners)
        if name is None:
            continue
        ref = u.parse_image(name)
        key = f"{ref.registry}/{ref.path}" if ref.registry else ref.path
        if key not in _NO_DOCKER:
            continue
        yield finding(
            f"{u.jname(jv.job)} runs docker ({lines[0].loc}: `{lines[0].text.strip()[:60]}`) in "
            f"the image '{name}' ({u.image_loc(jv.job)}), which ships no docker client and the "
            "script installs none: \"docker: not found\".",
            "Run the docker commands in image: docker:<version>-cli (with a socket or dind set-up), "
            "install the client in before_script, or build daemonless (Buildah, BuildKit).",
            loc=lines[0].loc,
            job=jv.job.name,
        )
