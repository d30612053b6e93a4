"""README.md's command synopsis and the real ``--help`` list the same commands and options.

Every leaf command of the CLI has a ``buildrig <command>`` line in the synopsis block (with its
indented continuation lines), and that entry names exactly the long options ``--help`` shows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from buildrig.cli import load_commands, main

app = load_commands()

README = Path(__file__).resolve().parents[2] / "README.md"
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _synopsis() -> dict[str, set[str]]:
    text = README.read_text()
    block = text.split("## Commands\n\n```\n", 1)[1].split("```", 1)[0]
    entries: dict[str, set[str]] = {}
    current = ""
    for line in block.splitlines():
        line = line.split("#", 1)[0].rstrip()
        if line.startswith("buildrig"):
            words = []
            for word in line.split()[1:]:
                if not re.fullmatch(r"[a-z][a-z-]*", word):
                    break
                words.append(word)
            current = " ".join(words)
            assert current not in entries, f"README synopsis lists `buildrig {current}` twice"
            entries[current] = set()
        elif not line.strip():
            continue
        entries[current] |= set(_OPTION.findall(line))
    return entries


def _commands(command: Any, path: tuple[str, ...] = ()) -> dict[str, Any]:
    found = {" ".join(path): command} if not getattr(command, "commands", None) or not path else {}
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found |= _commands(sub, (*path, name))
    return found


def _options(command: Any) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option":
            names |= {o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")}
    return names - {"--help"}


CLI = _commands(typer.main.get_command(app))
CLI[""] = typer.main.get_command(app)  # the root's own options: --version, completion


def test_every_command_is_in_the_readme_and_nothing_else() -> None:
    assert set(_synopsis()) == set(CLI)


@pytest.mark.parametrize("name", sorted(CLI))
def test_readme_options_match_help(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main([*name.split(), "--help"]) == 0
    shown = capsys.readouterr().out
    options = _options(CLI[name])
    for option in options:  # what click knows is what --help prints
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", shown), f"{option} not in {name} --help"
    assert _synopsis()[name] == options, f"README synopsis of `buildrig {name}` vs its --help"
