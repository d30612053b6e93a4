"""CLI commands: strategies (registered on import)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from buildrig import strategies
from buildrig.cli.app import app, out
from buildrig.errors import InputError


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@app.command("strategies")
def strategies_cmd(
    fmt: str = typer.Option("table", "--format", "-f", help="table (default) or json."),
) -> None:
    """Compare the ways of building images: executors, privileges, isolation, cache, speed."""
    if fmt == "json":
        out.print(json.dumps([s.to_dict() for s in strategies.ALL], indent=2), markup=False)
        return
    if fmt != "table":
        raise InputError(f"--format {fmt!r}; valid: table, json")
    table = Table(title="Ways to build images in GitLab CI", show_lines=True)
    for col in (
        "way",
        "executors",
        "privileged",
        "host daemon",
        "isolation",
        "layer cache",
        "speed",
        "security",
    ):
        table.add_column(col, overflow="fold")
    for s in strategies.ALL:
        table.add_row(
            s.name,
            ", ".join(s.executors),
            _yes(s.needs_privileged),
            _yes(s.needs_host_daemon),
            s.isolation,
            s.layer_cache,
            str(s.seed_rank) if s.seed_rank else "-",
            s.security_notes[0] if s.security_notes else "",
        )
    out.print(table)
    out.print(
        "speed: the seed's theoretical rank, 1 = fastest (buildah and buildkit are not in the seed); "
        "all security notes: --format json.",
        markup=False,
    )
