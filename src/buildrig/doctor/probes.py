"""Read-only probes of host facts for ``--live``, each rooted where the caller says.

Every probe takes the directories it reads (``/etc``, ``/proc``, ``/sys``, a home, a ``PATH``) as
parameters so tests can point it at a state they built. None writes anything or opens a network
connection: the docker CLI is asked for its own API version with ``DOCKER_HOST`` pointed at a
socket that does not exist, so it never reaches a daemon.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class SocketFacts:
    exists: bool | None
    mode: int | None = None
    group: str | None = None
    note: str | None = None


def _records(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def account(user: str, etc: Path = Path("/etc")) -> Account | None:
    """The user's passwd entry, read from ``etc/passwd`` (not NSS: tests root it elsewhere)."""
    for rec in _records(etc / "passwd"):
        if len(rec) >= 6 and rec[0] == user and rec[2].isdigit() and rec[3].isdigit():
            return Account(rec[0], int(rec[2]), int(rec[3]), rec[5])
    return None


def groups_of(acct: Account, etc: Path = Path("/etc")) -> tuple[str, ...]:
    """The user's groups as ``id`` lists them: the primary group and every group naming it."""
    found: set[str] = set()
    for rec in _records(etc / "group"):
        if len(rec) < 4:
            continue
        members = {m.strip() for m in rec[3].split(",") if m.strip()}
        if acct.name in members or (rec[2].isdigit() and int(rec[2]) == acct.gid):
            found.add(rec[0])
    return tuple(sorted(found))


def group_name(gid: int, etc: Path = Path("/etc")) -> str:
    for rec in _records(etc / "group"):
        if len(rec) >= 3 and rec[2].isdigit() and int(rec[2]) == gid:
            return rec[0]
    return str(gid)


def socket_facts(path: str, etc: Path = Path("/etc")) -> SocketFacts:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return SocketFacts(exists=False)
    except OSError as exc:
        return SocketFacts(exists=None, note=f"{path}: cannot stat: {exc.strerror or exc}")
    return SocketFacts(
        exists=stat.S_ISSOCK(st.st_mode), mode=stat.S_IMODE(st.st_mode), group=group_name(st.st_gid, etc)
    )


def is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(path.stat().st_mode)
    except OSError:
        return False


_API = re.compile(r"^\d+\.\d+$")


