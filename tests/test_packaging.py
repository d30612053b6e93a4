"""The package as users get it: a wheel built from this tree, installed into a clean venv.

Checks what an editable install hides: package data inside the wheel, one version (pyproject takes
``buildrig.__version__``), the console script and ``python -m buildrig``. Needs pip to reach PyPI
(the build backend and the dependencies), like ``pip install`` itself; about 15 s with pip's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from buildrig import __version__

ROOT = Path(__file__).resolve().parents[1]

# ~23 s here with a warm pip cache (wheel build, venv, dependencies from PyPI): above the 20 s line
pytestmark = pytest.mark.slow


def _run(*cmd: str | Path, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    assert proc.returncode == 0, f"{cmd}: {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv holding only the wheel of this tree and its dependencies."""
    root = tmp_path_factory.mktemp("pkg")
    # Built from a copy: setuptools leaves build/ beside pyproject.toml, and the tree may be in use.
    tree = root / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    dist = root / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, tree, cwd=root)
    wheels = list(dist.glob("buildrig-*.whl"))
    assert [w.name for w in wheels] == [f"buildrig-{__version__}-py3-none-any.whl"]
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    for data in (
        "buildrig/testbed/assets/dockerd-entrypoint.sh",
        "buildrig/testbed/assets/docker-entrypoint.sh",
        "buildrig/py.typed",
        "buildrig/__main__.py",
    ):
        assert data in names, f"{data} missing from the wheel"
    venv.EnvBuilder(with_pip=True, clear=True).create(root / "venv")
    bin_dir = root / "venv" / "bin"
    _run(bin_dir / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheels[0], cwd=root)
    return bin_dir


def test_installed_cli(installed: Path, tmp_path: Path) -> None:
    # cwd outside the source tree: the installed package must not need it
    assert _run(installed / "buildrig", "--version", cwd=tmp_path).strip() == f"buildrig {__version__}"
    doc = json.loads(_run(installed / "buildrig", "strategies", "--format", "json", cwd=tmp_path))
    assert doc["version"] == 2 and doc["ways"][0]["speed_rank"] == 1
    assert "Usage: buildrig" in _run(installed / "python", "-m", "buildrig", "--help", cwd=tmp_path)
    location = _run(installed / "python", "-c", "import buildrig; print(buildrig.__file__)", cwd=tmp_path)
    assert str(ROOT) not in location
    # package data is read through importlib.resources, from the installed copy
    script = (
        "from importlib.resources import files; "
        "print(len(files('buildrig.testbed').joinpath('assets', 'dockerd-entrypoint.sh').read_bytes()))"
    )
    assert int(_run(installed / "python", "-c", script, cwd=tmp_path)) > 100
    meta = _run(
        installed / "python",
        "-c",
        "import importlib.metadata as m; print(m.version('buildrig'))",
        cwd=tmp_path,
    )
    assert meta.strip() == __version__
