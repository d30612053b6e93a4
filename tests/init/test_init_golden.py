"""Golden tests: `buildrig init` for every way x executor it supports, plus variants.

A case is ``cases/<name>/input/args`` (the CLI arguments, shell-quoted; ``--out`` is added) and an
optional ``input/project/`` tree copied into the output directory first. ``expected/`` holds every
written file except PEM material (random by nature; see test_init_certs.py), ``files.txt`` (each
path with its mode) and the command's stdout/stderr with the output directory shown as ``<out>``.
Regenerate with ``pytest --update-golden``.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
import tomlkit
from init_support import schema_errors

from buildrig.cli import main
from buildrig.strategies import ALL

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "input" / "args").is_file())


def _snapshot(out: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    listing = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        listing.append(f"{rel} {path.stat().st_mode & 0o777:04o}")
        if not rel.endswith(".pem"):
            files[f"files/{rel}"] = path.read_bytes()
    files["files.txt"] = ("\n".join(listing) + "\n").encode()
    return files


def test_every_way_and_executor_has_a_case() -> None:
    for s in ALL:
        for e in s.executors:
            assert f"{s.name}-{e}" in CASES


@pytest.mark.parametrize("case", CASES)
def test_init_golden(
    case: str, tmp_path: Path, update_golden: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    src = CASES_DIR / case
    out = tmp_path / "project"
    project = src / "input" / "project"
    if project.is_dir():
        shutil.copytree(project, out)
    args = shlex.split((src / "input" / "args").read_text())
    code = main(["init", *args, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err

    actual = _snapshot(out)
    actual["stdout"] = captured.out.replace(str(out), "<out>").encode()
    actual["stderr"] = captured.err.replace(str(out), "<out>").encode()

    ci = out / ".gitlab-ci.yml"
    assert not schema_errors(ci.read_text()), schema_errors(ci.read_text())
    for toml_file in out.rglob("*.toml"):
        tomlkit.parse(toml_file.read_text())
    assert "Traceback" not in captured.err

    expected_dir = src / "expected"
    if update_golden:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, data in actual.items():
            target = expected_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return
    expected = {
        p.relative_to(expected_dir).as_posix(): p.read_bytes() for p in expected_dir.rglob("*") if p.is_file()
    }
    assert sorted(actual) == sorted(expected)
    for rel in expected:
        assert actual[rel].decode() == expected[rel].decode(), rel
