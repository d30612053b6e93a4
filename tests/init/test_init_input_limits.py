"""init's inputs within the limits on input (issue 14 items 1 and 7): exit 2, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from buildrig.cli import main


def _init(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["init", "--strategy", "dind", *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.strip()


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 5000 + "]" * 5000 + "\n",
        "a:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(1500)),
    ],
)
def test_deep_gitlab_ci_yml(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(text)
    before = _files(tmp_path)
    code, err = _init(["--out", str(tmp_path)], capsys)
    assert code == 2 and "nested deeper than the limit of 100 levels" in err
    assert err.count("\n") == 0 and _files(tmp_path) == before


@pytest.mark.parametrize("kind", ["zero", "fifo"])
def test_runner_config_that_is_no_regular_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    target = Path("/dev/zero")
    if kind == "fifo":
        target = tmp_path / "fifo"
        os.mkfifo(target)
    out = tmp_path / "out"
    code, err = _init(["--out", str(out), "--runner-config", str(target)], capsys)
    assert code == 2 and err.endswith(f"{target}: not a regular file")
    assert not out.exists() or _files(out) == {}
