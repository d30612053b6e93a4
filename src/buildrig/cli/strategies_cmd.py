"""CLI commands: strategies (registered on import)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from buildrig import strategies
from buildrig.cli.app import app, out
from buildrig.cli.choices import Format

#: ``strategies --format json``: {"version", "ways": [...]}. 1 was a bare list with ``seed_rank``.
JSON_VERSION = 2

_SHORT = {"docker-autoscaler": "autoscaler", "kubernetes": "k8s"}

_CAPTION = (
    "autoscaler = docker-autoscaler, k8s = kubernetes; speed = the seed article's theoretical rank, "
    "1 = fastest "
    "(buildah and buildkit are not in the seed)"
)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@app.command("strategies")
def strategies_cmd(
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="text: the table; json: every field as data.")
    ] = Format.text,
) -> None:
    """Compare the ways of building images: executors, privileges, isolation, cache, speed."""
    if fmt is Format.json:
        data = {"version": JSON_VERSION, "ways": [s.to_dict() for s in strategies.ALL]}
        out.print(json.dumps(data, indent=2))
        return
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
            str(s.speed_rank) if s.speed_rank else "-",
        )
    out.print(table)
    out.print("security:")
    for s in strategies.ALL:
        out.print(f"  {s.name}: {s.security_notes[0]}")
    out.print("all fields and every security note: buildrig strategies --format json")
