"""Command-line entry point. Thin: parse, call a feature, print, map errors to exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

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
    try_cmd,
)
from buildrig.cli.app import app, err
from buildrig.errors import BuildrigError


def _click_class(name: str) -> type[Exception]:
    # typer 0.2x vendors click (typer._click) and older ones use click itself: take the class
    # from typer's own BadParameter so either works.
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == name and issubclass(cls, Exception):
            return cls
    raise LookupError(name)


_CLICK_ERROR = _click_class("ClickException")
_CLICK_ABORT: tuple[type[BaseException], ...] = (
    typer.Abort,
    getattr(sys.modules[_CLICK_ERROR.__module__], "Abort", typer.Abort),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"buildrig {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Build container images in GitLab CI the way that fits your runners."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit code; user errors never raise out of here.

    Commands signal a non-zero outcome with ``typer.Exit(code)``. A usage error (unknown option,
    a value outside an option's choices) and anything raised as :class:`BuildrigError` become one
    line on stderr, the same shape either way.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = app(args=args, prog_name="buildrig", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except _CLICK_ERROR as exc:
        usage: Any = exc
        if type(exc).__name__ == "NoArgsIsHelpError":
            # Building the error rendered the help already when rich formats it (the message is
            # then empty); plain click leaves the text in the message.
            if usage.format_message():
                typer.echo(usage.format_message())
        else:
            err.print(f"buildrig: error: {_usage_context(usage)}{usage.format_message()}")
        return int(usage.exit_code)
    except _CLICK_ABORT:
        err.print("buildrig: interrupted")
        return 130
    except BuildrigError as exc:
        err.print(f"buildrig: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("buildrig: interrupted")
        return 130
    return code if isinstance(code, int) and not isinstance(code, bool) else 0


def _usage_context(exc: Any) -> str:
    """``init: `` for a usage error of ``buildrig init``, so the one line says where to look."""
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and getattr(ctx, "parent", None) is not None:
        return f"{str(ctx.command_path).removeprefix('buildrig ')}: "
    return ""


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
