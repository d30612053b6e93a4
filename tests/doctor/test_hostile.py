"""doctor on hostile input (issue 14): no secret in any format, valid SARIF URIs, exit 2 on limits."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from buildrig.cli import main

TOKEN = "glrt-SECRETtoken0123456789"
JOB = "build:\n  image: docker:latest\n  script: [docker build .]\n"
RUNNER = '[[runners]]\n  name = "r"\n  url = "https://gitlab.example.com"\n  executor = "docker"\n'


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "codequality"])
@pytest.mark.parametrize(
    "extra",
    [
        f'  tokn = "{TOKEN}"\n',
        f'  environment = ["REGISTRY_PASSWORD={TOKEN}"]\n  enviroment = ["A={TOKEN}"]\n',
        f'  [runners.docker]\n    imagee = "{TOKEN}"\n',
    ],
)
def test_runner_credentials_never_reach_a_report(
    tmp_path: Path, fmt: str, extra: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(JOB)
    (tmp_path / "config.toml").write_text(RUNNER + f'  token = "{TOKEN}"\n' + extra)
    report = tmp_path / "report.out"
    main(["doctor", str(tmp_path), "-f", fmt, "-o", str(report)])
    captured = capsys.readouterr()
    text = report.read_text()
    assert TOKEN not in text + captured.out + captured.err
    if "tokn" in extra:
        assert "BR002" in text and "[MASKED]" in text  # the finding is still there


def test_br002_still_shows_harmless_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(JOB)
    (tmp_path / "config.toml").write_text(RUNNER + "  [runners.docker]\n    priviledged = true\n")
    main(["doctor", str(tmp_path)])
    assert "priviledged = True" in capsys.readouterr().out


def test_sarif_uris_are_percent_encoded(tmp_path: Path) -> None:
    name = "my ci #1 50%ü.yml"
    (tmp_path / ".gitlab-ci.yml").write_text(f"include: '{name}'\n")
    (tmp_path / name).write_text(JOB)
    out = tmp_path / "r.sarif"
    main(["doctor", str(tmp_path), "-f", "sarif", "-o", str(out)])
    uris = [
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for res in json.loads(out.read_text())["runs"][0]["results"]
        for loc in res.get("locations", [])
    ]
    assert "my%20ci%20%231%2050%25%C3%BC.yml" in uris
    for uri in uris:
        assert re.fullmatch(r"[A-Za-z0-9\-._~/%]*", uri)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({".gitlab-ci.yml": "build:\n  script: " + "[" * 30000 + "]" * 30000 + "\n"}, "nested deeper"),
        ({".gitlab-ci.yml": JOB, "daemon.json": "[" * 100000 + "]" * 100000}, "nested deeper"),
        ({".gitlab-ci.yml": "include: " + "a" * 300 + ".yml\n" + JOB}, "cannot be read"),
    ],
)
def test_limits_exit_2_with_one_line(
    tmp_path: Path, files: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert main(["doctor", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_tlscert_device_or_fifo_is_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / ".gitlab-ci.yml").write_text(JOB)
    for target in ("/dev/zero", str(tmp_path / "fifo")):
        (tmp_path / "daemon.json").write_text(json.dumps({"tlscert": target}))
        assert main(["doctor", str(tmp_path)]) in (0, 1)


def test_runner_config_device_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(JOB)
    assert main(["doctor", str(tmp_path), "--runner-config", "/dev/zero"]) == 2
    assert capsys.readouterr().err.strip().endswith(" /dev/zero: not a regular file")


def test_symlinked_config_toml_out_of_the_project_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (tmp_path / "host.toml").write_text(RUNNER + f'  tokn = "{TOKEN}"\n')
    os.symlink(tmp_path / "host.toml", proj / "config.toml")
    (proj / ".gitlab-ci.yml").write_text(JOB)
    assert main(["doctor", str(proj)]) == 2
    captured = capsys.readouterr()
    assert "leads outside" in captured.err and TOKEN not in captured.out + captured.err


def test_symlinked_docker_unit_out_of_the_project_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    (proj / "docker.service.d").mkdir(parents=True)
    (tmp_path / "host.conf").write_text(
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2375\n"
    )
    os.symlink(tmp_path / "host.conf", proj / "docker.service.d" / "override.conf")
    (proj / ".gitlab-ci.yml").write_text(JOB)
    assert main(["doctor", str(proj)]) == 2
    assert "override.conf: leads outside" in capsys.readouterr().err


def test_many_unknown_daemon_keys_are_summed_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(JOB)
    (tmp_path / "daemon.json").write_text(
        json.dumps({"insecure-registry": [], **{f"k{i}": i for i in range(5000)}})
    )
    out = tmp_path / "r.json"
    main(["doctor", str(tmp_path), "-f", "json", "-o", str(out)])
    br005 = [f for f in json.loads(out.read_text())["findings"] if f["rule"] == "BR005"]
    assert len(br005) == 21
    assert any("did you mean 'insecure-registries'" in f["message"] for f in br005)
    summary = [f for f in br005 if "4,981 more keys" in f["message"]]
    assert summary and summary[0]["line"] == 1 and "'k19'" in summary[0]["message"]
