"""``buildrig bench`` input errors (no engine needed: they fail before it is asked) and the
backend's pure helpers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from buildrig.bench.backend import services_from_log
from buildrig.cli import main


def test_project_without_dockerfile_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        f"buildrig: error: {tmp_path}: no Dockerfile here: bench builds the project's own Dockerfile"
    )
    assert captured.out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "bench: Invalid value for '--format' / '-f': 'xml' is not one of"),
        (["--scenarios", "cold,hot"], "unknown scenario 'hot'"),
        (["--cache", "maybe"], "'maybe' is not one of 'registry', 'none', 'both'"),
        (["--ways", "shell,podman"], "unknown way(s) podman"),
        (["--repeat", "0"], "--repeat must be at least 1"),
        (["--change", "nope.py"], "--change: no such file"),
    ],
)
def test_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM x\nCOPY a.py .\n")
    (tmp_path / "a.py").write_text("")
    assert main(["bench", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


@dataclass(frozen=True)
class _RunLine:
    t: float
    text: str


def test_services_span_from_run_log() -> None:
    lines = [
        _RunLine(1.0, '\x1b[36;1mPreparing the "docker" executor\x1b[0;m'),
        _RunLine(1.5, "Starting service docker:29.7.2-dind ..."),
        _RunLine(1.6, "Waiting for services to be up and running (timeout 30 seconds)..."),
        _RunLine(3.5, '\x1b[36;1mExecuting "step_script" stage of the job script\x1b[0;m'),
        _RunLine(3.6, "$ docker info"),
    ]
    (span,) = services_from_log(lines)
    assert (span.started, span.ready) == (1.5, 3.5)
    assert services_from_log(lines[:1] + lines[3:]) == ()


