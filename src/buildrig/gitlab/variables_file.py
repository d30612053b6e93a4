"""The project's CI/CD variables file (``runner/variables.toml``), read into :class:`Variable` values.

It holds what GitLab keeps on the project's Settings > CI/CD > Variables page, one
``[[variables]]`` table per row of that page, so a local ``buildrig run`` sees the same variables
as a pipeline::

    [[variables]]
    key = "DOCKER_CA_PEM"            # required: the variable's name
    type = "file"                    # "variable" (default) or "file" (value written to a temp file)
    value_file = "host/certs/ca.pem" # the value is this file's content (relative to this file) ...
    # value = "..."                  # ... or the value itself; exactly one of the two
    masked = false                   # shown as [MASKED] in the log
    protected = true                 # GitLab: only on protected branches and tags
    raw = true                       # GitLab's "Expand variable reference" unchecked
    description = "..."

Keeping certificate and key files apart (``value_file``) keeps secrets out of the file itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildrig.errors import InputError, Loc
from buildrig.gitlab.model import Variable

#: Where ``init`` writes it and ``run`` looks for it, relative to the project directory.
DEFAULT_PATH = Path("runner") / "variables.toml"

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIELDS = frozenset({"key", "type", "value", "value_file", "masked", "protected", "raw", "description"})
_TABLE = re.compile(r"^[ \t]*\[\[[ \t]*variables[ \t]*\]\]", re.MULTILINE)
_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


@dataclass(frozen=True)
class ProjectVariable:
    """One row of the settings page. ``variable.value`` holds the content for file variables."""

    variable: Variable
    protected: bool = False


def load(path: Path) -> tuple[ProjectVariable, ...]:
    """Read a variables file; any mistake is an :class:`InputError` naming ``file:line``."""
    # Here, not at the top: every `run` imports this module for DEFAULT_PATH, few have the file.
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason}", loc=Loc.of(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", loc=Loc.of(path)) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        message = _TOML_LINE.sub("", str(exc)).strip()
        line = int(found.group(1)) if found else 0
        raise InputError(f"not valid TOML: {message}", loc=Loc.of(path, line)) from None
    unknown = sorted(set(data) - {"variables"})
    if unknown:
        raise InputError(
            f"unknown top-level key {unknown[0]!r}; expected [[variables]] tables", loc=Loc.of(path)
        )
    rows = data.get("variables", [])
    if not isinstance(rows, list):
        raise InputError("variables must be [[variables]] tables", loc=Loc.of(path))
    lines = [text.count("\n", 0, m.start()) + 1 for m in _TABLE.finditer(text)]
    seen: set[str] = set()
    result: list[ProjectVariable] = []
    for index, row in enumerate(rows):
        loc = Loc.of(path, lines[index] if index < len(lines) else 0)
        var = _row(row, path, loc)
        if var.variable.name in seen:
            raise InputError(f"{var.variable.name} is defined twice", loc=loc)
        seen.add(var.variable.name)
        result.append(var)
    return tuple(result)


def _row(row: Any, path: Path, loc: Loc) -> ProjectVariable:
    if not isinstance(row, dict):
        raise InputError("each [[variables]] entry must be a table", loc=loc)
    unknown = sorted(set(row) - _FIELDS)
    if unknown:
        raise InputError(f"unknown field {unknown[0]!r}; valid: {', '.join(sorted(_FIELDS))}", loc=loc)
    key = row.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise InputError(
            f"key {key!r}: a variable name (letters, digits, _; not starting with a digit)", loc=loc
        )
    kind = row.get("type", "variable")
    if kind not in ("variable", "file"):
        raise InputError(f"{key}: type {kind!r}; valid: variable, file", loc=loc)
    flags = {}
    for name in ("masked", "protected", "raw"):
        flag = row.get(name, False)
        if not isinstance(flag, bool):
            raise InputError(f"{key}: {name} must be true or false", loc=loc)
        flags[name] = flag
    description = row.get("description")
    if description is not None and not isinstance(description, str):
        raise InputError(f"{key}: description must be a string", loc=loc)
    if ("value" in row) == ("value_file" in row):
        raise InputError(f"{key}: give exactly one of value and value_file", loc=loc)
    if "value" in row:
        value = row["value"]
        if not isinstance(value, str):
            raise InputError(f"{key}: value must be a string (quote numbers)", loc=loc)
    else:
        source = row["value_file"]
        if not isinstance(source, str) or not source:
            raise InputError(f"{key}: value_file must be a path", loc=loc)
        target = path.parent / source
        try:
            value = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InputError(f"{key}: cannot read value_file {target}: {why}", loc=loc) from exc
    variable = Variable(
        key,
        value,
        loc=loc,
        expand=not flags["raw"],
        file=kind == "file",
        masked=flags["masked"],
        description=description,
    )
    return ProjectVariable(variable, protected=flags["protected"])
