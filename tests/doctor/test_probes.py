"""The ``--live`` probes on states built in temporary directories (real files, sockets, binaries)."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildrig.doctor import probes

# Debian's and Ubuntu's /etc/skel/.bash_logout, the one gitlab-runner#4449 and #4559 hit
DEBIAN_BASH_LOGOUT = """\
# ~/.bash_logout: executed by bash(1) when login shell exits.

# when leaving the console clear the screen to increase privacy

if [ "$SHLVL" = 1 ]; then
    [ -x /usr/bin/clear_console ] && /usr/bin/clear_console -q
fi
"""


@contextlib.contextmanager
def unix_socket(path: Path) -> Iterator[Path]:
    """A real listening unix socket at ``path`` (closed and removed after)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(str(path))
        yield path
    finally:
        s.close()
        path.unlink(missing_ok=True)


def etc_with(tmp_path: Path, passwd: str, group: str) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(passwd)
    (etc / "group").write_text(group)
    return etc


PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\ngitlab-runner:x:999:998:GitLab Runner:/home/gitlab-runner:/bin/bash\n"
)


def test_groups_come_from_the_group_file_primary_and_supplementary(tmp_path: Path) -> None:
    etc = etc_with(tmp_path, PASSWD, "root:x:0:\ngitlab-runner:x:998:\ndocker:x:106:deploy,gitlab-runner\n")
    acct = probes.account("gitlab-runner", etc)
    assert acct == probes.Account("gitlab-runner", 999, 998, "/home/gitlab-runner")
    assert probes.groups_of(acct, etc) == ("docker", "gitlab-runner")
    # added to root instead of docker (gitlab-runner#3492)
    etc2 = tmp_path / "b"
    etc2.mkdir()
    etc2 = etc_with(etc2, PASSWD, "root:x:0:gitlab-runner\ngitlab-runner:x:998:\ndocker:x:106:deploy\n")
    acct2 = probes.account("gitlab-runner", etc2)
    assert acct2 is not None and probes.groups_of(acct2, etc2) == ("gitlab-runner", "root")
    assert probes.account("nobody-here", etc2) is None


def test_socket_facts_of_a_real_socket(tmp_path: Path) -> None:
    etc = etc_with(tmp_path, PASSWD, f"docker:x:{os.getgid()}:\n")
    with unix_socket(tmp_path / "run" / "docker.sock") as path:
        path.chmod(0o660)
        facts = probes.socket_facts(str(path), etc)
        assert facts == probes.SocketFacts(exists=True, mode=0o660, group="docker")
    assert probes.socket_facts(str(path), etc).exists is False
    regular = tmp_path / "not-a-socket"
    regular.write_text("")
    assert probes.socket_facts(str(regular), etc).exists is False


