"""The one error type the CLI maps to an exit code.

Everything below the CLI raises :class:`BuildrigError` (or a subclass) for bad input or an unusable
environment; the CLI prints its message on one line and exits with :attr:`exit_code`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Loc:
    """A place in a file: 1-based line (0 when unknown)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @classmethod
    def of(cls, path: Path | str, line: int = 0) -> Loc:
        return cls(str(path), line)


class BuildrigError(Exception):
    """Bad input or an unusable environment; message is one line meant for the user."""

    exit_code: int = 2

    def __init__(self, message: str, *, loc: Loc | None = None, exit_code: int | None = None) -> None:
        self.loc = loc
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__(f"{loc}: {message}" if loc else message)


class InputError(BuildrigError):
    """A file the user gave us is malformed, unreadable or names something unknown."""


class EngineError(BuildrigError):
    """The Docker Engine is down, unreachable or refused an operation we depend on."""


class JobFailed(BuildrigError):
    """A job ran and failed; exit code is the job's."""

    exit_code = 1
