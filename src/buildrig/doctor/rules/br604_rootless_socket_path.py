"""BR604 — shell/runner: rootless Docker's socket is not where the job looks for it.

What it checks:

- a Docker-executor runner talks to a rootless daemon (``[runners.docker] host =
  "unix:///run/user/<uid>/docker.sock"``) but binds ``/var/run/docker.sock`` from the host into jobs
  (that path is the rootful daemon's, usually absent);
- a container job sets ``DOCKER_HOST=unix:///run/user/<uid>/docker.sock`` but no runner volume puts
  that socket at that path in the container;
- a shell-executor job on a host whose daemon is rootless (``--live``: ``$XDG_RUNTIME_DIR/
  docker.sock`` or ``/run/user/<runner uid>/docker.sock`` is a socket and ``/var/run/docker.sock``
  is not) with no ``DOCKER_HOST`` in the job or runner ``environment``: the runner service does not
  inherit the login session's ``DOCKER_HOST`` (ERROR when every runner of the job is such a one).

Why it fails::

    Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?

Fix: bind the rootless socket: ``volumes = ["/run/user/1000/docker.sock:/var/run/docker.sock"]``;
on the shell executor set ``environment = ["DOCKER_HOST=unix:///run/user/1000/docker.sock"]`` in
the runner's ``[[runners]]``.

Docs: https://docs.docker.com/engine/security/rootless/#client
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, LiveFacts, Severity, finding

ID = "BR604"
TITLE = "shell/runner: rootless Docker socket path not wired into the job"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/security/rootless/#client"

_ROOTLESS = "unix:///run/user/"


def _rootless_only(live: LiveFacts) -> str | None:
    """--live: the rootless socket when it is the only daemon here (no rootful socket to fall to)."""
    if (live.socket_path or "").startswith("/run/user/"):
        return live.socket_path
    if live.rootless_socket and live.socket_exists is not True:
        return live.rootless_socket
    return None


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is not None:
        for r in ctx.runner_config.runners:
            if not u.is_docker_executor(r) or r.docker is None:
                continue
            host = r.docker.host or ""
            m = u.socket_mount(r)
            if host.startswith(_ROOTLESS) and m is not None and m.host_path is not None and (
                not m.host_path.startswith("/run/user/")
            ):
                sock = host[len("unix://") :]
                yield finding(
                    f"{u.rname(r)} uses the rootless daemon {host} ({u.docker_loc(r, 'host')}) but "
                    f"binds \"{m.raw}\" ({u.docker_loc(r, 'volumes')}) into jobs: that is the "
                    "rootful daemon's path, so docker in the job fails with \"Cannot connect to the "
                    "Docker daemon at unix:///var/run/docker.sock\".",
                    f"Bind the rootless socket instead: \"{sock}:/var/run/docker.sock\".",
                    loc=u.docker_loc(r, "volumes"),
                )
    for jv in ctx.jobs:
        lines = u.docker_command_lines(jv.job)
        if not lines:
            continue
        dh = u.explicit_env(jv, "DOCKER_HOST")
        if dh is not None and dh.value.startswith(_ROOTLESS):
            path = dh.value[len("unix://") :]
            bad = [
                r for r in jv.runners
                if (u.is_docker_executor(r) or u.is_kubernetes(r))
                and not any(mm.destination == path for mm in u.docker_mounts(r))
            ]
            if bad:
                yield finding(
                    f"{u.jname(jv.job)} sets DOCKER_HOST={dh.value} ({dh.loc or 'runner'}) but "
                    f"{u.rname(bad[0])} runs it in a container where no volume puts the socket at "
                    f"{path}: \"Cannot connect to the Docker daemon at {dh.value}\".",
                    f"Bind \"{path}:/var/run/docker.sock\" in [runners.docker] volumes and drop "
                    "DOCKER_HOST from the job (or bind it at the same path).",
                    loc=dh.loc or lines[0].loc,
                    job=jv.job.name,
                    severity=u.severity_for(len(bad), len(jv.runners)),
                )
            continue
        live = ctx.live
        shells = [r for r in jv.runners if u.is_shell_executor(r)]
        if (
            shells
            and dh is None
            and live is not None
            and (rootless := _rootless_only(live)) is not None
            and not any(u.runner_env(r, "DOCKER_HOST") for r in shells)
        ):
            yield finding(
                f"{u.jname(jv.job)} runs docker ({lines[0].loc}) on the shell executor of "
                f"{u.rname(shells[0])}; the host's daemon is rootless ({rootless}) and "
                "neither the job nor the runner's environment sets DOCKER_HOST, so the client "
                "tries /var/run/docker.sock: \"Cannot connect to the Docker daemon at "
                "unix:///var/run/docker.sock\".",
                f"Add environment = [\"DOCKER_HOST=unix://{rootless}\"] to that [[runners]].",
                loc=lines[0].loc,
                job=jv.job.name,
                severity=u.severity_for(len(shells), len(jv.runners)),
            )