def docker_cli(path_env: str, *, timeout: float = 5.0) -> tuple[str | None, str | None, str | None]:
    """``(binary, API it speaks by default, note)`` of the ``docker`` first on ``path_env``.

    The CLI is run with ``DOCKER_HOST`` at a socket that cannot exist, so it reports its own API
    version (not one negotiated down with a daemon) and contacts nothing.
    """
    binary = shutil.which("docker", path=path_env)
    if binary is None:
        return None, None, None
    with tempfile.TemporaryDirectory(prefix="buildrig-probe-") as scratch:
        env = {
            "PATH": path_env,
            "HOME": scratch,
            "DOCKER_CONFIG": scratch,
            "DOCKER_HOST": f"unix://{scratch}/absent.sock",
        }
        try:
            proc = subprocess.run(
                [binary, "version", "--format", "{{.Client.APIVersion}}"],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return binary, None, f"{binary} version: {exc}"
    first = (proc.stdout.strip().splitlines() or [""])[0].strip()
    if _API.match(first):
        return binary, first, None
    return binary, None, f"{binary} version did not state its API version"


def rootless_socket(
    xdg_runtime_dir: str | None, uid: int | None, run_user: Path = Path("/run/user")
) -> str | None:
    """A rootless daemon's socket: ``$XDG_RUNTIME_DIR/docker.sock``, else the runner uid's."""
    candidates = []
    if xdg_runtime_dir:
        candidates.append(Path(xdg_runtime_dir) / "docker.sock")
    if uid is not None:
        candidates.append(run_user / str(uid) / "docker.sock")
    return next((str(p) for p in candidates if is_socket(p)), None)


CRI_SOCKETS = (
    "run/containerd/containerd.sock",
    "run/k3s/containerd/containerd.sock",
    "var/run/crio/crio.sock",
    "run/crio/crio.sock",
)


def cri_sockets(root: Path = Path("/")) -> tuple[str, ...]:
    return tuple(str(root / rel) for rel in CRI_SOCKETS if is_socket(root / rel))


def selinux_enforcing(selinuxfs: Path = Path("/sys/fs/selinux")) -> bool:
    """True when the kernel enforces SELinux; a kernel without selinuxfs has none to enforce."""
    try:
        return (selinuxfs / "enforce").read_text().strip() == "1"
    except OSError:
        return False


@dataclass(frozen=True)
class EngineSecurity:
    userns_remap: bool
    seccomp_default: bool
    apparmor: bool
    selinux: bool


def engine_security(options: Iterable[str]) -> EngineSecurity:
    """``docker info``'s SecurityOptions (``name=seccomp,profile=default``, ``name=userns``, ...)."""
    names: dict[str, dict[str, str]] = {}
    for opt in options:
        fields = dict(part.split("=", 1) for part in str(opt).split(",") if "=" in part)
        if "name" in fields:
            names[fields["name"]] = fields
    seccomp = names.get("seccomp")
    return EngineSecurity(
        userns_remap="userns" in names,
        seccomp_default=seccomp is not None and seccomp.get("profile", "default") != "unconfined",
        apparmor="apparmor" in names,
        selinux="selinux" in names,
    )


def daemon_json_userns(daemon_json: Mapping[str, object]) -> bool:
    return bool(str(daemon_json.get("userns-remap") or "").strip())


def max_user_namespaces(proc: Path = Path("/proc")) -> int | None:
    try:
        return int((proc / "sys" / "user" / "max_user_namespaces").read_text().strip())
    except (OSError, ValueError):
        return None


def uplink_mtu(proc: Path = Path("/proc"), sys_root: Path = Path("/sys")) -> int | None:
    """Smallest MTU among the interfaces holding a default route (``/proc/net/route``)."""
    mtus = []
    for rec in (line.split() for line in _lines(proc / "net" / "route")[1:]):
        if len(rec) > 1 and rec[1] == "00000000":
            try:
                mtus.append(int((sys_root / "class" / "net" / rec[0] / "mtu").read_text().strip()))
            except (OSError, ValueError):
                continue
    return min(mtus) if mtus else None


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError:
        return []


# bash runs ~/.bash_logout when the shell executor's login shell exits: a command there that
# fails without a terminal (Debian's skeleton runs clear_console) becomes the job's exit status
# (gitlab-runner#4449, #4559, #3849; GitLab's shell executor docs say to remove the file).
_LOGOUT_HAZARD = re.compile(r"\b(clear_console|clear|tput|reset|false)\b|^\s*exit\s+[1-9]")
# a login file that leaves or replaces bash never lets the runner's script run
_LOGIN_HAZARD = re.compile(r"^\s*(exit|logout)\b|^\s*exec\s+(?!>|<|\d*[<>])\S")
DOTFILES = (
    (".bash_logout", _LOGOUT_HAZARD),
    (".bash_profile", _LOGIN_HAZARD),
    (".bash_login", _LOGIN_HAZARD),
    (".profile", _LOGIN_HAZARD),
    (".bashrc", _LOGIN_HAZARD),
)


def dotfile_hazards(home: Path) -> tuple[str, ...]:
    """``FILE:LINE: text`` of each dotfile line that makes the shell executor's bash fail."""
    found = []
    for name, hazard in DOTFILES:
        for number, text in enumerate(_lines(home / name), start=1):
            code = text.split("#", 1)[0]
            if code.strip() and hazard.search(code):
                found.append(f"{home / name}:{number}: {text.strip()[:120]}")
    return tuple(found)


# where `gitlab-runner install` writes its service (systemd; SysV init on older hosts)
RUNNER_UNITS = (
    "systemd/system/gitlab-runner.service",
    "systemd/system/multi-user.target.wants/gitlab-runner.service",
)


def runner_service_user(etc: Path = Path("/etc")) -> str | None:
    """The ``--user`` the runner service runs shell jobs as (``gitlab-runner install --user``)."""
    for rel in RUNNER_UNITS:
        for line in _lines(etc / rel):
            key, _, value = line.strip().partition("=")
            if key.strip() != "ExecStart":
                continue
            try:
                words = shlex.split(value)
            except ValueError:
                words = value.split()
            for i, word in enumerate(words):
                if word == "--user" and i + 1 < len(words):
                    return words[i + 1]
                if word.startswith("--user="):
                    return word.split("=", 1)[1]
            return "root"  # a service installed without --user runs shell jobs as root
    return None


def cgroup_v2(sys_root: Path = Path("/sys")) -> bool | None:
    """Whether the host runs the unified cgroup hierarchy (v2); None when /sys shows no cgroups."""
    fs = sys_root / "fs" / "cgroup"
    if (fs / "cgroup.controllers").exists():
        return True
    return False if fs.is_dir() else None
