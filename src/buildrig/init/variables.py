"""``runner/variables.toml``: the CI/CD variables a way's job needs from the project's settings.

GitLab keeps them on Settings > CI/CD > Variables; ``buildrig run`` reads this file instead (format
in :mod:`buildrig.gitlab.variables_file`). A re-run keeps every entry already there, the user's
own ones included, and adds only the ones the way needs that are missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT

from buildrig.errors import InputError, Loc
from buildrig.strategies import RenderParams, Strategy
from buildrig.strategies.docker_host import CERT_VARIABLES

HEADER = """\
The project's CI/CD variables, as on GitLab's Settings > CI/CD > Variables page.
`buildrig run` reads this file; --var and --file-var override it. One [[variables]] table each:
  key = "NAME"; type = "variable" | "file"; value = "..." or value_file = "path relative to here";
  masked, protected, raw (= "Expand variable reference" unchecked) = true | false; description.
Keep this file out of git when it holds secrets (value_file keeps them in their own files)."""

EXAMPLE = """
[[variables]]
key = "EXAMPLE_TOKEN"
value = "a value of 8 characters or more"
masked = true
protected = false"""


@dataclass(frozen=True)
class Needed:
    key: str
    value_file: str
    description: str


def needed(s: Strategy, p: RenderParams) -> tuple[Needed, ...]:
    """The variables the way's job reads that only the project's settings can provide."""
    if s.name != "docker_host" or not p.host_tls:
        return ()
    return tuple(
        Needed(var, f"host/{src}", f"docker_host: the job's TLS {name} (runner/host/{src})")
        for var, name, src in CERT_VARIABLES
    )


def render(existing: str | None, path: Path, s: Strategy, p: RenderParams) -> str:
    """The file's new text: ``existing`` (round-tripped, comments kept) plus any missing entry."""
    if existing is None:
        doc = tomlkit.document()
        for line in HEADER.splitlines():
            doc.add(tomlkit.comment(line))
    else:
        try:
            doc = tomlkit.parse(existing)
        except ParseError as exc:
            raise InputError(f"not valid TOML: {exc}", loc=Loc.of(path, exc.line)) from exc
    rows = doc.get("variables")
    if rows is not None and not isinstance(rows, AoT):
        raise InputError("variables must be [[variables]] tables", loc=Loc.of(path))
    have = {str(row.get("key")) for row in rows or ()}
    missing = [n for n in needed(s, p) if n.key not in have]
    if not missing:
        if existing is None:
            for line in EXAMPLE.splitlines():
                doc.add(tomlkit.comment(line))
        return tomlkit.dumps(doc)
    if rows is None:
        rows = tomlkit.aot()
        doc.append("variables", rows)
    for n in missing:
        row = tomlkit.table()
        row.add("key", n.key)
        row.add("type", "file")
        row.add("value_file", n.value_file)
        row.add("masked", False)  # GitLab cannot mask multi-line values
        row.add("protected", True)
        row.add("raw", True)
        row.add("description", n.description)
        rows.append(row)
    return tomlkit.dumps(doc)
