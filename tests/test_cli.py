from __future__ import annotations

import subprocess
import sys

from buildrig import __version__
from buildrig.cli import main


def test_version(capsys: object) -> None:
    assert main(["--version"]) == 0


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "buildrig", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"buildrig {__version__}"


def test_unknown_command_exits_nonzero() -> None:
    assert main(["no-such-command"]) != 0
