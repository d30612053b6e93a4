"""CLI command ``try``: build a project through every way that can run here (registered on import)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from buildrig.cli.app import app, err, markup, out, split_list
from buildrig.cli.choices import Format

if TYPE_CHECKING:
    from buildrig.trial import TrialResult


@app.command("try")
def try_cmd(
    project: Annotated[Path, typer.Argument(help="Project directory with a Dockerfile.")] = Path("."),
    ways: Annotated[list[str] | None, typer.Option(
        "--way", "--ways", "-w", help="Way(s) to try, repeatable or comma-separated; default: all.")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the scratch copies (paths printed).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Stream job logs to stderr.")] = False,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="text: a line per way as it ends; json: all at the end.")
    ] = Format.text,
) -> None:
    """Build PROJECT through every way that can run here: one line per way (ok / failed / skipped).

    Each way: a scratch copy, `buildrig init --strategy WAY`, `buildrig run` against the local
    registry. ok = the job was green and the registry serves the digest the job reported.
    """
    from buildrig.run.model import LogLine, strip_ansi
    from buildrig.trial import TrialOptions, run_trials

    def sink(line: LogLine) -> None:
        err.print(f"{line.job} | {strip_ansi(line.text)}", highlight=False)

    def show(res: TrialResult) -> None:
        if fmt is Format.json:
            return
        style = {"ok": "green", "failed": "red", "skipped": "yellow"}[res.status]
        out.print(f"[{style}]{markup(res.summary())}[/{style}]", markup=True)
        if keep and res.scratch is not None:
            out.print(f"{'':12} scratch copy: {res.scratch}")

    trial = TrialOptions(project, split_list(ways), keep_scratch=keep, sink=sink if verbose else None)
    results = run_trials(trial, on_result=show)
    failed = [r for r in results if r.status == "failed"]
    ok = sum(1 for r in results if r.ok)
    skipped = sum(1 for r in results if r.status == "skipped")
    if fmt is Format.json:
        out.print(trials_json(results))
    else:
        out.print(f"{ok} ok, {len(failed)} failed, {skipped} skipped")
    raise typer.Exit(1 if failed else 0)


def trials_json(results: Sequence[TrialResult]) -> str:
    """``try --format json``: one object per way, in the order they ran."""
    import json

    rows = [
        {
            "way": r.way,
            "status": r.status,
            "reason": r.reason,
            "seconds": round(r.seconds, 3),
            "repository": r.repository,
            "digest": r.digest,
            "registry_digest": r.registry_digest,
            "tags": list(r.tags),
            "scratch": str(r.scratch) if r.scratch is not None else None,
        }
        for r in results
    ]
    return json.dumps({"version": 1, "results": rows}, indent=2, ensure_ascii=False)
