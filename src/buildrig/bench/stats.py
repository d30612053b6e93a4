"""Statistics over repeats: median/min/max per way × scenario × cache mode, ratios to shell,
the measured ranking beside the seed's theoretical one."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from buildrig.bench.model import (
    ALL_WAYS,
    BASELINE_WAY,
    PHASES,
    SCENARIOS,
    THEORETICAL_RANKING,
    CacheMode,
    Execution,
    Machine,
    Scenario,
)


@dataclass(frozen=True)
class Summary:
    """Repeats of one way × scenario × cache mode. Timing figures use successful runs only;
    ``None`` when none succeeded."""

    way: str
    scenario: Scenario
    cache: CacheMode
    runs: int
    ok: int
    median_s: float | None
    min_s: float | None
    max_s: float | None
    #: Median seconds per phase (``services``, ``login``, ``build``, ``push``, ``other``);
    #: ``None`` for a phase this way does not have.
    phase_medians: tuple[tuple[str, float | None], ...]
    #: median / shell's median for the same scenario (and cache mode when shell ran in it).
    ratio_to_shell: float | None = None
    #: Median of build + push per run: the image work alone, without the per-job costs (service
    #: start, login, containers, clean-up) that the total carries.
    build_push_s: float | None = None
    #: build_push_s / shell's, like ratio_to_shell.
    build_ratio_to_shell: float | None = None
    #: Most build steps any run (failed ones too) took from a layer cache; ``None``: not counted.
    cached_steps: int | None = None
    #: Medians of the build command's cache-metadata and in-build push seconds.
    cache_meta_s: float | None = None
    inner_push_s: float | None = None
    #: Median of the build command's base image unpacking (kaniko).
    unpack_s: float | None = None
    #: Medians of the job's start-up before its first command and its end after the last one.
    setup_s: float | None = None
    teardown_s: float | None = None
    #: shell's median for the same scenario (what ratio_to_shell divides by).
    shell_median_s: float | None = None

    def phase(self, name: str) -> float | None:
        for key, value in self.phase_medians:
            if key == name:
                return value
        raise KeyError(name)


@dataclass(frozen=True)
class Rank:
    way: str
    theoretical: int | None
    measured: int | None
    median_s: float | None


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def bare_container_median(machine: Machine) -> float | None:
    """The median of the bare containers timed on the engine, ``None`` when none was."""
    return _median(machine.bare_container_s)


def summarize_group(runs: Sequence[Execution]) -> Summary:
    """Summary of runs that share way, scenario and cache mode."""
    if not runs:
        raise ValueError("summarize_group needs at least one run")
    first = runs[0]
    if any((r.way, r.scenario, r.cache) != (first.way, first.scenario, first.cache) for r in runs):
        raise ValueError("summarize_group got runs of different way/scenario/cache")
    good = [r for r in runs if r.ok]
    totals = [r.total_s for r in good]
    medians: list[tuple[str, float | None]] = []
    for name in PHASES:
        values = [v for v in (r.phases.get(name) for r in good) if v is not None]
        medians.append((name, _median(values)))
    medians.append(("other", _median([r.other_s for r in good])))
    # Every generated job pushes: where no push command shows (kaniko --destination, buildctl
    # push=true) the push ran inside the build command, and build+push is that command alone.
    image_work = [
        build + (r.phases.get("push") or 0.0) for r in good if (build := r.phases.get("build")) is not None
    ]
    counted = [r.cached_steps for r in runs if r.cached_steps is not None]
    return Summary(
        way=first.way,
        scenario=first.scenario,
        cache=first.cache,
        runs=len(runs),
        ok=len(good),
        median_s=_median(totals),
        min_s=min(totals) if totals else None,
        max_s=max(totals) if totals else None,
        phase_medians=tuple(medians),
        build_push_s=_median(image_work),
        cached_steps=max(counted) if counted else None,
        cache_meta_s=_median([r.cache_meta_s for r in good if r.cache_meta_s is not None]),
        inner_push_s=_median([r.inner_push_s for r in good if r.inner_push_s is not None]),
        unpack_s=_median([r.unpack_s for r in good if r.unpack_s is not None]),
        setup_s=_median([r.setup_s for r in good if r.setup_s is not None]),
        teardown_s=_median([r.teardown_s for r in good if r.teardown_s is not None]),
    )


def _way_order(way: str) -> tuple[int, str]:
    return (ALL_WAYS.index(way), way) if way in ALL_WAYS else (len(ALL_WAYS), way)


def summarize(runs: Iterable[Execution]) -> tuple[Summary, ...]:
    """One summary per way × scenario × cache mode, with ratios to the shell way.

    The ratio for a cache mode uses shell in that same mode when shell ran in it; otherwise
    shell's other mode, because shell's own layer cache makes the registry cache moot for it.
    """
    groups: dict[tuple[str, Scenario, CacheMode], list[Execution]] = {}
    for run in runs:
        groups.setdefault((run.way, run.scenario, run.cache), []).append(run)
    base = {key: summarize_group(group) for key, group in groups.items()}
    out: list[Summary] = []
    for (_, scenario, cache), summary in base.items():
        shell = base.get((BASELINE_WAY, scenario, cache)) or next(
            (s for (w, sc, _), s in sorted(base.items()) if w == BASELINE_WAY and sc == scenario), None
        )
        ratio = build_ratio = None
        if shell is not None and shell.median_s and summary.median_s is not None:
            ratio = summary.median_s / shell.median_s
        if shell is not None and shell.build_push_s and summary.build_push_s is not None:
            build_ratio = summary.build_push_s / shell.build_push_s
        out.append(
            dataclasses.replace(
                summary,
                ratio_to_shell=ratio,
                build_ratio_to_shell=build_ratio,
                shell_median_s=shell.median_s if shell is not None else None,
            )
        )
    out.sort(key=lambda s: (s.cache != "registry", _way_order(s.way), SCENARIOS.index(s.scenario)))
    return tuple(out)


#: The two groups ranked apart: the five ways the seed ranks, and the ways it does not know.
RANK_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("seed's ways", tuple(THEORETICAL_RANKING)),
    ("extra ways", tuple(w for w in ALL_WAYS if w not in THEORETICAL_RANKING)),
)


def ranking(
    summaries: Iterable[Summary],
    scenario: Scenario,
    cache: CacheMode,
    ways: Sequence[str] | None = None,
) -> tuple[Rank, ...]:
    """Measured rank (1 = fastest median) beside the seed's rank, for one scenario and cache mode,
    among ``ways`` (default: every way measured).

    Ways the seed ranks but that did not run (kaniko here) are listed with no measured rank;
    ways with no successful run are listed last, unranked. Ties share a rank.
    """
    chosen = [
        s
        for s in summaries
        if s.scenario == scenario and s.cache == cache and (ways is None or s.way in ways)
    ]
    timed = sorted((s for s in chosen if s.median_s is not None), key=lambda s: (s.median_s, s.way))
    rows: list[Rank] = []
    prev: float | None = None
    rank = 0
    for index, s in enumerate(timed, start=1):
        if s.median_s != prev:
            rank = index
            prev = s.median_s
        rows.append(Rank(s.way, THEORETICAL_RANKING.get(s.way), rank, s.median_s))
    seen = {r.way for r in rows}
    for s in sorted(chosen, key=lambda s: _way_order(s.way)):
        if s.way not in seen:
            rows.append(Rank(s.way, THEORETICAL_RANKING.get(s.way), None, None))
            seen.add(s.way)
    for way, theo in sorted(THEORETICAL_RANKING.items(), key=lambda kv: kv[1]):
        if way not in seen and (ways is None or way in ways):
            rows.append(Rank(way, theo, None, None))
    return tuple(rows)


@dataclass(frozen=True)
class TargetCheck:
    """A target from the issue: way's median total ≤ limit × shell's, same scenario.

    Judged on the whole job (``ratio``); ``build_ratio`` (build + push alone) is reported beside
    it to show how much of the gap is per-job cost rather than image work.
    """

    way: str
    scenario: Scenario
    cache: CacheMode
    limit: float
    ratio: float | None
    build_ratio: float | None = None

    @property
    def met(self) -> bool | None:
        return None if self.ratio is None else self.ratio <= self.limit


#: warm ≤ 2× shell's warm; change ≤ 2.5× shell's change (issue 11), whole job, medians.
TARGETS: dict[Scenario, float] = {"warm": 2.0, "change": 2.5}


def check_targets(summaries: Iterable[Summary]) -> tuple[TargetCheck, ...]:
    return tuple(
        TargetCheck(s.way, s.scenario, s.cache, TARGETS[s.scenario], s.ratio_to_shell,
                    s.build_ratio_to_shell)
        for s in summaries
        if s.scenario in TARGETS and s.way != BASELINE_WAY
    )


#: The floor of a job, phase by phase: what it costs before and around its build steps.
FLOOR: tuple[str, ...] = (
    "daemon start", "login", "build steps", "base unpack", "cache", "layer push", "job start", "job end",
    "other",
)
#: The parts of the floor no build step can remove (all but the build steps themselves).
FIXED: tuple[str, ...] = tuple(p for p in FLOOR if p != "build steps")


def floor(s: Summary) -> tuple[tuple[str, float | None], ...]:
    """Median seconds of a way's job split so the floor shows: the daemon start (services, incl. a
    wait loop for the daemon), login, the build steps themselves, the base image's filesystem
    unpacked before a step could run (kaniko does it whenever it must run a COPY or an uncached
    RUN; the Docker daemon, buildah and BuildKit keep base layers as snapshots), the cache
    (metadata imported and exported, cached layers pulled by the build command), every layer
    push (push commands and pushes inside the build command), the job's start before its first
    command and its end after the last one (the runner's containers, after_script, clean-up), the
    rest (other commands).
    Medians of parts need not add up to the median total exactly.
    """
    build = s.phase("build")
    meta = s.cache_meta_s if build is not None else None
    inner = s.inner_push_s if build is not None else None
    unpack = s.unpack_s if build is not None else None
    steps = None if build is None else max(0.0, build - (meta or 0.0) - (inner or 0.0) - (unpack or 0.0))
    push = s.phase("push")
    pushed = None if push is None and not inner else (push or 0.0) + (inner or 0.0)
    other = s.phase("other")
    start, end = s.setup_s, s.teardown_s
    rest = None if other is None else max(0.0, other - (start or 0.0) - (end or 0.0))
    return (
        ("daemon start", s.phase("services")),
        ("login", s.phase("login")),
        ("build steps", steps),
        ("base unpack", unpack or None),
        ("cache", meta or None),
        ("layer push", pushed),
        ("job start", start),
        ("job end", end),
        ("other", rest),
    )


def floor_note(check: TargetCheck, s: Summary, bare_container_s: float | None = None) -> str | None:
    """Why a way misses its target on this machine, with the numbers; ``None`` when it meets it
    (or nothing was measured). ``bare_container_s``: the engine's own cost of a container
    (:attr:`Machine.bare_container_s`, median), which every way but shell pays."""
    if check.met is not False or s.median_s is None or s.shell_median_s is None:
        return None
    target = check.limit * s.shell_median_s
    # Parts that would print as 0.0 s say nothing about the floor.
    parts = [(name, v) for name, v in floor(s) if v is not None and v >= 0.05]
    fixed = sum(v for name, v in parts if name in FIXED)
    by = dict(parts)
    steps = by.get("build steps", 0.0)
    biggest = max(((n, v) for n, v in parts if n in FIXED), key=lambda nv: nv[1], default=None)
    head = (
        f"{s.way} {s.scenario}: {s.median_s:.1f} s against a target of ≤ {target:.1f} s "
        f"({check.limit:g}× shell's {s.shell_median_s:.1f} s); "
        + " + ".join(f"{n} {v:.1f}" for n, v in parts)
        + " s. "
    )
    if fixed >= target:
        big = f" (largest: {biggest[0]} {biggest[1]:.1f} s)" if biggest else ""
        why = head + (
            f"The floor without any build step is {fixed:.1f} s{big}, already above the target: "
            "this way cannot reach it on this machine without removing that cost."
        )
    else:
        why = head + (
            f"The floor without build steps is {fixed:.1f} s, so the build steps ({steps:.1f} s) "
            f"would have to fit in {target - fixed:.1f} s."
        )
    unpack = by.get("base unpack")
    if unpack is not None:
        end = by.get("job end")
        why += (
            f" The base unpack ({unpack:.1f} s) is kaniko fetching the base image's layers and "
            "writing its whole filesystem into its own container, which it does in every job that "
            "must run a COPY or an uncached RUN (its COPY always needs it); the Docker daemon, "
            "buildah and BuildKit keep a base image they have pulled as layers and extract it only "
            "when they pull it (in the FROM step, counted in the build steps)"
            + (f"; the job's end ({end:.1f} s) includes removing that container with those files."
               if end is not None and end >= 0.5 else ".")
        )
    if bare_container_s is not None and s.way != BASELINE_WAY:
        why += (
            f" A bare container (`docker run --rm`'s create, start, wait and remove) takes "
            f"{bare_container_s:.2f} s on this engine, which the shell way never pays: it leaves "
            f"{max(0.0, target - bare_container_s):.2f} s of the target for everything else the "
            f"job does, where the shell way's whole job takes {s.shell_median_s:.2f} s."
        )
    return why
