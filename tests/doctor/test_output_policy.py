"""``doctor -o`` follows the write policy: never the file being checked, never through a symlink,
a device is written to, not replaced."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from buildrig.cli import main

CI = "build:\n  image: docker:27\n  script: [docker build .]\n"


def _project(tmp_path: Path) -> Path:
    (tmp_path / ".gitlab-ci.yml").write_text(CI)
    return tmp_path


@pytest.mark.parametrize("name", [".gitlab-ci.yml", "alias.yml"])
def test_output_over_the_checked_file_is_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _project(tmp_path)
    if name == "alias.yml":
        os.link(d / ".gitlab-ci.yml", d / name)
    code = main(["doctor", str(d), "-o", str(d / name)])
    err = capsys.readouterr().err
    assert code == 2 and "is an input of this command" in err and "Traceback" not in err
    assert (d / ".gitlab-ci.yml").read_text() == CI


def test_output_through_a_symlink_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _project(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    (d / "report.json").symlink_to(victim)
    assert main(["doctor", str(d), "-f", "json", "-o", str(d / "report.json")]) == 2
    assert "is a symlink" in capsys.readouterr().err
    assert victim.read_text() == "keep\n" and (d / "report.json").is_symlink()


def test_output_to_dev_null_keeps_the_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _project(tmp_path)
    assert main(["doctor", str(d), "-o", "/dev/null"]) in (0, 1)
    assert "written to /dev/null" in capsys.readouterr().err
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
