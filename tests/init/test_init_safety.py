"""init never loses the user's content: existing runner files are merged or refused, every file is
re-parsed before anything is written, and the files are written all or nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import tomlkit

from buildrig.cli import main
from buildrig.errors import BuildrigError
from buildrig.init import InitOptions, init_project


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def _fails(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["init", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("buildrig: error:")]
    assert len(lines) == 1, err
    return lines[0]


REGISTERED = """\
concurrent = 2
[[runners]]
  name = "box"
  url = "https://gitlab.example.com/"
  token = "glrt-KEEP-ME"
  executor = "docker"
"""


def test_existing_runner_config_is_merged_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "runner").mkdir()
    (tmp_path / "runner" / "config.toml").write_text(REGISTERED)
    init_project(InitOptions(strategy="dind", out=tmp_path))
    text = (tmp_path / "runner" / "config.toml").read_text()
    assert text.startswith(REGISTERED.split("[[runners]]")[0])
    runner = tomlkit.parse(text)["runners"][0]
    assert runner["token"] == "glrt-KEEP-ME" and runner["url"] == "https://gitlab.example.com/"
    assert runner["docker"]["privileged"] is True


def test_edited_setup_md_is_refused_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    init_project(InitOptions(strategy="dind", out=tmp_path))
    setup = tmp_path / "runner" / "SETUP.md"
    setup.write_text(setup.read_text() + "\nOur notes: the runner is box-3.\n")
    before = _tree(tmp_path)
    line = _fails(["-s", "kaniko", "--job-name", "k", "-o", str(tmp_path)], capsys)
    assert "SETUP.md: exists and differs" in line and "--force" in line
    assert _tree(tmp_path) == before
    # The same run again is not a change: no --force needed.
    init_project(InitOptions(strategy="dind", out=tmp_path, force=True))
    init_project(InitOptions(strategy="dind", out=tmp_path, force=True, job_name="build-image"))


@pytest.mark.parametrize(
    ("ci", "args", "why"),
    [
        ("{}\n", [], "invalid YAML"),
        ("a:\n  script: [x]\n...\n", [], "invalid YAML"),
        (
            "a:\n  script: [x]\nbuild-image: &tpl\n  script: [y]\nb:\n  <<: *tpl\n",
            ["--force"],
            "undefined alias",
        ),
        ("123:\n  script: [x]\n", ["--job-name", "123"], "already exists"),
    ],
)
def test_merges_that_would_break_the_file_write_nothing(
    ci: str, args: list[str], why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(ci)
    line = _fails(["-s", "kaniko", "-o", str(tmp_path), *args], capsys)
    assert why in line
    assert _tree(tmp_path) == {".gitlab-ci.yml": ci.encode()}


def test_numeric_job_name_replaces_the_numeric_key(tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("123:\n  script: [x]\nother:\n  script: [y]\n")
    init_project(InitOptions(strategy="kaniko", out=tmp_path, job_name="123", force=True))
    text = (tmp_path / ".gitlab-ci.yml").read_text()
    assert "script: [x]" not in text and "other:\n  script: [y]\n" in text


def test_empty_inline_runners_array_becomes_tables(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("concurrent = 1\nrunners = []\n")
    init_project(InitOptions(strategy="kaniko", out=tmp_path, runner_config=cfg))
    doc = tomlkit.parse(cfg.read_text())
    assert doc["concurrent"] == 1 and doc["runners"][0]["executor"] == "docker"


@pytest.mark.parametrize(
    "section",
    [
        '[runners.docker]\nvolumes = "/cache"\n',
        'docker = "yes"\n',
        "[runners.docker]\nsecurity_opt = 3\n",
    ],
)
def test_wrong_toml_types_are_one_line(
    section: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "config.toml"
    text = 'concurrent = 1\n[[runners]]\nname = "a"\nexecutor = "docker"\n' + section
    cfg.write_text(text)
    line = _fails(["-s", "buildkit", "-o", str(tmp_path / "p"), "--runner-config", str(cfg)], capsys)
    assert "config.toml" in line
    assert cfg.read_text() == text and not (tmp_path / "p").exists()


def test_failure_part_way_restores_every_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ci = "x:\n  script: [make]\n"
    (tmp_path / ".gitlab-ci.yml").write_text(ci)
    real = os.replace
    calls = {"n": 0}

    def replace(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # .gitlab-ci.yml is in place, the runner side fails
            raise OSError(28, "No space left on device", dst)
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(BuildrigError, match="No space left"):
        init_project(InitOptions(strategy="kaniko", out=tmp_path))
    monkeypatch.undo()
    assert _tree(tmp_path) == {".gitlab-ci.yml": ci.encode()}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gitlab-ci.yml"]


@pytest.mark.parametrize("addr", ["10.0.0.5:²", "10.0.0.5:٣", "[10.0.0.5]:x", "10.0.0.5:99999", ":"])
def test_odd_docker_host_values_are_one_line(
    addr: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _fails(["-s", "docker_host", "--docker-host", addr, "-o", str(tmp_path)], capsys)
    assert "--docker-host" in line


def test_kept_keys_get_mode_0600_and_foreign_certs_need_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init_project(InitOptions(strategy="docker_host", docker_host="10.20.30.40", out=tmp_path))
    certs = tmp_path / "runner" / "host" / "certs"
    (certs / "key.pem").chmod(0o644)
    (certs / "server-key.pem").chmod(0o644)
    init_project(InitOptions(strategy="docker_host", docker_host="10.20.30.40", out=tmp_path, force=True))
    for key in ("key.pem", "server-key.pem"):
        assert stat.S_IMODE((certs / key).stat().st_mode) == 0o600
    assert stat.S_IMODE((certs / "ca.pem").stat().st_mode) == 0o644
    before = _tree(tmp_path)
    line = _fails(
        ["-s", "docker_host", "--docker-host", "10.20.30.41", "--job-name", "b2", "-o", str(tmp_path)], capsys
    )
    assert "do not name 10.20.30.41" in line
    assert _tree(tmp_path) == before


def test_symlinked_ci_file_is_not_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "elsewhere.yml"
    real.write_text("x:\n  script: [make]\n")
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / ".gitlab-ci.yml").symlink_to(real)
    line = _fails(["-s", "kaniko", "-o", str(proj)], capsys)
    assert "is a symlink" in line
    assert real.read_text() == "x:\n  script: [make]\n" and (proj / ".gitlab-ci.yml").is_symlink()


@pytest.mark.parametrize(
    ("flag", "value"), [("--context", "-q"), ("--context", "--file=/etc/passwd"), ("--dockerfile", "-x")]
)
def test_paths_starting_with_a_dash_are_refused(
    flag: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _fails(["-s", "dind", flag, value, "-o", str(tmp_path)], capsys)
    assert "must not start with '-'" in line and f"./{value}" in line
    assert _tree(tmp_path) == {}
    init_project(InitOptions(strategy="dind", out=tmp_path, **{flag[2:]: f"./{value}"}))
