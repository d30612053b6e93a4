"""``doctor --live`` against real states made on this machine.

A real user is created with ``useradd -m`` (its home from this system's /etc/skel, which on Debian
and Ubuntu holds the ``.bash_logout`` of gitlab-runner#4449) and removed after; a real socket is
owned by a real group the user is or is not in; a fake ``docker`` sits on a temporary PATH. The
probes read the real /etc/passwd and /etc/group; only the socket path, PATH and XDG_RUNTIME_DIR
are pointed at the temporary state, and the engine is not asked (tests marked ``engine`` do).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_probes import DEBIAN_BASH_LOGOUT, fake_docker, unix_socket

from buildrig.doctor.base import Severity
from buildrig.doctor.engine import Inputs, diagnose
from buildrig.doctor.live import Roots, gather

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None,
    reason="creates a real user and group: needs root and useradd",
)

SHELL_CONFIG = """\
[[runners]]
  name = "shell"
  url = "https://gitlab.example.com/"
  token = "glrt-REDACTED"
  executor = "shell"
"""
DOCKER_JOB = "build:\n  script:\n    - docker build -t app .\n"


@dataclass(frozen=True)
class HostState:
    user: str
    group: str  # owns the socket
    socket: Path
    home: Path


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[HostState]:
    """A user with a home from /etc/skel and a socket owned by a group the user is not in."""
    tag = f"{os.getpid() % 100000}{tmp_path.name[-6:]}".replace("_", "")[-10:]
    user, group = f"brl{tag}", f"brs{tag}"
    _run("groupadd", group)
    try:
        _run("useradd", "-m", "-d", str(tmp_path / "home"), "-s", "/bin/bash", user)
        try:
            with unix_socket(tmp_path / "run" / "docker.sock") as sock:
                shutil.chown(sock, group=group)
                sock.chmod(0o660)
                yield HostState(user, group, sock, tmp_path / "home")
        finally:
            _run("userdel", "-r", user)
    finally:
        _run("groupdel", group)


def project(tmp_path: Path, job: str = DOCKER_JOB) -> Path:
    d = tmp_path / "project"
    d.mkdir(exist_ok=True)
    (d / ".gitlab-ci.yml").write_text(job)
    (d / "config.toml").write_text(SHELL_CONFIG)
    return d


def roots(state: HostState, tmp_path: Path, **extra: object) -> Roots:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    return Roots(
        socket_path=str(state.socket),
        path_env=str(bin_dir),
        xdg_runtime_dir=str(tmp_path / "xdg"),
        docker_host=None,
        engine=False,
        **extra,  # type: ignore[arg-type]
    )


def severities(d: Path, live: object, rule: str) -> list[Severity]:
    report = diagnose(Inputs(directory=d), live=live)  # type: ignore[arg-type]
    return [f.severity for f in report.findings if f.rule == rule]


@needs_root
def test_group_membership_read_for_real_turns_br602_into_an_error_or_clears_it(
    host: HostState, tmp_path: Path
) -> None:
    d = project(tmp_path)
    live = gather(runner_user=host.user, roots=roots(host, tmp_path))
    assert live.runner_user == host.user and host.group not in live.runner_user_groups
    assert live.socket_exists is True and live.socket_group == host.group
    assert severities(d, live, "BR602") == [Severity.ERROR]
    _run("usermod", "-aG", host.group, host.user)
    live = gather(runner_user=host.user, roots=roots(host, tmp_path))
    assert host.group in live.runner_user_groups
    assert severities(d, live, "BR602") == []


@needs_root
def test_the_skeleton_bash_logout_is_found_and_removing_it_clears_br607(
    host: HostState, tmp_path: Path
) -> None:
    d = project(tmp_path, "test:\n  script:\n    - make test\n")
    skel = Path("/etc/skel/.bash_logout")
    if not (host.home / ".bash_logout").exists():
        # a system whose skeleton has none: write Debian's, as gitlab-runner#4449's host had
        (host.home / ".bash_logout").write_text(DEBIAN_BASH_LOGOUT)
    live = gather(runner_user=host.user, roots=roots(host, tmp_path))
    assert live.runner_home == str(host.home)
    if skel.exists():
        # the system's own .bashrc and .profile are no hazard; only the logout file is
        assert all(".bash_logout:" in h for h in live.runner_dotfile_hazards)
    assert any("clear_console" in h for h in live.runner_dotfile_hazards)
    assert severities(d, live, "BR607") == [Severity.ERROR]
    (host.home / ".bash_logout").unlink()
    live = gather(runner_user=host.user, roots=roots(host, tmp_path))
    assert live.runner_dotfile_hazards == ()
    assert severities(d, live, "BR607") == []


@needs_root
def test_rootless_socket_in_the_runners_runtime_dir_is_found(host: HostState, tmp_path: Path) -> None:
    d = project(tmp_path)
    with unix_socket(tmp_path / "xdg" / "docker.sock") as rootless:
        state = HostState(host.user, host.group, tmp_path / "no-rootful.sock", host.home)
        live = gather(runner_user=host.user, roots=roots(state, tmp_path))
        assert live.rootless_socket == str(rootless) and live.socket_exists is False
        report = diagnose(Inputs(directory=d), live=live)
        found = [f for f in report.findings if f.rule == "BR604"]
        assert [f.severity for f in found] == [Severity.ERROR]
        assert f"DOCKER_HOST=unix://{rootless}" in found[0].fix


@needs_root
def test_an_old_docker_cli_on_path_against_a_docker_29_engine(host: HostState, tmp_path: Path) -> None:
    from dataclasses import replace

    d = project(tmp_path)
    _run("usermod", "-aG", host.group, host.user)
    fake_docker(tmp_path / "bin", "1.43")
    live = gather(runner_user=host.user, roots=roots(host, tmp_path))
    assert live.docker_cli_api == "1.43" and live.docker_cli_path == str(tmp_path / "bin" / "docker")
    # the engine's range as a Docker 29 daemon states it (the engine itself is not asked here)
    live = replace(live, engine_version="29.1.0", engine_api="1.52", engine_min_api="1.44")
    report = diagnose(Inputs(directory=d), live=live)
    found = [f for f in report.findings if f.rule == "BR204"]
    assert [f.severity for f in found] == [Severity.ERROR]
    assert "client version 1.43 is too old" in found[0].message
    fake_docker(tmp_path / "bin", "1.52")
    live = replace(
        gather(runner_user=host.user, roots=roots(host, tmp_path)), engine_api="1.52", engine_min_api="1.44"
    )
    assert severities(d, live, "BR204") == []


@needs_root
def test_cli_live_with_runner_user(host: HostState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``buildrig doctor --live --runner-user``: the real /etc/group and home, no engine reached."""
    from buildrig.cli import main

    d = project(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/absent.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    out = tmp_path / "report.json"
    code = main(["doctor", str(d), "--live", "--runner-user", host.user, "-f", "json", "-o", str(out)])
    found = {(f["rule"], f["severity"]) for f in json.loads(out.read_text())["findings"]}
    if (host.home / ".bash_logout").exists() and "clear_console" in (host.home / ".bash_logout").read_text():
        assert ("BR607", "error") in found and code == 1
    # the real /var/run/docker.sock decides BR602 here: this machine's, read for real
    sock = Path("/var/run/docker.sock")
    if sock.is_socket() and sock.stat().st_mode & 0o006 != 0o006:
        assert ("BR602", "error") in found


def test_gather_reads_a_state_built_in_a_temp_root(tmp_path: Path) -> None:
    """No root needed: every root of the probes pointed at a temporary tree."""
    etc = tmp_path / "etc"
    etc.mkdir()
    home = tmp_path / "home" / "gitlab-runner"
    home.mkdir(parents=True)
    (home / ".bash_logout").write_text("clear\n")
    (etc / "passwd").write_text(f"gitlab-runner:x:999:999::{home}:/bin/bash\n")
    (etc / "group").write_text("gitlab-runner:x:999:\ndocker:x:998:\n")
    (tmp_path / "selinux").mkdir()
    (tmp_path / "sys" / "fs" / "selinux").mkdir(parents=True)
    (tmp_path / "sys" / "fs" / "selinux" / "enforce").write_text("1")
    (etc / "docker").mkdir()
    (etc / "docker" / "daemon.json").write_text('{"userns-remap": "default"}')
    with unix_socket(tmp_path / "run" / "user" / "999" / "docker.sock") as rootless:
        live = gather(
            roots=Roots(
                etc=etc,
                proc=tmp_path / "proc",
                sys=tmp_path / "sys",
                root=tmp_path,
                run_user=tmp_path / "run" / "user",
                socket_path=str(tmp_path / "var" / "run" / "docker.sock"),
                path_env=str(tmp_path / "bin"),
                xdg_runtime_dir=None,
                docker_host=None,
                engine=False,
            )
        )
    assert live.runner_user == "gitlab-runner" and live.runner_user_groups == ("gitlab-runner",)
    assert live.socket_exists is False and live.rootless_socket == str(rootless)
    assert live.docker_cli_present is False and live.docker_cli_api is None
    assert live.selinux_enforcing is True and live.userns_remap is True
    assert live.runner_dotfile_hazards == (f"{home}/.bash_logout:1: clear",)
    assert live.uplink_mtu is None and live.cri_sockets == ()
    assert live.runner_user_source == "default"
    # the runner service installed with --user ci: that user is the one checked
    unit = etc / "systemd" / "system" / "gitlab-runner.service"
    unit.parent.mkdir(parents=True)
    unit.write_text('[Service]\nExecStart=/usr/bin/gitlab-runner "run" "--user" "ci"\n')
    with (etc / "passwd").open("a") as f:
        f.write(f"ci:x:1001:998::{tmp_path}/ci:/bin/bash\n")
    with (etc / "group").open("a") as f:
        f.write("runners:x:1002:ci\n")
    live = gather(roots=Roots(etc=etc, sys=tmp_path / "sys", path_env="", docker_host=None, engine=False))
    assert (live.runner_user, live.runner_user_source) == ("ci", "service")
    assert live.runner_user_groups == ("docker", "runners")  # 998 is docker's gid in this etc


@pytest.mark.engine
def test_gather_asks_the_local_engine_read_only() -> None:
    """This machine's engine and CLI, as ``docker version``/``docker info`` report them."""
    live = gather(timeout=5.0)
    proc = subprocess.run(
        ["docker", "version", "--format", "{{.Server.APIVersion}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert live.engine_api == proc.stdout.strip()
    info = subprocess.run(
        ["docker", "info", "--format", "{{json .SecurityOptions}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    options = json.loads(info.stdout)
    assert live.userns_remap is any("name=userns" in o for o in options)
    assert live.seccomp_default is any(
        o.startswith("name=seccomp") and "unconfined" not in o for o in options
    )
    if shutil.which("docker"):
        assert live.docker_cli_api is not None and live.docker_cli_present is True
