"""CLI commands: bench (registered on import).

Import-light like the other command modules: the benchmark machinery loads inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from buildrig.cli.app import app, err, markup, out, split_list
from buildrig.cli.choices import BenchCache, Format

if TYPE_CHECKING:
    from rich.progress import TaskID

    from buildrig.bench.model import CacheMode, Scenario
    from buildrig.bench.orchestrate import Event


def _scenarios(text: str) -> tuple[Scenario, ...]:
    from buildrig.bench.model import SCENARIOS
    from buildrig.errors import InputError

    chosen: list[Scenario] = []
    for item in split_list([text]):
        match = next((s for s in SCENARIOS if s == item), None)
        if match is None:
            raise InputError(f"--scenarios: unknown scenario {item!r}; choose from {', '.join(SCENARIOS)}")
        chosen.append(match)
    if not chosen:
        raise InputError("--scenarios: give at least one of cold, warm, change")
    return tuple(chosen)


def _cache_modes(choice: BenchCache) -> tuple[CacheMode, ...]:
    if choice is BenchCache.both:
        return ("registry", "none")
    return ("registry",) if choice is BenchCache.registry else ("none",)


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
                f"[yellow]skip[/yellow] {markup(event.way)}: {markup(event.message)}",
                markup=True,
                highlight=False,
            )
        elif event.kind == "start" and self.task is not None:
            p.update(
                self.task,
                description=markup(f"{event.way} {event.scenario} #{event.repeat} ({event.cache} cache)"),
            )
        elif event.kind == "done" and self.task is not None:
            p.advance(self.task)
            if self.quiet:
                return
            ex = event.execution
            if ex is None:
                p.console.print(
                    f"  {event.way:12} {event.scenario:7} #{event.repeat} {event.message}",
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
                f"[dim]{markup(detail)}[/dim]",
                markup=True,
                highlight=False,
            )
        elif event.kind == "abort":
            p.console.print(f"[red]stopping:[/red] {markup(event.message)}", markup=True, highlight=False)


@app.command("bench")
def bench_command(
    project_dir: Annotated[
        Path, typer.Argument(help="The project to build (holding its Dockerfile).")
    ] = Path("."),
    ways: Annotated[
        list[str] | None,
        typer.Option(
            "--ways", "--way", "-w", help="Ways to measure, comma-separated or repeated (default: every way)."
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
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Results on stdout as text or json.")
    ] = Format.text,
    cache: Annotated[
        BenchCache,
        typer.Option("--cache", help="Registry-backed layer cache in the jobs (both: with and without)."),
    ] = BenchCache.registry,
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

    opts = BenchOptions(
        project_dir=project_dir,
        ways=split_list(ways),
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
    if fmt is Format.json:
        out.print(to_json(results), end="")
    else:
        out.print(results_table(results))
        for note in results.notes:
            out.print(f"note: {note}", style="dim")
        out.print(f"report: {', '.join(str(p) for p in written)}")
    if results.aborted:
        err.print(f"buildrig: error: {results.aborted} (partial results written to {report})")
        raise typer.Exit(130 if results.interrupted else 2)
    if any(not r.ok for r in results.runs):
        raise typer.Exit(1)
    raise typer.Exit(0)
