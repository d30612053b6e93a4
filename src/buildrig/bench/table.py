"""The terminal table: rich renderables built from results (the CLI prints them)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from buildrig.bench.model import BASELINE_WAY, SCENARIOS, STACK, THEORETICAL_RANKING, BenchResults
from buildrig.bench.stats import Summary, check_targets, ranking, summarize


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _cell(summary: Summary | None, target: bool | None, rank: int | None) -> Text:
    """Two lines: ``median (min–max)``, then ``×ratio #rank`` (and failures)."""
    if summary is None:
        return Text("")
    if summary.median_s is None:
        return Text(f"failed {summary.runs - summary.ok}/{summary.runs}", style="red")
    text = Text(f"{summary.median_s:.1f}")
    if summary.runs > 1:
        text.append(f" ({_s(summary.min_s)}–{_s(summary.max_s)})", style="dim")
    text.append("\n")
    if summary.ratio_to_shell is not None and summary.way != BASELINE_WAY:
        style = "" if target is None else ("green" if target else "red")
        text.append(f"{summary.ratio_to_shell:.2f}× ", style=style)
    if rank is not None:
        text.append(f"#{rank}", style="bold")
    if summary.ok < summary.runs:
        text.append(f" {summary.runs - summary.ok} failed", style="red")
    return text


def results_table(results: BenchResults) -> RenderableType:
    """Per cache mode: a row per way, a column per scenario (median, spread, × shell, rank), then
    the median phases of every way × scenario."""
    summaries = summarize(results.runs)
    targets = {(t.way, t.scenario, t.cache): t.met for t in check_targets(summaries)}
    scenarios = [s for s in SCENARIOS if any(r.scenario == s for r in results.runs)]
    parts: list[RenderableType] = []
    for cache in results.cache_modes_measured():
        chosen = [s for s in summaries if s.cache == cache]
        ranks = {sc: {r.way: r for r in ranking(chosen, sc, cache)} for sc in scenarios}
        table = Table(
            title=f"{results.settings.project} — cache: {cache} — seconds: median (min–max), "
            f"× {BASELINE_WAY}, #rank",
            title_justify="left",
        )
        table.add_column("way")
        table.add_column("seed", justify="right")
        for scenario in scenarios:
            table.add_column(scenario, justify="right")
        phases = Table(
            title=f"median phases, seconds (cache: {cache}); svc: services; "
            f"b+p ×: build+push against {BASELINE_WAY}'s",
            title_justify="left",
            pad_edge=False,
        )
        phases.add_column("way", no_wrap=True, min_width=max(len(w) for w in results.ways_measured()))
        phases.add_column("scenario", no_wrap=True)
        # "svc" keeps the table within 80 columns, where rich would otherwise cut the figures.
        for name in (*STACK, "total", "b+p ×"):
            phases.add_column("svc" if name == "services" else name, justify="right", no_wrap=True)
        for way in results.ways_measured():
            by = {s.scenario: s for s in chosen if s.way == way}
            if not by:
                continue
            theo = THEORETICAL_RANKING.get(way)
            row: list[RenderableType] = [way, str(theo or "—")]
            for scenario in scenarios:
                rank = ranks[scenario].get(way)
                measured = rank.measured if rank is not None else None
                row.append(_cell(by.get(scenario), targets.get((way, scenario, cache)), measured))
            table.add_row(*row)
            for scenario in scenarios:
                s = by.get(scenario)
                if s is not None:
                    phases.add_row(way, scenario, *(_s(s.phase(p)) for p in STACK), _s(s.median_s),
                                   _x(s.build_ratio_to_shell))
        parts += [table, phases]
    if results.skipped:
        skipped = Table(title="not run here", title_justify="left")
        skipped.add_column("way")
        skipped.add_column("reason")
        for skip in results.skipped:
            skipped.add_row(skip.way, skip.reason)
        parts.append(skipped)
    checks = [c for c in check_targets(summaries) if c.met is False]
    for c in checks:
        parts.append(
            Text(
                f"target missed: {c.way} {c.scenario} (cache {c.cache}) is {c.ratio:.2f}× shell's, "
                f"target ≤ {c.limit:g}× (build+push alone: {_x(c.build_ratio)})",
                style="red",
            )
        )
    if results.aborted:
        parts.append(Text(f"stopped early: {results.aborted} (partial results kept)", style="bold red"))
    return Group(*parts)
