"""Command-line entry point. Thin: parse, call a feature, print, map errors to exit codes."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import typer

from buildrig import __version__
from buildrig.cli.app import app, err
from buildrig.errors import BuildrigError

#: Every command, then every sub-group, in the order ``--help`` lists them, with the module registering it.
COMMANDS = {
    "bench": "bench_cmd",
    "doctor": "doctor_cmd",
    "init": "init_cmd",
    "run": "run_cmd",
    "gc": "run_cmd",
    "strategies": "strategies_cmd",
    "try": "try_cmd",
    "registry": "testbed_cmd",
    "images": "testbed_cmd",
    "testbed": "testbed_cmd",
}


def load_commands(command: str | None = None) -> typer.Typer:
    """``app`` with ``command``'s module registered, or every command's when ``command`` is None
    or names no command (help, a typo's suggestions, shell completion).

    Each module registers its commands on ``app`` when imported; importing only the one invoked
    keeps the others' imports (and typer's work on their signatures) out of every start-up:
    ``buildrig run`` is measured as a whole process.
    """
    # Each import registers that module's commands; static imports, so the import graph sees them.
    module = COMMANDS.get(command or "")
    if module == "run_cmd":
        from buildrig.cli import run_cmd
    elif module == "bench_cmd":
        from buildrig.cli import bench_cmd
    elif module == "doctor_cmd":
        from buildrig.cli import doctor_cmd
    elif module == "init_cmd":
        from buildrig.cli import init_cmd
    elif module == "strategies_cmd":
        from buildrig.cli import strategies_cmd
    elif module == "testbed_cmd":
        from buildrig.cli import testbed_cmd
    elif module == "try_cmd":
        from buildrig.cli import try_cmd
    else:
        from buildrig.cli import (  # noqa: F401
            bench_cmd,
            doctor_cmd,
            init_cmd,
            run_cmd,
            strategies_cmd,
            testbed_cmd,
            try_cmd,
        )

        # A process that ran one command before (the tests) registered it first: keep help's order.
        order = list(COMMANDS)
        app.registered_commands.sort(key=lambda c: order.index(c.name) if c.name in order else len(order))
        app.registered_groups.sort(key=lambda g: order.index(g.name) if g.name in order else len(order))
    return app


def _command_name(args: Sequence[str]) -> str | None:
    """The command ``args`` invoke: the root takes only flags, so the first word that is not one."""
    if os.environ.get("_BUILDRIG_COMPLETE"):  # shell completion needs every command
        return None
    return next((a for a in args if not a.startswith("-")), None)


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
    load_commands(_command_name(args))
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
    # A command's imports (for `run`: the Docker SDK, requests, the run machinery) allocate ~60,000
    # objects that live as long as the process and free almost none: at the default gen-0
    # threshold (700) the cyclic GC walks them ~90 times, ~20 ms of CPU for nothing. A long
    # command still collects, every 100,000 allocations.
    gc.set_threshold(100_000, *gc.get_threshold()[1:])
    code = main()
    for stream in (sys.stdout, sys.stderr):
        # A reader that went away (`buildrig doctor | head`) is not an error worth a traceback.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