def fake_docker(bin_dir: Path, prints: str, exit_code: int = 1) -> Path:
    """A ``docker`` on PATH that answers ``version --format`` as an old/new CLI would."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "docker"
    exe.write_text(
        "#!/bin/sh\n"
        'case "$DOCKER_HOST" in unix:///*/absent.sock) ;; *) echo "reached $DOCKER_HOST" >&2; exit 9;; esac\n'
        f'[ "$1" = version ] && echo "{prints}"\n'
        f"exit {exit_code}\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


def test_docker_cli_reports_its_own_api_without_reaching_a_daemon(tmp_path: Path) -> None:
    exe = fake_docker(tmp_path / "bin", "1.40")
    assert probes.docker_cli(str(tmp_path / "bin")) == (str(exe), "1.40", None)
    fake_docker(tmp_path / "odd", "Client: Docker Engine")
    binary, api, note = probes.docker_cli(str(tmp_path / "odd"))
    assert binary is not None and api is None and note is not None and "API version" in note
    (tmp_path / "empty").mkdir()
    assert probes.docker_cli(str(tmp_path / "empty")) == (None, None, None)


def test_rootless_socket_in_xdg_runtime_dir_or_the_runner_uid(tmp_path: Path) -> None:
    run_user = tmp_path / "run" / "user"
    assert probes.rootless_socket(str(tmp_path / "xdg"), 1000, run_user) is None
    with unix_socket(tmp_path / "xdg" / "docker.sock") as path:
        assert probes.rootless_socket(str(tmp_path / "xdg"), 1000, run_user) == str(path)
    with unix_socket(run_user / "1000" / "docker.sock") as path:
        assert probes.rootless_socket(None, 1000, run_user) == str(path)
        assert probes.rootless_socket(None, 1001, run_user) is None


def test_cri_sockets_on_a_node_without_docker(tmp_path: Path) -> None:
    assert probes.cri_sockets(tmp_path) == ()
    with unix_socket(tmp_path / "var" / "run" / "crio" / "crio.sock") as path:
        assert probes.cri_sockets(tmp_path) == (str(path),)


@pytest.mark.parametrize(("enforce", "expected"), [("1\n", True), ("0\n", False), (None, False)])
def test_selinux_enforcing(tmp_path: Path, enforce: str | None, expected: bool) -> None:
    fs = tmp_path / "selinux"
    if enforce is not None:
        fs.mkdir()
        (fs / "enforce").write_text(enforce)
    assert probes.selinux_enforcing(fs) is expected


def test_engine_security_options() -> None:
    sec = probes.engine_security(["name=apparmor", "name=seccomp,profile=default", "name=userns"])
    assert sec == probes.EngineSecurity(userns_remap=True, seccomp_default=True, apparmor=True, selinux=False)
    assert probes.engine_security(["name=seccomp,profile=unconfined", "name=selinux"]) == (
        probes.EngineSecurity(userns_remap=False, seccomp_default=False, apparmor=False, selinux=True)
    )
    assert probes.daemon_json_userns({"userns-remap": "default"}) is True
    assert probes.daemon_json_userns({"userns-remap": ""}) is False


def test_uplink_mtu_from_the_default_route(tmp_path: Path) -> None:
    proc, sys_root = tmp_path / "proc", tmp_path / "sys"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "route").write_text(
        "Iface\tDestination\tGateway\tFlags\n"
        "ens4\t00000000\t0100800A\t0003\n"
        "docker0\t000011AC\t00000000\t0001\n"
    )
    for name, mtu in (("ens4", "1360"), ("docker0", "1500")):
        (sys_root / "class" / "net" / name).mkdir(parents=True)
        (sys_root / "class" / "net" / name / "mtu").write_text(mtu + "\n")
    assert probes.uplink_mtu(proc, sys_root) == 1360
    assert probes.uplink_mtu(tmp_path / "none", sys_root) is None


def test_max_user_namespaces(tmp_path: Path) -> None:
    (tmp_path / "sys" / "user").mkdir(parents=True)
    (tmp_path / "sys" / "user" / "max_user_namespaces").write_text("0\n")
    assert probes.max_user_namespaces(tmp_path) == 0
    assert probes.max_user_namespaces(tmp_path / "absent") is None


def test_dotfile_hazards(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text(
        '[ -z "$PS1" ] && return\nexport PATH="$HOME/bin:$PATH"\nexec 3>/dev/null\n'
    )
    (home / ".profile").write_text("# exit would be fatal here\n. ~/.bashrc\n")
    assert probes.dotfile_hazards(home) == ()
    (home / ".bash_logout").write_text(DEBIAN_BASH_LOGOUT)
    assert probes.dotfile_hazards(home) == (
        f"{home}/.bash_logout:6: [ -x /usr/bin/clear_console ] && /usr/bin/clear_console -q",
    )
    (home / ".bash_logout").write_text("false\n")  # gitlab-runner#3849's reproduction
    (home / ".profile").write_text("exec zsh -l\n")
    assert [h.split(": ", 1)[0] for h in probes.dotfile_hazards(home)] == [
        f"{home}/.bash_logout:1",
        f"{home}/.profile:1",
    ]


def test_runner_service_user_from_the_systemd_unit(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    unit = etc / "systemd" / "system" / "gitlab-runner.service"
    assert probes.runner_service_user(etc) is None
    unit.parent.mkdir(parents=True)
    # as `gitlab-runner install --user ci` writes it
    unit.write_text(
        "[Service]\nStartLimitInterval=5\n"
        'ExecStart=/usr/bin/gitlab-runner "run" "--working-directory" "/home/ci" "--config" '
        '"/etc/gitlab-runner/config.toml" "--service" "gitlab-runner" "--user" "ci"\n'
    )
    assert probes.runner_service_user(etc) == "ci"
    unit.write_text(
        '[Service]\nExecStart=/usr/bin/gitlab-runner "run" "--config" "/etc/gitlab-runner/config.toml"\n'
    )
    assert probes.runner_service_user(etc) == "root"


def test_cgroup_version(tmp_path: Path) -> None:
    assert probes.cgroup_v2(tmp_path) is None
    (tmp_path / "fs" / "cgroup").mkdir(parents=True)
    assert probes.cgroup_v2(tmp_path) is False
    (tmp_path / "fs" / "cgroup" / "cgroup.controllers").write_text("cpu memory\n")
    assert probes.cgroup_v2(tmp_path) is True
