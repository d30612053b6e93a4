"""CLI commands: strategies (registered on import)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from buildrig import strategies
from buildrig.cli.app import app, out
from buildrig.errors import InputError

_SHORT = {"docker-autoscaler": "autoscaler", "kubernetes": "k8s"}

_CAPTION = (
    "autoscaler = docker-autoscaler, k8s = kubernetes; speed = the seed's theoretical rank, 1 = fastest "
    "(buildah and buildkit are not in the seed)"
)


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
    table = Table(title="Ways to build images in GitLab CI", show_lines=True, caption=_CAPTION)
    table.add_column("way", no_wrap=True, style="bold")
    table.add_column("executors", no_wrap=True)
    table.add_column("privileged")
    table.add_column("host daemon")
    table.add_column("isolated")
    table.add_column("layer cache")
    table.add_column("speed", justify="right")
    for s in strategies.ALL:
        table.add_row(
            s.name,
            "\n".join(_SHORT.get(e, e) for e in s.executors),
            _yes(s.needs_privileged),
            _yes(s.needs_host_daemon),
            _yes(s.isolated),
            "kept on host" if s.persistent_cache else "via registry",
            str(s.seed_rank) if s.seed_rank else "-",
        )
    out.print(table)
    out.print("security:", markup=False)
    for s in strategies.ALL:
        out.print(f"  {s.name}: {s.security_notes[0]}", markup=False)
    out.print("all fields and every security note: buildrig strategies --format json", markup=False)
