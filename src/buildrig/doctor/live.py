"""``--live``: facts read from this machine, read-only.

Nothing here changes anything: it stats the socket, asks the engine for its version through the
Docker SDK, opens (and closes) a TCP connection to ``DOCKER_HOST``, and looks the runner user up
in the user database. Each probe that cannot answer leaves its field None and adds a note.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import socket
import stat

from buildrig.doctor.base import LiveFacts
from buildrig.doctor.facts import parse_endpoint
from buildrig.gitlab.model import RunnerConfig

DEFAULT_SOCKET = "/var/run/docker.sock"
RUNNER_USER = "gitlab-runner"


def gather(config: RunnerConfig | None = None, *, timeout: float = 2.0) -> LiveFacts:
    notes: list[str] = []
    socket_path = DEFAULT_SOCKET
    exists: bool | None = None
    mode: int | None = None
    group: str | None = None
    try:
        st = os.stat(socket_path)
        exists = stat.S_ISSOCK(st.st_mode)
        mode = stat.S_IMODE(st.st_mode)
        try:
            group = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            group = str(st.st_gid)
    except FileNotFoundError:
        exists = False
    except OSError as exc:
        notes.append(f"{socket_path}: cannot stat: {exc.strerror or exc}")

    version = api = min_api = None
    from docker.errors import DockerException

    from buildrig.engine import client as engine_client
    from buildrig.errors import EngineError

    try:
        # engine.client: a TLS engine is checked against its own CA even with REQUESTS_CA_BUNDLE set
        client = engine_client(timeout=int(timeout) or 1)
        info = client.version()
        version = str(info.get("Version")) if info.get("Version") else None
        api = str(info.get("ApiVersion")) if info.get("ApiVersion") else None
        min_api = str(info.get("MinAPIVersion")) if info.get("MinAPIVersion") else None
        client.close()
    except EngineError as exc:
        notes.append(str(exc)[:300])
    except DockerException as exc:
        notes.append(f"Docker Engine did not answer: {str(exc).splitlines()[0][:200]}")

    docker_host = os.environ.get("DOCKER_HOST") or None
    reachable: bool | None = None
    if docker_host:
        ep = parse_endpoint(docker_host)
        if ep is not None and ep.scheme == "tcp" and ep.host and ep.port:
            try:
                with contextlib.closing(socket.create_connection((ep.host, ep.port), timeout=timeout)):
                    reachable = True
            except OSError as exc:
                reachable = False
                notes.append(f"DOCKER_HOST {docker_host}: {exc.strerror or exc}")
        elif ep is not None and ep.scheme == "unix":
            reachable = os.path.exists(docker_host[len("unix://") :])

    user: str | None = None
    groups: tuple[str, ...] = ()
    with contextlib.suppress(KeyError):
        pw = pwd.getpwnam(RUNNER_USER)
        user = pw.pw_name
        groups = tuple(
            sorted(
                {g.gr_name for g in grp.getgrall() if user in g.gr_mem} | {grp.getgrgid(pw.pw_gid).gr_name}
            )
        )
    if user is None and config is not None and any(r.executor == "shell" for r in config.runners):
        notes.append(f"no '{RUNNER_USER}' user here: shell jobs run as the user the runner service runs as")

    return LiveFacts(
        socket_path=socket_path,
        socket_exists=exists,
        socket_mode=mode,
        socket_group=group,
        engine_version=version,
        engine_api=api,
        engine_min_api=min_api,
        docker_host=docker_host,
        docker_host_reachable=reachable,
        docker_cli_present=shutil.which("docker") is not None,
        runner_user=user,
        runner_user_groups=groups,
        notes=tuple(notes),
    )
