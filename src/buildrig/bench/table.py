"""The terminal table: rich renderables built from results (the CLI prints them)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from buildrig.bench.model import (
    BASELINE_WAY,
    SCENARIOS,
    THEORETICAL_RANKING,
    BenchResults,
    CacheMode,
    Scenario,
)
from buildrig.bench.stats import (
    RANK_GROUPS,
    TARGETS,
    Summary,
    TargetCheck,
    bare_container_median,
    check_targets,
    floor,
    floor_note,
    ranking,
    summarize,
)

#: The floor's columns here: short headers, the job's start and end as one "job" column and no
#: total (the table above has it), so that the table fits 80 columns where rich would cut figures.
_FLOOR_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("svc", ("daemon start",)),
    ("login", ("login",)),
    # The base image unpack (kaniko) shares the steps column: one more column would pass 80.
    ("steps", ("build steps", "base unpack")),
    ("cache", ("cache",)),
    ("push", ("layer push",)),
    ("job", ("job start", "job end")),
    ("other", ("other",)),
)


def _floor_cells(s: Summary) -> list[str]:
    parts = dict(floor(s))
    cells = []
    for _, names in _FLOOR_COLUMNS:
        values = [v for v in (parts[n] for n in names) if v is not None]
        cells.append(_s(sum(values) if values else None))
    return cells


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _cached(s: Summary) -> Text:
    if s.cached_steps is None:
        return Text("—", style="dim")
    bad = s.scenario == "cold" and s.cached_steps > 0
    return Text(str(s.cached_steps), style="bold red" if bad else "")


def _cell(summary: Summary | None, check: TargetCheck | None, rank: int | None) -> Text:
    """Two lines: ``median (min–max)``, then ``×ratio pass|FAIL #rank`` (and failures); the
    verdict is against the scenario's target (warm ≤ 2×, change ≤ 2.5× shell's)."""
    if summary is None:
        return Text("")
    if summary.median_s is None:
        return Text(f"failed {summary.runs - summary.ok}/{summary.runs}", style="red")
    text = Text(f"{summary.median_s:.1f}")
    if summary.runs > 1:
        text.append(f" ({_s(summary.min_s)}–{_s(summary.max_s)})", style="dim")
    text.append("\n")
    if summary.ratio_to_shell is not None and summary.way != BASELINE_WAY:
        met = None if check is None else check.met
        style = "" if met is None else ("green" if met else "bold red")
        verdict = "" if met is None else (" pass" if met else " FAIL")
        text.append(f"{summary.ratio_to_shell:.2f}×{verdict} ", style=style)
    if rank is not None:
        text.append(f"#{rank}", style="bold")
    if summary.ok < summary.runs:
        text.append(f" {summary.runs - summary.ok} failed", style="red")
    return text


def _ranks(chosen: list[Summary], scenario: Scenario, cache: CacheMode) -> dict[str, int | None]:
    """Measured rank of each way within its group (the seed's five apart from the extra ways)."""
    out: dict[str, int | None] = {}
    for _, group in RANK_GROUPS:
        for r in ranking(chosen, scenario, cache, group):
            out[r.way] = r.measured
    return out


def results_table(results: BenchResults) -> RenderableType:
    """Per cache mode: a row per way, a column per scenario (median, spread, × shell, rank within
    the seed's ways or the extra ways) and per target (ratio, pass/fail), then the floor of every
    way × scenario phase by phase with the cached steps its build reported."""
    summaries = summarize(results.runs)
    checks = {(t.way, t.scenario, t.cache): t for t in check_targets(summaries)}
    scenarios = [s for s in SCENARIOS if any(r.scenario == s for r in results.runs)]
    parts: list[RenderableType] = []
    for cache in results.cache_modes_measured():
        chosen = [s for s in summaries if s.cache == cache]
        ranks = {sc: _ranks(chosen, sc, cache) for sc in scenarios}
        table = Table(
            title=f"{results.settings.project} — cache: {cache} — seconds: median (min–max), "
            f"× {BASELINE_WAY} and pass/FAIL against the target (warm ≤ {TARGETS['warm']:g}×, change ≤ "
            f"{TARGETS['change']:g}×), #rank (the seed's 5 ways and the extra ways ranked apart)",
            title_justify="left",
        )
        table.add_column("way")
        table.add_column("seed", justify="right")
        for scenario in scenarios:
            table.add_column(scenario, justify="right")
        phases = Table(
            title=f"median floor, seconds (cache: {cache}); svc: daemon start; job: the job before its "
            "first and after its last command; hits: build steps taken from a cache (most in any run; "
            "a cold run must show 0)",
            title_justify="left",
            pad_edge=False,
            # Without its outer border the table fits 80 columns, where rich would cut figures.
            show_edge=False,
        )
        phases.add_column("way", no_wrap=True, min_width=max(len(w) for w in results.ways_measured()))
        phases.add_column("run", no_wrap=True)
        for name in (*(head for head, _ in _FLOOR_COLUMNS), "hits"):
            phases.add_column(name, justify="right", no_wrap=True)
        for way in results.ways_measured():
            by = {s.scenario: s for s in chosen if s.way == way}
            if not by:
                continue
            theo = THEORETICAL_RANKING.get(way)
            row: list[RenderableType] = [way, str(theo or "—")]
            for scenario in scenarios:
                measured = ranks[scenario].get(way)
                row.append(_cell(by.get(scenario), checks.get((way, scenario, cache)), measured))
            table.add_row(*row)
            for scenario in scenarios:
                s = by.get(scenario)
                if s is not None:
                    phases.add_row(way, scenario, *_floor_cells(s),
                                   _cached(s))
        parts += [table, phases]
    if results.skipped:
        skipped = Table(title="not run here", title_justify="left")
        skipped.add_column("way")
        skipped.add_column("reason")
        for skip in results.skipped:
            skipped.add_row(skip.way, skip.reason)
        parts.append(skipped)
    by_key = {(s.way, s.scenario, s.cache): s for s in summaries}
    for c in (c for c in checks.values() if c.met is False):
        note = floor_note(c, by_key[(c.way, c.scenario, c.cache)], bare_container_median(results.machine))
        parts.append(Text(f"target missed (cache {c.cache}): {note}", style="red"))
    if results.aborted:
        parts.append(Text(f"stopped early: {results.aborted} (partial results kept)", style="bold red"))
    return Group(*parts)
