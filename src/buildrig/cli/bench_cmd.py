"""CLI commands: bench (registered on import).

Import-light like the other command modules: the benchmark machinery loads inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from buildrig.cli.app import app, err, out

if TYPE_CHECKING:
    from rich.progress import TaskID

    from buildrig.bench.model import CacheMode, Scenario
    from buildrig.bench.orchestrate import Event


def _split(values: list[str] | None) -> tuple[str, ...]:
    """``--ways a,b --ways c`` → (a, b, c)."""
    items: list[str] = []
    for value in values or []:
        items += [v.strip() for v in value.split(",") if v.strip()]
    return tuple(dict.fromkeys(items))


def _scenarios(text: str) -> tuple[Scenario, ...]:
    from buildrig.bench.model import SCENARIOS
    from buildrig.errors import InputError

    chosen: list[Scenario] = []
    for item in _split([text]):
        match = next((s for s in SCENARIOS if s == item), None)
        if match is None:
            raise InputError(f"--scenarios: unknown scenario {item!r}; choose from {', '.join(SCENARIOS)}")
        chosen.append(match)
    if not chosen:
        raise InputError("--scenarios: give at least one of cold, warm, change")
    return tuple(chosen)


def _cache_modes(text: str) -> tuple[CacheMode, ...]:
    from buildrig.errors import InputError

    if text == "both":
        return ("registry", "none")
    if text == "registry":
        return ("registry",)
    if text == "none":
        return ("none",)
    raise InputError(f"--cache: expected registry, none or both (got {text!r})")


class _Progress:
    """A progress bar on stderr plus one line per finished execution (kept when not a TTY)."""

    def __init__(self, quiet: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.quiet = quiet
        self.progress = Progress(
            TextColumn("[bold]bench[/bold] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=quiet,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> _Progress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def __call__(self, event: Event) -> None:
        p = self.progress
        if event.kind == "plan":
            self.task = p.add_task("starting", total=event.total)
        elif event.kind == "skip":
            p.console.print(
                f"[yellow]skip[/yellow] {event.way}: {event.message}", markup=True, highlight=False
            )
        elif event.kind == "start" and self.task is not None:
            p.update(
                self.task, description=f"{event.way} {event.scenario} #{event.repeat} ({event.cache} cache)"
            )
        elif event.kind == "done" and self.task is not None:
            p.advance(self.task)
            if self.quiet:
                return
            ex = event.execution
            if ex is None:
                p.console.print(
                    f"  {event.way:12} {event.scenario:7} #{event.repeat} {event.message}",
                    markup=False,
                    highlight=False,
                )
                return
            mark = "[green]ok[/green]" if ex.ok else "[red]failed[/red]"
            phases = " ".join(
                f"{name} {value:.1f}" for name, value in ex.phases.to_dict().items() if value is not None
            )
            detail = phases if ex.ok else (ex.error or "")
            p.console.print(
                f"  {ex.way:12} {ex.scenario:7} #{ex.repeat} {ex.cache:8} {mark} {ex.total_s:6.1f} s  "
                f"[dim]{detail}[/dim]",
                highlight=False,
            )
        elif event.kind == "abort":
            p.console.print(f"[red]stopping:[/red] {event.message}", highlight=False)


@app.command("bench")
def bench_command(
    project_dir: Annotated[
        Path, typer.Argument(help="The project to build (holding its Dockerfile).")
    ] = Path("."),
    ways: Annotated[
        list[str] | None,
        typer.Option(
            "--ways", "-w", help="Ways to measure, comma-separated or repeated (default: every way)."
        ),
    ] = None,
    repeat: Annotated[int, typer.Option("--repeat", "-n", help="Executions per way and scenario.")] = 3,
    scenarios: Annotated[
        str, typer.Option("--scenarios", help="Comma-separated: cold, warm, change.")
    ] = "cold,warm,change",
    change: Annotated[
        Path | None,
        typer.Option("--change", help="File edited for the change scenario (default: from the Dockerfile)."),
    ] = None,
    report: Annotated[
        Path, typer.Option("--report", help="Directory for results.json, results.csv and report.html.")
    ] = Path("buildrig-bench-report"),
    fmt: Annotated[str, typer.Option("--format", help="text | json (stdout).")] = "text",
    cache: Annotated[
        str, typer.Option("--cache", help="Registry-backed layer cache in the jobs: registry | none | both.")
    ] = "registry",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
) -> None:
    """Measure every way of building images on this project: cold, warm and after a change.

    Each way's job is generated with `init` into a scratch copy and run with `run` against the
    local registry. Ways that cannot run here are listed with the reason.
    """
    import signal

    from buildrig.bench.export import to_json, write_all
    from buildrig.bench.orchestrate import BenchOptions, check_project, run_bench
    from buildrig.bench.table import results_table
    from buildrig.errors import InputError

    if fmt not in ("text", "json"):
        raise InputError(f"--format: expected text or json (got {fmt!r})")
    opts = BenchOptions(
        project_dir=project_dir,
        ways=_split(ways),
        scenarios=_scenarios(scenarios),
        repeat=repeat,
        cache_modes=_cache_modes(cache),
        change_file=change,
        log_dir=report / "logs",
    )
    check_project(opts)  # bad input fails before the engine is even asked

    from buildrig.bench.backend import RealBackend

    # SIGTERM between two jobs must clean up too (run handles it during a job).
    def _term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _term)
    backend = RealBackend(project_dir)
    try:
        with _Progress(quiet) as progress:
            results = run_bench(opts, backend, progress)
    finally:
        backend.close()
        signal.signal(signal.SIGTERM, previous)

    written = write_all(results, report)
    if fmt == "json":
        out.print(to_json(results), markup=False, end="")
    else:
        out.print(results_table(results))
        for note in results.notes:
            out.print(f"note: {note}", markup=False, style="dim")
        out.print(f"report: {', '.join(str(p) for p in written)}", markup=False)
    if results.aborted:
        err.print(f"buildrig: error: {results.aborted} (partial results written to {report})", markup=False)
        raise typer.Exit(130 if results.interrupted else 2)
    if any(not r.ok for r in results.runs):
        raise typer.Exit(1)
    raise typer.Exit(0)
