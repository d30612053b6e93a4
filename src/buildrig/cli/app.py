"""The typer application object; command modules register themselves on it."""

from __future__ import annotations

import typer
from rich.console import Console

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
    add_completion=False,
    rich_markup_mode="rich",
)

# stdout carries results; stderr carries diagnostics and progress.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
