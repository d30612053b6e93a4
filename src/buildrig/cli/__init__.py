"""Command-line entry point. Thin: parse, call a feature, print, map errors to exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import typer

from buildrig import __version__

# Each module registers its commands on ``app`` when imported.
from buildrig.cli import (  # noqa: F401  (imported for their registrations)
    bench_cmd,
    doctor_cmd,
    init_cmd,
    run_cmd,
    strategies_cmd,
    testbed_cmd,
)
from buildrig.cli.app import app, err
from buildrig.errors import BuildrigError


def _version(value: bool) -> None:
    if value:
        typer.echo(f"buildrig {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Build container images in GitLab CI the way that fits your runners."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit code; user errors never raise out of here.

    Commands signal a non-zero outcome with ``typer.Exit(code)``; typer reports usage errors
    itself. Anything raised as :class:`BuildrigError` becomes one line on stderr.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="buildrig")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BuildrigError as exc:
        err.print(f"buildrig: error: {exc}", markup=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("buildrig: interrupted")
        return 130
    return 0


def entry() -> NoReturn:
    """The console script and ``python -m buildrig``: :func:`main`, then a hard exit.

    By the time main returns, every file is written and every container removed (cleanup lives in
    ``finally`` blocks, never in exit hooks), so tearing down the interpreter's objects one by one
    would only add time: ~0.1 s after a large doctor run. Tests call :func:`main` instead.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        # A reader that went away (`buildrig doctor | head`) is not an error worth a traceback.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
