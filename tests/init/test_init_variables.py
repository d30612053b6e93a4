"""``init`` writes ``runner/variables.toml``: the docker_host certificates as File variables that
``run`` reads back, and on a re-run the user's own entries are kept."""

from __future__ import annotations

from pathlib import Path

from buildrig.cli import main
from buildrig.gitlab.variables_file import load


def test_docker_host_file_variables_load_back_as_the_certificates(tmp_path: Path) -> None:
    assert main(["init", "-s", "docker_host", "--docker-host", "10.9.8.7", "-o", str(tmp_path)]) == 0
    rows = {pv.variable.name: pv for pv in load(tmp_path / "runner" / "variables.toml")}
    assert list(rows) == ["DOCKER_CA_PEM", "DOCKER_CERT_PEM", "DOCKER_KEY_PEM"]
    certs = tmp_path / "runner" / "host" / "certs"
    for name, file in (
        ("DOCKER_CA_PEM", "ca.pem"),
        ("DOCKER_CERT_PEM", "cert.pem"),
        ("DOCKER_KEY_PEM", "key.pem"),
    ):
        pv = rows[name]
        assert pv.variable.file and pv.protected and not pv.variable.expand
        assert pv.variable.value == (certs / file).read_text()
    # the key itself stays in its 0600 file, not in the variables file
    assert "PRIVATE KEY" not in (tmp_path / "runner" / "variables.toml").read_text()


def test_rerun_keeps_user_entries_and_comments(tmp_path: Path) -> None:
    assert main(["init", "-s", "shell", "-o", str(tmp_path)]) == 0
    path = tmp_path / "runner" / "variables.toml"
    assert load(path) == ()
    path.write_text(path.read_text() + '\n# mine\n[[variables]]\nkey = "MY_TOKEN"\nvalue = "abcdefgh"\n')
    assert (
        main(["init", "-s", "docker_host", "--docker-host", "10.9.8.7", "-o", str(tmp_path), "--force"]) == 0
    )
    text = path.read_text()
    assert "# mine" in text
    assert [pv.variable.name for pv in load(path)] == [
        "MY_TOKEN",
        "DOCKER_CA_PEM",
        "DOCKER_CERT_PEM",
        "DOCKER_KEY_PEM",
    ]


def test_broken_variables_file_fails_before_any_write(tmp_path: Path) -> None:
    (tmp_path / "runner").mkdir()
    (tmp_path / "runner" / "variables.toml").write_text("[[variables]\n")
    assert main(["init", "-s", "shell", "-o", str(tmp_path)]) == 2
    assert not (tmp_path / ".gitlab-ci.yml").exists()
