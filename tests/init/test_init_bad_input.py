"""Bad input: one clear line on stderr, exit != 0, no traceback, nothing written or changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildrig.cli import main
from buildrig.strategies import ALL, EXECUTORS


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["init", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("buildrig: error:")]
    assert len(lines) == 1, err
    return lines[0]


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_unknown_way_lists_valid_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["--strategy", "podman", "--out", str(tmp_path / "o")], capsys)
    assert code != 0
    line = _one_error_line(err)
    for s in ALL:
        assert s.name in line
    assert not (tmp_path / "o").exists()


def test_unknown_executor_lists_valid_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["--strategy", "dind", "--executor", "docker+machine", "--out", str(tmp_path)], capsys)
    assert code != 0
    line = _one_error_line(err)
    for e in EXECUTORS:
        assert e in line
    assert _tree(tmp_path) == {}


@pytest.mark.parametrize(
    ("way", "executor", "why"),
    [
        ("dind", "shell", "cannot start services"),
        ("shell", "docker", "Use docker_sock"),
        ("shell", "kubernetes", "runs docker on the runner host"),
        ("kaniko", "shell", "ignores image:"),
        ("docker_sock", "shell", "no socket to bind"),
    ],
)
def test_executor_the_way_cannot_use_says_why(
    way: str, executor: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(["-s", way, "-e", executor, "-o", str(tmp_path), "--docker-host", "10.0.0.2"], capsys)
    assert code != 0
    line = _one_error_line(err)
    assert f"{way} cannot run on the {executor} executor" in line and why in line
    assert _tree(tmp_path) == {}


def test_existing_job_refused_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ci = "stages: [build]\n\n# mine\nbuild-image:\n  stage: build\n  script: [make]\n"
    (tmp_path / ".gitlab-ci.yml").write_text(ci)
    code, err = _run(["-s", "dind", "-o", str(tmp_path)], capsys)
    assert code != 0
    line = _one_error_line(err)
    assert f"{tmp_path / '.gitlab-ci.yml'}:4:" in line and "--force" in line
    assert _tree(tmp_path) == {".gitlab-ci.yml": ci.encode()}


def test_malformed_yaml_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ci = "stages:\n  - build\n\njob:\n  script:\n    - echo hi\n   bad: [\n"
    (tmp_path / ".gitlab-ci.yml").write_text(ci)
    code, err = _run(["-s", "kaniko", "-o", str(tmp_path)], capsys)
    assert code != 0
    line = _one_error_line(err)
    assert f"{tmp_path / '.gitlab-ci.yml'}:7: malformed YAML" in line
    assert _tree(tmp_path) == {".gitlab-ci.yml": ci.encode()}


def test_yaml_top_level_list_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("- a\n- b\n")
    code, err = _run(["-s", "kaniko", "-o", str(tmp_path)], capsys)
    assert code != 0 and "must be a mapping" in _one_error_line(err)


def test_malformed_toml_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    text = 'concurrent = 1\n\n[[runners]]\n  name = "x"\n  executor = docker\n'
    cfg.write_text(text)
    out = tmp_path / "out"
    code, err = _run(["-s", "dind", "-o", str(out), "--runner-config", str(cfg)], capsys)
    assert code != 0
    line = _one_error_line(err)
    assert f"{cfg}:5: malformed TOML" in line
    assert cfg.read_text() == text
    assert not out.exists()


def test_missing_runner_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(
        ["-s", "dind", "-o", str(tmp_path), "--runner-config", str(tmp_path / "nope.toml")], capsys
    )
    assert code != 0 and "runner config not found" in _one_error_line(err)
    assert _tree(tmp_path) == {}


def test_unwritable_out_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    code, err = _run(["-s", "dind", "-o", str(blocker / "project")], capsys)
    assert code != 0
    line = _one_error_line(err)
    assert "cannot write here" in line and str(blocker) in line
    assert blocker.read_text() == "not a directory\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_unwritable_runner_dir_leaves_yaml_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # .gitlab-ci.yml is writable but runner/ is a file: nothing at all may be written.
    ci = "x:\n  script: [make]\n"
    (tmp_path / ".gitlab-ci.yml").write_text(ci)
    (tmp_path / "runner").write_text("in the way\n")
    code, err = _run(["-s", "kaniko", "-o", str(tmp_path)], capsys)
    assert code != 0
    assert "cannot write here" in _one_error_line(err)
    assert _tree(tmp_path) == {".gitlab-ci.yml": ci.encode(), "runner": b"in the way\n"}


@pytest.mark.parametrize(
    ("addr", "why"),
    [
        ("0.0.0.0", "every interface"),
        ("8.8.8.8", "public address"),
        ("10.0.0.5:2375", "plain, unauthenticated"),
        ("127.0.0.1", "loopback"),
        ("docker.example.com", "private IP address"),
        ("unix:///var/run/docker.sock", "tcp://"),
    ],
)
def test_docker_host_refusals(
    addr: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(["-s", "docker_host", "-o", str(tmp_path), "--docker-host", addr], capsys)
    assert code != 0
    assert why in _one_error_line(err)
    assert _tree(tmp_path) == {}


@pytest.mark.parametrize(
    "addr", ["192.168.5.4", "172.17.0.1:2376", "100.64.1.2", "tcp://10.0.0.9:12376", "[fd00::5]"]
)
def test_docker_host_private_addresses_accepted(
    addr: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(["-s", "docker_host", "-o", str(tmp_path), "--docker-host", addr], capsys)
    assert code == 0, err
    dropin = (tmp_path / "runner/host/docker.service.d/buildrig-tls.conf").read_text()
    assert "--tlsverify" in dropin


def test_docker_host_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["-s", "docker_host", "-o", str(tmp_path)], capsys)
    assert code != 0 and "--docker-host" in _one_error_line(err)


def test_insecure_i_know_allows_public_with_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(
        ["-s", "docker_host", "-o", str(tmp_path), "--docker-host", "0.0.0.0", "--insecure-i-know"], capsys
    )
    assert code == 0
    assert "warning:" in err and "every interface" in err
    assert (tmp_path / "runner/host/certs/server-cert.pem").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["--dockerfile", "/etc/passwd"],
        ["--context", "../outside"],
        ["--dockerfile", 'Docker"file'],
        ["--job-name", "variables"],
        ["--job-name", ".hidden"],
        ["--mtu", "100"],
        ["--registry-mirror", "mirror.example.com"],
        ["--cache", "s3"],
        ["--image", "my image"],
    ],
)
def test_bad_values(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["-s", "dind", "-o", str(tmp_path), *args], capsys)
    assert code != 0
    _one_error_line(err)
    assert _tree(tmp_path) == {}


def test_dind_only_options_on_other_ways_are_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["init", "-s", "kaniko", "-o", str(tmp_path), "--mtu", "1360", "--no-tls"])
    out = capsys.readouterr().out
    assert code == 0
    assert "--mtu applies only to the dind" in out and "--no-tls applies only to dind" in out
    assert "mtu" not in (tmp_path / ".gitlab-ci.yml").read_text()
