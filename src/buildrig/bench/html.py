"""The HTML report: one self-contained file (inline CSS, inline SVG charts, a few lines of inline
JS for sorting), readable offline: no CDN, no fonts, no external resource of any kind."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from buildrig.bench.model import (
    BASELINE_WAY,
    SCENARIOS,
    STACK,
    BenchResults,
    Scenario,
)
from buildrig.bench.stats import (
    FLOOR,
    RANK_GROUPS,
    TARGETS,
    Rank,
    Summary,
    TargetCheck,
    bare_container_median,
    check_targets,
    floor,
    floor_note,
    ranking,
    summarize,
)

#: One colour per part of the floor (the chart's segments, in :data:`FLOOR` order).
PHASE_COLORS: dict[str, str] = {
    "daemon start": "#8e6bbf",
    "login": "#e0a030",
    "build steps": "#3b7dd8",
    "base unpack": "#1f4e8c",
    "cache": "#d8603b",
    "layer push": "#3fa66b",
    "job start": "#7fb3d5",
    "job end": "#c39bd3",
    "other": "#b5b5b5",
}
SCENARIO_LABEL: dict[str, str] = {"cold": "cold", "warm": "warm", "change": "chg"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer}
.bad{color:#b00020;font-weight:600}.good{color:#1b7a3a;font-weight:600}.muted{color:#777}
.warn{background:#fff3cd;border:1px solid #e0c060;padding:8px 12px;margin:10px 0}
.legend span{display:inline-block;margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
svg{display:block;margin:6px 0}svg text{font-family:system-ui,sans-serif}
.charts{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
"""

_JS = """
(function () {
  function key(cell) {
    var t = cell.getAttribute("data-sort");
    if (t === null) { t = cell.textContent; }
    var n = parseFloat(t);
    return isNaN(n) ? t.toLowerCase() : n;
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var asc = th.getAttribute("data-dir") !== "asc";
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (x < y) { return asc ? -1 : 1; }
          if (x > y) { return asc ? 1 : -1; }
          return 0;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        th.setAttribute("data-dir", asc ? "asc" : "desc");
      });
    });
  });
  document.documentElement.setAttribute("data-report-ready", "1");
})();
"""


def _fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def nice_step(top: float, max_ticks: int = 6) -> float:
    """A 1/2/5×10^k tick step giving at most ``max_ticks`` ticks up to ``top``."""
    if top <= 0:
        return 1.0
    raw = top / max_ticks
    base = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if base * mult >= raw:
            return float(base * mult)
    return float(base * 10)


