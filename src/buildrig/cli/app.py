"""The typer application object, the two consoles, and the helpers every command shares.

User text (job names, paths, messages, config keys such as ``[runners.docker]``) reaches the
terminal as written: the consoles interpret no markup unless a call asks for it with
``markup=True`` (then the user's parts go through :func:`markup`), and control characters in
plain strings are shown as escapes, so a job name holding ESC sequences cannot recolour, move the
cursor or retitle the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(
    name="buildrig",
    help=(
        "Build container images in GitLab CI the way that fits your runners.\n\n"
        "buildrig generates the job, the runner config and the host set-up together (init), runs "
        "jobs locally with GitLab Runner's semantics (run), diagnoses broken or dangerous set-ups "
        "(doctor) and measures every way on your own Dockerfile (bench)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode="rich",
)

# C0 controls but tab and newline, DEL, and C1 controls (0x9b is a one-byte CSI on some terminals).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with every terminal control character shown as a Python-style escape (``\\x1b``)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def markup(text: object) -> str:
    """User text to embed in a ``markup=True`` print: printable, and no ``[...]`` taken as a style."""
    return escape(printable(str(text)))


class _Console(Console):
    """A console whose plain-string arguments are made :func:`printable` before rich sees them.

    Renderables (``Text``, tables) pass through: they are built on purpose, e.g. a job's own
    colours via ``Text.from_ansi``.
    """

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(printable(o) if isinstance(o, str) else o for o in objects), **kwargs)


# stdout carries results; stderr carries diagnostics and progress.
out = _Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = _Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def split_list(values: Iterable[str] | None) -> tuple[str, ...]:
    """Every comma-separated or repeated list option: ``--ways a,b --ways c`` → (a, b, c).

    Blanks are dropped and the first occurrence of a repeated item kept.
    """
    items = (item.strip() for value in values or () for item in value.split(","))
    return tuple(dict.fromkeys(item for item in items if item))
