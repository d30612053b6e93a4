"""A new user's path through the CLI on the real engine: ``buildrig init`` then ``buildrig run`` with
no flags. run takes runner/config.toml and runner/variables.toml from the project (docker_host's
certificates arrive as File variables from there); without the variables file the job fails with a
hint naming the variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from buildrig.cli import main
from buildrig.run.model import RegistryInfo
from buildrig.run.variables import slug
from buildrig.testbed import dockerhost, registry
from buildrig.trial import scratch_copy, scratch_git

pytestmark = [pytest.mark.engine, pytest.mark.slow]

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"


def _init(tmp_path: Path, way: str, *args: str) -> Path:
    project = scratch_copy(HELLO, tmp_path, f"cli-{way}")
    assert main(["init", "--strategy", way, "--out", str(project), *args]) == 0
    scratch_git(project, "add", "-A")
    scratch_git(project, "commit", "-q", "-m", f"buildrig init --strategy {way}")
    return project


def test_shell_way_runs_with_no_flags(
    testbed: RegistryInfo, tmp_path: Path, cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _init(tmp_path, "shell")
    capsys.readouterr()
    try:
        code = main(["run", str(project)])
    finally:
        # the shell way builds on the host daemon: its tags are this test's to remove
        registry.remove_local_images(cli, (f"{testbed.host}/local/{slug(project.name)}",))
    captured = capsys.readouterr()
    assert code == 0, captured.out[-3000:] + captured.err
    assert f"Using runner config {project / 'runner' / 'config.toml'}" in captured.out
    assert "success" in captured.err and "build-image" in captured.err
    assert "main" in registry.tags(testbed, f"local/{slug(project.name)}")


def test_docker_host_way_gets_its_certificates_from_the_variables_file(
    testbed: RegistryInfo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _init(tmp_path, "docker_host", "--docker-host", dockerhost.address())
    dockerhost.start(project / "runner" / "host" / "certs")
    capsys.readouterr()
    assert main(["run", str(project), "--quiet"]) == 0, capsys.readouterr().err
    assert "success" in capsys.readouterr().err

    # Without the variables file the job cannot copy its certificates: the hint says which
    # variable is missing and where to set it.
    (project / "runner" / "variables.toml").unlink()
    assert main(["run", str(project), "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "hint: the job reads $DOCKER_CA_PEM, which is not set" in err
    assert "Settings > CI/CD > Variables" in err and "--file-var DOCKER_CA_PEM=PATH" in err