def phase_chart(summaries: Sequence[Summary], ways: Sequence[str], scenarios: Sequence[Scenario]) -> str:
    """Grouped, stacked bars: one group per way, one bar per scenario, one segment per part of the
    floor (daemon start, login, build steps, cache, layer push, other)."""
    by_key = {(s.way, s.scenario): s for s in summaries}
    bar_w, bar_gap, group_gap = 34, 6, 30
    left, right, top_m, bottom = 56, 16, 24, 52
    plot_h = 260
    group_w = len(scenarios) * bar_w + (len(scenarios) - 1) * bar_gap
    width = left + right + len(ways) * group_w + max(0, len(ways) - 1) * group_gap
    height = top_m + plot_h + bottom
    tallest = max((s.median_s or 0.0 for s in summaries), default=0.0)
    step = nice_step(tallest)
    y_max = max(step, math.ceil(tallest / step) * step) if tallest > 0 else 1.0

    def y(v: float) -> float:
        return top_m + plot_h - (v / y_max) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="median seconds per phase">'
    ]
    tick = 0.0
    while tick <= y_max + 1e-9:
        ty = y(tick)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#e5e5e5"/>')
        parts.append(
            f'<text x="{left - 6}" y="{ty + 4:.1f}" font-size="11" text-anchor="end" fill="#555">'
            f"{tick:g}s</text>"
        )
        tick += step
    parts.append(
        f'<line x1="{left}" x2="{left}" y1="{top_m}" y2="{top_m + plot_h}" stroke="#888"/>'
        f'<line x1="{left}" x2="{width - right}" y1="{top_m + plot_h}" y2="{top_m + plot_h}" stroke="#888"/>'
    )
    for gi, way in enumerate(ways):
        gx = left + gi * (group_w + group_gap)
        for bi, scenario in enumerate(scenarios):
            bx = gx + bi * (bar_w + bar_gap)
            s = by_key.get((way, scenario))
            label_y = top_m + plot_h + 13
            parts.append(
                f'<text x="{bx + bar_w / 2:.1f}" y="{label_y}" font-size="10" text-anchor="middle" '
                f'fill="#444">{SCENARIO_LABEL[scenario]}</text>'
            )
            if s is None:
                continue
            if s.median_s is None:
                parts.append(
                    f'<rect class="failed" x="{bx}" y="{y(y_max * 0.08):.1f}" width="{bar_w}" '
                    f'height="{y(0) - y(y_max * 0.08):.1f}" fill="none" stroke="#b00020" '
                    f'stroke-dasharray="3,2"><title>{escape(way)} {scenario}: every run failed</title></rect>'
                )
                parts.append(
                    f'<text x="{bx + bar_w / 2:.1f}" y="{y(y_max * 0.08) - 4:.1f}" font-size="10" '
                    f'text-anchor="middle" fill="#b00020">failed</text>'
                )
                continue
            base = 0.0
            for phase, measured in floor(s):
                value = measured or 0.0
                if value <= 0:
                    continue
                y0, y1 = y(base), y(base + value)
                parts.append(
                    f'<rect class="seg seg-{phase.replace(" ", "-")}" x="{bx}" y="{y1:.1f}" width="{bar_w}" '
                    f'height="{max(0.5, y0 - y1):.1f}" fill="{PHASE_COLORS[phase]}">'
                    f"<title>{escape(way)} · {scenario} · {phase}: {value:.2f} s (median)</title></rect>"
                )
                base += value
            parts.append(
                f'<text x="{bx + bar_w / 2:.1f}" y="{y(max(base, s.median_s)) - 4:.1f}" font-size="10" '
                f'text-anchor="middle" fill="#222">{s.median_s:.1f}</text>'
            )
        parts.append(
            f'<text x="{gx + group_w / 2:.1f}" y="{top_m + plot_h + 32}" font-size="12" '
            f'text-anchor="middle" font-weight="600">{escape(way)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def ranking_chart(ranks: Sequence[Rank], title: str) -> str:
    """Slope chart: the seed's rank on the left, the measured rank on the right."""
    rows = max([len(ranks), *(r.theoretical or 0 for r in ranks), *(r.measured or 0 for r in ranks)])
    row_h, top_m = 26, 34
    width, height = 470, top_m + rows * row_h + 12
    lx, rx = 110, 230
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ranking" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{lx}" y="16" font-size="12" text-anchor="end" font-weight="600">seed (theory)</text>',
        f'<text x="{rx}" y="16" font-size="12" font-weight="600">measured: {escape(title)}</text>',
    ]

    def ry(rank: int) -> float:
        return top_m + (rank - 1) * row_h + row_h / 2

    for r in ranks:
        color = "#3b7dd8" if r.theoretical and r.measured else "#999"
        if r.theoretical:
            parts.append(
                f'<text x="{lx - 10}" y="{ry(r.theoretical) + 4:.1f}" font-size="12" text-anchor="end">'
                f"{r.theoretical}. {escape(r.way)}</text>"
                f'<circle cx="{lx}" cy="{ry(r.theoretical):.1f}" r="4" fill="{color}"/>'
            )
        if r.measured:
            parts.append(
                f'<circle cx="{rx}" cy="{ry(r.measured):.1f}" r="4" fill="{color}"/>'
                f'<text x="{rx + 10}" y="{ry(r.measured) + 4:.1f}" font-size="12">{r.measured}. '
                f"{escape(r.way)} ({_fmt_s(r.median_s)} s)</text>"
            )
        if r.theoretical and r.measured:
            parts.append(
                f'<line x1="{lx}" y1="{ry(r.theoretical):.1f}" x2="{rx}" y2="{ry(r.measured):.1f}" '
                f'stroke="{color}" stroke-width="2"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    items = "".join(f'<span><i style="background:{c}"></i>{p}</span>' for p, c in PHASE_COLORS.items())
    return f'<div class="legend">{items}</div>'


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], *, cls: str = "", raw: bool = False) -> str:
    """``raw`` cells are trusted HTML built here; everything else is escaped."""
    h = "".join(f"<th>{escape(c)}</th>" for c in head)
    body = []
    for row in rows:
        cells = []
        for c in row:
            if raw:
                cells.append(c)
            else:
                cells.append(f"<td>{escape(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _td(text: str, *, num: bool = False, cls: str = "", sort: str | None = None) -> str:
    classes = " ".join(c for c in ("num" if num else "", cls) if c)
    attr = f' class="{classes}"' if classes else ""
    if sort is not None:
        attr += f' data-sort="{escape(sort)}"'
    return f"<td{attr}>{escape(text)}</td>"


def _summary_table(summaries: Sequence[Summary]) -> str:
    targets = {(t.way, t.scenario, t.cache): t for t in check_targets(summaries)}
    rows = []
    for s in summaries:
        t = targets.get((s.way, s.scenario, s.cache))
        if t is None or t.met is None:
            verdict = _td("—", cls="muted")
        else:
            word = "met" if t.met else "missed"
            verdict = _td(f"{word} (≤ {t.limit:g}×)", cls="good" if t.met else "bad")
        rows.append(
            [
                _td(s.way),
                _td(s.scenario),
                _td(f"{s.ok}/{s.runs}", num=True, cls="" if s.ok == s.runs else "bad"),
                _td(_fmt_s(s.median_s), num=True),
                _td(_fmt_s(s.min_s), num=True),
                _td(_fmt_s(s.max_s), num=True),
                *(_td(_fmt_s(s.phase(p)), num=True) for p in STACK),
                _td(_fmt_ratio(s.ratio_to_shell), num=True),
                _td(_fmt_s(s.build_push_s), num=True),
                _td(_fmt_ratio(s.build_ratio_to_shell), num=True),
                _cached_td(s),
                verdict,
            ]
        )
    head = [
        "way",
        "scenario",
        "ok",
        "median s",
        "min s",
        "max s",
        *(f"{p} s" for p in STACK),
        f"× {BASELINE_WAY}",
        "build+push s",
        f"build+push × {BASELINE_WAY}",
        "cached steps",
        "target (total)",
    ]
    return _table(head, rows, raw=True)


def _cached_td(s: Summary) -> str:
    """Most build steps a run took from a cache; red for a cold run that took any."""
    if s.cached_steps is None:
        return _td("—", num=True, cls="muted")
    bad = s.scenario == "cold" and s.cached_steps > 0
    return _td(str(s.cached_steps), num=True, cls="bad" if bad else "")


def _verdict_td(check: TargetCheck | None) -> str:
    if check is None or check.met is None or check.ratio is None:
        return _td("—", cls="muted")
    word = "pass" if check.met else "FAIL"
    return _td(f"{check.ratio:.2f}× ≤ {check.limit:g}× {word}", cls="good" if check.met else "bad")


def _targets_table(summaries: Sequence[Summary]) -> str:
    """Per way: each target's ratio to shell and pass/fail (the issue's whole-job medians)."""
    checks = {(t.way, t.scenario): t for t in check_targets(summaries)}
    ways = list(dict.fromkeys(s.way for s in summaries if s.way != BASELINE_WAY))
    judged = [sc for sc in TARGETS if any(s.scenario == sc for s in summaries)]
    rows = [[_td(way), *(_verdict_td(checks.get((way, sc))) for sc in judged)] for way in ways]
    head = ["way", *(f"{sc}: median × {BASELINE_WAY}'s (target)" for sc in judged)]
    return _table(head, rows, raw=True)


def _floor_table(summaries: Sequence[Summary]) -> str:
    """The floor of every way × scenario, phase by phase (medians, seconds)."""
    checks = {(t.way, t.scenario): t for t in check_targets(summaries)}
    rows = []
    for s in summaries:
        rows.append(
            [
                _td(s.way),
                _td(s.scenario),
                *(_td(_fmt_s(v), num=True) for _, v in floor(s)),
                _td(_fmt_s(s.median_s), num=True),
                _cached_td(s),
                _verdict_td(checks.get((s.way, s.scenario))),
            ]
        )
    head = ["way", "scenario", *(f"{p} s" for p in FLOOR), "total s", "cached steps", "target"]
    return _table(head, rows, raw=True)


def _floor_notes(summaries: Sequence[Summary], bare_container_s: float | None) -> list[str]:
    by = {(s.way, s.scenario): s for s in summaries}
    notes = [floor_note(c, by[(c.way, c.scenario)], bare_container_s) for c in check_targets(summaries)]
    return [n for n in notes if n]


def _fact(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def grouped_notes(notes: Sequence[str]) -> list[tuple[str, int]]:
    """Each distinct note once, in first-seen order, with how many times it was given."""
    counts: dict[str, int] = {}
    for note in notes:
        counts[note] = counts.get(note, 0) + 1
    return list(counts.items())


def _ranking_table(all_ranks: Sequence[tuple[Scenario, Sequence[Rank]]]) -> str:
    ways: list[str] = []
    for _, ranks in all_ranks:
        for r in ranks:
            if r.way not in ways:
                ways.append(r.way)
    theo = {r.way: r.theoretical for _, ranks in all_ranks for r in ranks}
    ways.sort(key=lambda w: (theo.get(w) is None, theo.get(w) or 0, w))
    rows = []
    for way in ways:
        cells = [_td(way), _td(str(theo.get(way) or "—"), num=True)]
        for _, ranks in all_ranks:
            found = next((x for x in ranks if x.way == way), None)
            measured = found.measured if found else None
            cells.append(_td(str(measured) if measured else "—", num=True))
        rows.append(cells)
    head = ["way", "seed's rank", *(f"measured: {sc}" for sc, _ in all_ranks)]
    return _table(head, rows, raw=True)


def _runs_table(results: BenchResults) -> str:
    rows = []
    for r in results.runs:
        d = r.to_dict()["phases"]
        rows.append(
            [
                _td(r.way),
                _td(r.scenario, sort=str(SCENARIOS.index(r.scenario))),
                _td(r.cache),
                _td(str(r.repeat), num=True),
                _td("ok" if r.ok else "failed", cls="" if r.ok else "bad"),
                *(_td(_fmt_s(d[p]), num=True, sort=str(d[p] if d[p] is not None else -1)) for p in STACK),
                _td(f"{r.total_s:.2f}", num=True),
                _td("—" if r.cached_steps is None else str(r.cached_steps), num=True,
                    cls="bad" if r.scenario == "cold" and r.cached_steps else ""),
                _td(r.error or ""),
            ]
        )
    head = [
        "way", "scenario", "cache", "repeat", "result", *(f"{p} s" for p in STACK), "total s",
        "cached steps", "error",
    ]
    return _table(head, rows, cls="sortable", raw=True)


def _cache_effect_table(summaries: Sequence[Summary]) -> str:
    """Median with the registry cache beside the median without it, per way and scenario."""
    by = {(s.way, s.scenario, s.cache): s for s in summaries}
    rows = []
    for (way, scenario, cache), with_cache in by.items():
        if cache != "registry":
            continue
        without = by.get((way, scenario, "none"))
        if without is None:
            continue
        a, b = with_cache.median_s, without.median_s
        gain = "—" if a is None or b is None or a == 0 else f"{b / a:.2f}×"
        rows.append(
            [_td(way), _td(scenario), _td(_fmt_s(b), num=True), _td(_fmt_s(a), num=True), _td(gain, num=True)]
        )
    head = ["way", "scenario", "no cache: median s", "registry cache: median s", "speed-up"]
    return _table(head, rows, raw=True)


def render_html(results: BenchResults) -> str:
    summaries = summarize(results.runs)
    ways = results.ways_measured()
    scenarios = [s for s in SCENARIOS if any(r.scenario == s for r in results.runs)] or list(SCENARIOS)
    settings = results.settings
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No network at all: nothing may load from anywhere, not even a favicon.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
        '<link rel="icon" href="data:,">',
        f"<title>buildrig bench — {escape(settings.project)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>buildrig bench — {escape(settings.project)}</h1>",
        f'<p class="muted">{escape(results.started_at)} → {escape(results.finished_at)} · '
        f"scenarios {escape(', '.join(settings.scenarios))} · repeat {settings.repeat} · "
        f"cache {escape(', '.join(settings.cache_modes))} · change file "
        f"<code>{escape(settings.change_file or '—')}</code></p>",
    ]
    if results.aborted:
        parts.append(
            f'<div class="warn">Stopped early: {escape(results.aborted)}. '
            "The figures below are the runs that finished.</div>"
        )
    not_cold = [r for r in results.runs if r.scenario == "cold" and r.cached_steps]
    if not_cold:
        which = ", ".join(f"{r.way} (repeat {r.repeat}, {r.cached_steps} steps)" for r in not_cold)
        parts.append(
            f'<div class="warn bad">Cold runs that took build steps from a cache — failed, no cold '
            f"figure: {escape(which)}.</div>"
        )
    for note, times in grouped_notes(results.notes):
        again = f" <b>(×{times})</b>" if times > 1 else ""
        parts.append(f'<p class="muted">{escape(note)}{again}</p>')
    if results.skipped:
        parts.append("<h2>Ways not run here</h2>")
        parts.append(_table(["way", "reason"], [[s.way, s.reason] for s in results.skipped]))
    for cache in results.cache_modes_measured() or ("registry",):
        chosen = [s for s in summaries if s.cache == cache]
        if not chosen:
            continue
        cache_ways = [w for w in ways if any(s.way == w for s in chosen)]
        parts.append(f'<h2 id="cache-{cache}">Median seconds per phase — cache: {escape(cache)}</h2>')
        parts.append(_legend())
        parts.append(phase_chart(chosen, cache_ways, scenarios))
        parts.append("<h3>Targets: warm and change against shell's</h3>")
        parts.append(_targets_table(chosen))
        parts.append(
            "<h3>The floor, phase by phase</h3>"
            '<p class="muted">daemon start: services and the job\'s wait for their daemon; cache: '
            "cache manifests imported/exported, cache look-ups and cached layers pulled by the build "
            "command; base unpack: the base image's filesystem unpacked before a step could run (kaniko); "
            "layer push: push commands and pushes made by the build command itself; "
            "build steps: the rest of the build command; job start/end: the job before its first "
            "command and after its last (containers, volumes, after_script, clean-up).</p>"
        )
        parts.append(_floor_table(chosen))
        for note in _floor_notes(chosen, bare_container_median(results.machine)):
            parts.append(f'<p class="floor-note">{escape(note)}</p>')
        for label, group in RANK_GROUPS:
            if not any(s.way in group for s in chosen):
                continue
            seeded = group == RANK_GROUPS[0][1]
            title = "Theoretical (seed) vs measured ranking" if seeded else "Ranking"
            parts.append(f'<h3>{title} — {escape(label)}: {escape(", ".join(group))}</h3>'
                         '<div class="charts">')
            all_ranks: list[tuple[Scenario, Sequence[Rank]]] = []
            for scenario in scenarios:
                ranks = ranking(chosen, scenario, cache, group)
                all_ranks.append((scenario, ranks))
                parts.append(ranking_chart(ranks, scenario))
            parts.append("</div>")
            parts.append(_ranking_table(all_ranks))
        parts.append("<h3>Per way and scenario</h3>")
        parts.append(_summary_table(chosen))
    if len(results.cache_modes_measured()) == 2:
        parts.append("<h2>Registry cache: with vs without</h2>")
        parts.append(_cache_effect_table(summaries))
    parts.append("<h2>Machine</h2>")
    parts.append(_table(["fact", "value"], [[k, _fact(v)] for k, v in results.machine.to_dict().items()]))
    parts.append('<h2>Every execution</h2><p class="muted">Click a column to sort.</p>')
    parts.append(_runs_table(results))
    parts.append(f"<script>{_JS}</script></body></html>\n")
    return "\n".join(parts)
