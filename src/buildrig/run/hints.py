"""One-line hints for a failed job that read a CI/CD variable nobody set.

The classic case is docker_host's ``cp "$DOCKER_CA_PEM" ...`` → ``cp: can't stat ''``: the job
expects File variables from the project's settings, and the shell gives no clue which one is
missing. A variable counts when the script reads it and it is unset (or empty) and either its
name says it holds a file (FILE, PEM, CERT) or the script copies from it (``cp "$X" ...``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from buildrig.gitlab.model import Job

_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_CP_FROM = re.compile(r"""\bcp\s+(?:-\w+\s+)*["']?\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?["']?""")
_FILE_WORDS = ("FILE", "PEM", "CERT")
# GitLab sets these itself (CI_SERVER_TLS_CA_FILE, ...): not something to add in the settings.
_PREDEFINED = ("CI_", "GITLAB_")
_ASSIGNED = re.compile(r"(?:^|[;&|]\s*|\bexport\s+)([A-Za-z_][A-Za-z0-9_]*)=")


def variable_hints(job: Job, env: Mapping[str, str], variables_file: Path | None = None) -> tuple[str, ...]:
    """Hints, one per variable, in the order the script first reads them."""
    lines = (*job.before_script, *job.script)
    assigned = {m.group(1) for line in lines for m in _ASSIGNED.finditer(line)}
    copied = {m.group(1) for line in lines for m in _CP_FROM.finditer(line)}
    hints: list[str] = []
    seen: set[str] = set()
    for line in lines:
        for m in _REF.finditer(line):
            name = m.group(1) or m.group(2)
            if name in seen or name in assigned or env.get(name) or name.startswith(_PREDEFINED):
                continue
            if name not in copied and not any(word in name.upper() for word in _FILE_WORDS):
                continue
            seen.add(name)
            hints.append(_hint(name, "empty" if name in env else "not set", variables_file))
    return tuple(hints)


def _hint(name: str, state: str, variables_file: Path | None) -> str:
    local = variables_file or Path("runner/variables.toml")
    return (
        f"hint: the job reads ${name}, which is {state}: add it as a File variable in GitLab "
        f"(Settings > CI/CD > Variables); for buildrig run, in {local} "
        f'(key = "{name}", type = "file", value_file = "...") or with --file-var {name}=PATH'
    )
