from __future__ import annotations

from pathlib import Path

import pytest

from buildrig.errors import InputError
from buildrig.gitlab.runner_config import load_runner_config, load_runner_config_text

FIX = Path(__file__).parent / "fixtures" / "runner" / "config.toml"


def test_runners_sections_and_lines() -> None:
    cfg = load_runner_config(FIX)
    assert cfg.concurrent == 4
    assert [r.name for r in cfg.runners] == ["dind-runner", "k8s", "shell"]
    dind, k8s, shell = cfg.runners
    assert dind.loc.line == 7 and dind.executor == "docker"
    assert dind.key_locs["executor"].line == 11
    assert [(v.name, v.value, v.loc.line if v.loc else 0) for v in dind.environment] == [
        ("DOCKER_DRIVER", "overlay2", 13),
        ("DOCKER_TLS_CERTDIR", "/certs", 14),
    ]
    assert dind.feature_flags == {"FF_NETWORK_PER_BUILD": True}
    assert dind.tags == () and dind.run_untagged is None
    d = dind.docker
    assert d is not None and d.privileged and d.volumes == ("/certs/client", "/cache")
    assert d.loc is not None and d.loc.line == 18
    assert d.key_locs["privileged"].line == 21
    assert d.pull_policy == ("always", "if-not-present")
    assert d.raw["shm_size"] == 0
    svc = d.services[0]
    assert (svc.name, svc.alias, svc.command) == ("docker:29.7.2-dind", "docker", ("--mtu=1360",))
    assert svc.loc is not None and svc.loc.line == 26
    assert [(v.name, v.value) for v in svc.variables] == [("HEALTHCHECK_TCP_PORT", "2376")]

    assert k8s.tags == ("k8s", "build") and k8s.run_untagged is False
    kube = k8s.kubernetes
    assert kube is not None and kube.privileged and kube.namespace == "ci"
    assert kube.pod_annotations == {"container.apparmor.security.beta.kubernetes.io/build": "unconfined"}
    kinds = [
        (v.kind, v.name, v.mount_path, v.host_path, v.read_only, v.loc.line if v.loc else 0)
        for v in kube.volumes
    ]
    assert kinds == [
        ("empty_dir", "docker-certs", "/certs/client", None, False, 42),
        ("host_path", "docker-sock", "/var/run/docker.sock", "/var/run/docker.sock", True, 46),
    ]
    assert shell.executor == "shell" and shell.docker is None and shell.loc.line == 52


def test_malformed_toml_names_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="invalid TOML") as info:
        load_runner_config_text('[[runners]]\n  name = "a"\n  executor = docker\n', tmp_path / "config.toml")
    assert info.value.loc is not None and info.value.loc.line == 3


def test_wrong_type_names_key_line(tmp_path: Path) -> None:
    text = '[[runners]]\n  name = "a"\n  executor = "docker"\n  [runners.docker]\n    privileged = "yes"\n'
    with pytest.raises(InputError, match=r"privileged must be true or false") as info:
        load_runner_config_text(text, tmp_path / "config.toml")
    assert info.value.loc is not None and info.value.loc.line == 5


def test_environment_entry_without_equals_is_skipped_like_the_runner_does(tmp_path: Path) -> None:
    cfg = load_runner_config_text(
        '[[runners]]\n  executor = "shell"\n  environment = ["OOPS", "A=1"]\n', tmp_path / "c.toml"
    )
    assert [(v.name, v.value) for v in cfg.runners[0].environment] == [("A", "1")]
    assert cfg.runners[0].raw["environment"] == ["OOPS", "A=1"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_runner_config(tmp_path / "config.toml")


def test_empty_config(tmp_path: Path) -> None:
    cfg = load_runner_config_text("concurrent = 1\n", tmp_path / "config.toml")
    assert cfg.runners == () and cfg.concurrent == 1


def test_tags_string_inline_table_and_multiline_strings(tmp_path: Path) -> None:
    text = (
        "[[runners]]\n"
        '  name = "a"\n'
        '  executor = "docker"\n'
        '  tags = "docker, linux"\n'
        '  pre_build_script = """\n'
        "privileged = true\n"
        '"""\n'
        '  docker = { image = "alpine", privileged = true }\n'
        "[[runners]]\n"
        '  name = "b"\n'
        '  executor = "shell"\n'
    )
    cfg = load_runner_config_text(text, tmp_path / "config.toml")
    a, b = cfg.runners
    assert a.tags == ("docker", "linux")
    assert a.docker is not None and a.docker.privileged and a.docker.image == "alpine"
    assert a.docker.loc is not None and a.docker.loc.line == 1  # inline table: the runner's line
    assert a.key_locs["pre_build_script"].line == 5
    assert b.loc.line == 9 and b.key_locs["executor"].line == 11


def test_dedicated_marker_belongs_to_the_entry_it_sits_in(tmp_path: Path) -> None:
    text = (
        "# buildrig: dedicated\n"  # before any [[runners]]: no runner's
        '[[runners]]\n  name = "a"\n  executor = "docker"\n'
        '  [runners.docker]\n    image = "x"\n    # buildrig: dedicated\n'
        '[[runners]]\n  name = "b"\n  executor = "shell"\n'
        '  pre_build_script = """\n# buildrig: dedicated\n"""\n'  # inside a string: not a comment
        '[[runners]]\n  name = "c"\n  executor = "shell"\n'
    )
    a, b, c = load_runner_config_text(text, tmp_path / "config.toml").runners
    assert a.dedicated is not None and a.dedicated.line == 7
    assert b.dedicated is None and c.dedicated is None
