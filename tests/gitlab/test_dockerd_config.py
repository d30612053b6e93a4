from __future__ import annotations

from pathlib import Path

import pytest

from buildrig.errors import InputError
from buildrig.gitlab.dockerd_config import (
    load_daemon_json,
    load_daemon_json_text,
    load_docker_units,
    load_dockerd,
)

FIX = Path(__file__).parent / "fixtures" / "dockerd"


def test_daemon_json() -> None:
    cfg = load_daemon_json(FIX / "daemon.json")
    assert cfg.hosts_json == ("unix:///var/run/docker.sock", "tcp://0.0.0.0:2376")
    assert cfg.tls is True and cfg.tlsverify is True and cfg.mtu == 1400
    assert cfg.insecure_registries == ("registry.local:5000",)
    assert cfg.key_locs["hosts"].line == 2 and cfg.key_locs["mtu"].line == 6


def test_unit_with_drop_in_resets_exec_start() -> None:
    cfg = load_docker_units([FIX / "docker.service", FIX / "docker.service.d" / "override.conf"])
    assert cfg.hosts_flags == ("unix:///var/run/docker.sock", "tcp://10.0.0.5:2376")
    assert cfg.tlsverify is True and cfg.tlscert == "/etc/docker/server.pem"
    assert cfg.userns_remap == "default"
    assert cfg.exec_start_loc is not None and cfg.exec_start_loc.line == 3
    assert cfg.exec_start_loc.file.endswith("override.conf")
    assert cfg.unit_environment == ('"HTTP_PROXY=http://proxy:3128"',)


def test_unit_alone_keeps_fd_host() -> None:
    cfg = load_docker_units([FIX / "docker.service"])
    assert cfg.hosts_flags == ("fd://",)
    assert cfg.exec_start_loc is not None and cfg.exec_start_loc.line == 6


def test_merged_keeps_both_host_sources() -> None:
    cfg = load_dockerd(
        FIX / "daemon.json", [FIX / "docker.service", FIX / "docker.service.d" / "override.conf"]
    )
    assert cfg is not None
    assert cfg.hosts_json and cfg.hosts_flags
    assert cfg.mtu == 1400 and cfg.userns_remap == "default"
    assert len(cfg.files) == 3


def test_malformed_json_names_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="invalid JSON") as info:
        load_daemon_json_text('{\n  "hosts": ["a",]\n}\n', tmp_path / "daemon.json")
    assert info.value.loc is not None and info.value.loc.line == 2


def test_json_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="mtu") as info:
        load_daemon_json_text('{\n  "mtu": "1400"\n}\n', tmp_path / "daemon.json")
    assert info.value.loc is not None and info.value.loc.line == 2


def test_flag_spellings(tmp_path: Path) -> None:
    unit = tmp_path / "docker.service"
    unit.write_text(
        "[Service]\n"
        "ExecStart=-/usr/bin/dockerd -Hunix:///run/docker.sock --host tcp://10.0.0.5:2376 \\\n"
        "    --tlsverify=false --tls --mtu 1400 --insecure-registry=r1:5000 --insecure-registry r2:5000\n"
    )
    cfg = load_docker_units([unit])
    assert cfg.hosts_flags == ("unix:///run/docker.sock", "tcp://10.0.0.5:2376")
    assert cfg.tlsverify is False and cfg.tls is True and cfg.mtu == 1400
    assert cfg.insecure_registries == ("r1:5000", "r2:5000")
    assert cfg.exec_start_loc is not None and cfg.exec_start_loc.line == 2


def test_unit_without_exec_start_and_bad_values(tmp_path: Path) -> None:
    unit = tmp_path / "docker.service"
    unit.write_text("[Unit]\nDescription=x\n")
    assert load_docker_units([unit]).hosts_flags == ()
    unit.write_text("[Service]\nExecStart=/usr/bin/dockerd --mtu big\n")
    with pytest.raises(InputError, match="--mtu big") as info:
        load_docker_units([unit])
    assert info.value.loc is not None and info.value.loc.line == 2
