"""The structure of CONTRIBUTING.md, enforced: import-linter's contract in pyproject.toml, no
import of our own modules the import graph cannot see, no module over 600 lines."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "buildrig"


def _lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    return subprocess.run([lint, *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_the_layers_contract_is_kept() -> None:
    proc = _lint_imports()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout and " kept" in proc.stdout


def test_an_arrow_pointing_up_breaks_the_contract(tmp_path: Path) -> None:
    """The same tool on a contract the code does not keep (run under the CLI, not above it)."""
    config = tmp_path / "upside-down.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "buildrig"\n\n[[tool.importlinter.contracts]]\n'
        'name = "upside down"\ntype = "layers"\nlayers = ["buildrig.run", "buildrig.cli"]\n'
    )
    proc = _lint_imports(str(config), "--no-cache")
    assert proc.returncode != 0
    assert "upside down BROKEN" in proc.stdout and "buildrig.cli" in proc.stdout


def _dynamic_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """``import_module(...)`` / ``__import__(...)`` calls whose target is ours or not a literal."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name not in ("import_module", "__import__"):
            continue
        arg = node.args[0] if node.args else None
        target = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
        if target is None or target == "buildrig" or target.startswith(("buildrig.", ".")):
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_module_imports_our_modules_by_name() -> None:
    hidden = [
        f"{path.relative_to(ROOT)}:{line}: {call}"
        for path in sorted(SRC.rglob("*.py"))
        for line, call in _dynamic_imports(ast.parse(path.read_text(), str(path)))
    ]
    assert hidden == []


def test_the_check_sees_a_hidden_import() -> None:
    tree = ast.parse(
        "import importlib\nm = importlib.import_module('buildrig.testbed.registry')\n"
        "n = __import__(name)\nimport_module('json')\n"
    )
    assert [line for line, _ in _dynamic_imports(tree)] == [2, 3]


def test_no_module_is_over_600_lines() -> None:
    """Rooms that do one job: past 600 lines a module is split by what its parts do."""
    long = {
        str(path.relative_to(ROOT)): n
        for path in sorted(SRC.rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > 600
    }
    assert long == {}
