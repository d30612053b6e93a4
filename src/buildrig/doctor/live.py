"""``--live``: facts read from this machine, read-only.

Nothing here changes anything: it stats sockets, reads the user and group files, ``/proc`` and
``/sys``, the runner user's dotfiles, asks the docker CLI on ``PATH`` for its own API version (with
no daemon to reach), asks the local engine for its version and ``info`` through the Docker SDK, and
opens (and closes) a TCP connection to ``DOCKER_HOST``. Each probe that cannot answer leaves its
field None and adds a note. :class:`Roots` says where each probe reads, so tests can build a state
in a temporary directory and run the same probes on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from buildrig.doctor import probes
from buildrig.doctor.base import LiveFacts
from buildrig.doctor.facts import parse_endpoint
from buildrig.gitlab.model import RunnerConfig

DEFAULT_SOCKET = "/var/run/docker.sock"
RUNNER_USER = "gitlab-runner"
# where the runner service's PATH reaches even when the caller's is narrower
_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Roots:
    """Where the probes read. The defaults are this machine's; tests point them at a temp state."""

    etc: Path = Path("/etc")
    proc: Path = Path("/proc")
    sys: Path = Path("/sys")
    root: Path = Path("/")
    run_user: Path = Path("/run/user")
    socket_path: str = DEFAULT_SOCKET
    path_env: str = field(default_factory=lambda: _default_path())
    xdg_runtime_dir: str | None = field(default_factory=lambda: os.environ.get("XDG_RUNTIME_DIR") or None)
    docker_host: str | None = field(default_factory=lambda: os.environ.get("DOCKER_HOST") or None)
    home: Path | None = None  # the runner user's home; None: from etc/passwd
    engine: bool = True  # ask the local engine (version, info)


def _default_path() -> str:
    given = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(given + _SYSTEM_PATH.split(":")))


@dataclass(frozen=True)
class _Engine:
    version: str | None = None
    api: str | None = None
    min_api: str | None = None
    security: probes.EngineSecurity | None = None
    note: str | None = None


def _engine(timeout: float) -> _Engine:
    from docker.errors import DockerException

    from buildrig.engine import client as engine_client
    from buildrig.errors import EngineError

    try:
        # engine.client: a TLS engine is checked against its own CA even with REQUESTS_CA_BUNDLE set
        client = engine_client(timeout=int(timeout) or 1)
        try:
            ver = client.version()
            info = client.info()
        finally:
            client.close()
    except EngineError as exc:
        return _Engine(note=str(exc)[:300])
    except DockerException as exc:
        return _Engine(note=f"Docker Engine did not answer: {str(exc).splitlines()[0][:200]}")

    def text(key: str) -> str | None:
        value = ver.get(key)
        return str(value) if value else None

    return _Engine(
        version=text("Version"),
        api=text("ApiVersion"),
        min_api=text("MinAPIVersion"),
        security=probes.engine_security(info.get("SecurityOptions") or ()),
    )


def _docker_host_reachable(docker_host: str | None, timeout: float, notes: list[str]) -> bool | None:
    if not docker_host:
        return None
    ep = parse_endpoint(docker_host)
    if ep is not None and ep.scheme == "tcp" and ep.host and ep.port:
        try:
            with contextlib.closing(socket.create_connection((ep.host, ep.port), timeout=timeout)):
                return True
        except OSError as exc:
            notes.append(f"DOCKER_HOST {docker_host}: {exc.strerror or exc}")
            return False
    if ep is not None and ep.scheme == "unix":
        return os.path.exists(docker_host[len("unix://") :])
    return None


def _daemon_json_userns(etc: Path) -> bool | None:
    try:
        data = json.loads((etc / "docker" / "daemon.json").read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return None
    return probes.daemon_json_userns(data) if isinstance(data, dict) else None


def gather(
    config: RunnerConfig | None = None,
    *,
    timeout: float = 2.0,
    runner_user: str | None = None,
    roots: Roots | None = None,
) -> LiveFacts:
    """The facts of this machine (``roots``: where to read them). ``runner_user``: whom shell jobs
    run as; None: the ``--user`` of the runner's systemd unit, else ``gitlab-runner``."""
    r = roots or Roots()
    notes: list[str] = []
    source = "--runner-user"
    if runner_user is None:
        service_user = probes.runner_service_user(r.etc)
        runner_user, source = (service_user, "service") if service_user else (RUNNER_USER, "default")
    sock = probes.socket_facts(r.socket_path, r.etc)
    if sock.note:
        notes.append(sock.note)

    eng = _engine(timeout) if r.engine else _Engine()
    if eng.note:
        notes.append(eng.note)
    sec = eng.security
    userns = sec.userns_remap if sec is not None else _daemon_json_userns(r.etc)

    acct = probes.account(runner_user, r.etc)
    user = acct.name if acct is not None else None
    groups = probes.groups_of(acct, r.etc) if acct is not None else ()
    if acct is None and config is not None and any(x.executor == "shell" for x in config.runners):
        notes.append(f"no '{runner_user}' user here: shell jobs run as the user the runner service runs as")
    home = r.home if r.home is not None else (Path(acct.home) if acct is not None and acct.home else None)
    hazards = probes.dotfile_hazards(home) if home is not None else ()

    cli, cli_api, cli_note = probes.docker_cli(r.path_env)
    if cli_note:
        notes.append(cli_note)

    return LiveFacts(
        socket_path=r.socket_path,
        socket_exists=sock.exists,
        socket_mode=sock.mode,
        socket_group=sock.group,
        engine_version=eng.version,
        engine_api=eng.api,
        engine_min_api=eng.min_api,
        docker_host=r.docker_host,
        docker_host_reachable=_docker_host_reachable(r.docker_host, timeout, notes),
        docker_cli_present=cli is not None,
        runner_user=user,
        runner_user_groups=groups,
        notes=tuple(notes),
        docker_cli_path=cli,
        docker_cli_api=cli_api,
        rootless_socket=probes.rootless_socket(r.xdg_runtime_dir, acct.uid if acct else None, r.run_user),
        cri_sockets=probes.cri_sockets(r.root),
        selinux_enforcing=probes.selinux_enforcing(r.sys / "fs" / "selinux"),
        userns_remap=userns,
        selinux_labels=sec.selinux if sec is not None else None,
        seccomp_default=sec.seccomp_default if sec is not None else None,
        apparmor=sec.apparmor if sec is not None else None,
        max_user_namespaces=probes.max_user_namespaces(r.proc),
        uplink_mtu=probes.uplink_mtu(r.proc, r.sys),
        runner_home=str(home) if home is not None and home.is_dir() else None,
        runner_dotfile_hazards=hazards,
        runner_user_source=source,
        cgroup_v2=probes.cgroup_v2(r.sys),
    )
