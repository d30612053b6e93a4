"""The benchmark loop: for each runnable way, cold → warm → change, repeated; partial results kept.

What actually prepares a scratch project and runs a job is a :class:`Backend` (the real one,
:mod:`buildrig.bench.backend`, goes through ``init`` and ``run`` like a user would); this module
only decides what runs in which order, turns job logs into phases and keeps going or stops.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import re
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol

from buildrig.bench.buildlog import build_times, cached_steps
from buildrig.bench.model import (
    ALL_WAYS,
    CACHE_MODES,
    SCENARIOS,
    BenchResults,
    CacheMode,
    Execution,
    Machine,
    Phases,
    Scenario,
    Settings,
    Skipped,
)
from buildrig.bench.phases import (
    LogLine,
    ServiceSpan,
    extract_phases,
    last_output,
    services_seconds,
    steps,
    strip_ansi,
)
from buildrig.errors import BuildrigError, EngineError, InputError, Loc
from buildrig.fsutil import atomic_write

# --- what a backend provides -----------------------------------------------------------------------


@dataclass(frozen=True)
class JobRun:
    """One job execution as the backend saw it. Times are ``time.monotonic()`` except
    ``started_wall`` (epoch seconds, for the record)."""

    ok: bool
    started: float
    finished: float
    started_wall: float
    lines: tuple[LogLine, ...]
    services: tuple[ServiceSpan, ...] = ()
    error: str | None = None


class Workspace(Protocol):
    """A scratch copy of the project with the way's job generated into it."""

    @property
    def project_dir(self) -> Path: ...

    def run_job(self, scenario: str) -> JobRun:
        """Run the way's job once; ``scenario`` is ``cold``, ``warm``, ``change`` or ``prime``
        (a cold run must take no step from any cache: the workspace sees to it)."""
        ...


class Backend(Protocol):
    def availability(self, ways: Sequence[str]) -> tuple[tuple[str, ...], tuple[Skipped, ...]]:
        """Which of ``ways`` can run here; the others with the reason."""
        ...

    def machine(self) -> Machine: ...

    def workspace(self, way: str, cache: CacheMode, tag: str) -> AbstractContextManager[Workspace]:
        """A fresh scratch project for ``way``: its own image repository in the registry (so
        the registry cache starts empty), and the engine holding none of the benchmark's
        previous images of it. Everything created is removed on exit."""
        ...

    def engine_alive(self) -> str | None:
        """``None`` when the engine answers, else one line saying what is wrong."""
        ...

    def notes(self) -> tuple[str, ...]:
        """Remarks about how comparable the figures are (e.g. a cold run that found a cache)."""
        ...

    def bare_container(self) -> tuple[float, ...]:
        """Seconds of the bare containers timed before the first container way's first job (the
        engine's floor for a job in a container), empty when none was."""
        ...


# --- options and progress ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchOptions:
    project_dir: Path
    ways: tuple[str, ...] = ()  # empty: every way
    scenarios: tuple[Scenario, ...] = SCENARIOS
    repeat: int = 3
    cache_modes: tuple[CacheMode, ...] = ("registry",)
    change_file: Path | None = None  # relative to project_dir; default: from the Dockerfile
    dockerfile: str = "Dockerfile"
    #: Where each job's log goes (``<way>-<cache>-r<repeat>-<scenario>.log``); None: nowhere.
    log_dir: Path | None = None


@dataclass(frozen=True)
class Event:
    """Progress for the CLI: a job starts or ends, a way is skipped, the plan is known."""

    kind: Literal["plan", "start", "done", "skip", "abort"]
    total: int = 0
    index: int = 0
    way: str = ""
    scenario: str = ""
    cache: str = ""
    repeat: int = 0
    execution: Execution | None = None
    message: str = ""


EventSink = Callable[[Event], None]


def _utc(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, tz=_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _now() -> str:
    return _dt.datetime.now(tz=_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- input checks --------------------------------------------------------------------------------------


def check_project(opts: BenchOptions) -> tuple[Path, str]:
    """The project directory and the change file (relative, POSIX), or a one-line InputError."""
    project = Path(opts.project_dir)
    if not project.is_dir():
        raise InputError("not a directory", loc=Loc.of(project))
    dockerfile = project / opts.dockerfile
    if not dockerfile.is_file():
        raise InputError(
            f"no {opts.dockerfile} here: bench builds the project's own Dockerfile", loc=Loc.of(project)
        )
    if opts.repeat < 1:
        raise InputError(f"--repeat must be at least 1 (got {opts.repeat})")
    unknown = [w for w in opts.ways if w not in ALL_WAYS]
    if unknown:
        raise InputError(f"unknown way(s) {', '.join(unknown)}; known: {', '.join(ALL_WAYS)}")
    if opts.change_file is not None:
        rel = opts.change_file
        target = rel if rel.is_absolute() else project / rel
        try:
            rel_posix = target.resolve().relative_to(project.resolve()).as_posix()
        except ValueError:
            raise InputError("--change must name a file inside the project", loc=Loc.of(target)) from None
        if not target.is_file():
            raise InputError("--change: no such file", loc=Loc.of(target))
        return project, rel_posix
    if "change" not in opts.scenarios:
        return project, ""
    return project, default_change_file(project, opts.dockerfile)


_INSTR = re.compile(r"^\s*(COPY|ADD)\s+(.*)$", re.IGNORECASE)


def _dockerfile_instructions(text: str) -> list[tuple[int, str]]:
    """(line, instruction) with backslash continuations joined and comments dropped."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not buf:
            start = no
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        out.append((start, buf))
        buf = ""
    if buf:
        out.append((start, buf))
    return out


def default_change_file(project: Path, dockerfile: str = "Dockerfile") -> str:
    """A file the Dockerfile's last ``COPY``/``ADD`` from the build context brings in: changing it
    invalidates a late layer, which is what the ``change`` scenario is about."""
    path = project / dockerfile
    text = path.read_text(encoding="utf-8", errors="replace")
    copies: list[tuple[int, list[str]]] = []
    for line, instr in _dockerfile_instructions(text):
        m = _INSTR.match(instr)
        if not m:
            continue
        args = [a for a in m.group(2).split() if a]
        if any(a.startswith("--from") for a in args):
            continue
        args = [a for a in args if not a.startswith("--")]
        if args[:1] and args[0].startswith("["):
            continue  # JSON form: rare for app sources, not worth a parser here
        if len(args) >= 2:
            copies.append((line, args[:-1]))
    skip = {dockerfile, ".gitlab-ci.yml", ".dockerignore", ".git"}
    for _, sources in reversed(copies):
        for src in sources:
            if "://" in src or any(ch in src for ch in "*?[$"):
                continue
            candidate = project / src
            if candidate.is_file() and candidate.name not in skip:
                return PurePosixPath(src.lstrip("./") or src).as_posix()
            if candidate.is_dir():
                files = sorted(
                    p
                    for p in candidate.rglob("*")
                    if p.is_file() and not (set(p.relative_to(project).parts) & skip)
                )
                if files:
                    # An empty ``__init__.py`` is a file nobody edits; prefer one with content.
                    chosen = next((p for p in files if p.stat().st_size > 0), files[0])
                    return chosen.relative_to(project).as_posix()
    raise InputError(
        "cannot tell which source file to change: no COPY/ADD of a project file; pass --change FILE",
        loc=Loc.of(path),
    )


_COMMENT = {
    **dict.fromkeys(
        (".py", ".sh", ".rb", ".pl", ".yaml", ".yml", ".toml", ".txt", ".cfg", ".ini", ".r"), "# "
    ),
    **dict.fromkeys(
        (".js", ".ts", ".go", ".java", ".c", ".h", ".cc", ".cpp", ".rs", ".kt", ".cs", ".php"), "// "
    ),
    **dict.fromkeys((".html", ".htm", ".xml", ".md", ".svg"), "<!-- "),
    ".css": "/* ",
}
_CLOSE = {"<!-- ": " -->", "/* ": " */"}


def apply_change(project: Path, rel: str, token: str) -> None:
    """Append a harmless line to ``rel`` (a comment where the syntax is known, else an empty
    line): the file's checksum changes, so the layer that copies it is rebuilt."""
    path = project / rel
    data = path.read_bytes()
    opener = _COMMENT.get(path.suffix.lower())
    sep = b"" if not data or data.endswith(b"\n") else b"\n"
    # The scratch copy keeps the project's symlinks: appending through one would change the
    # user's own file outside the copy, so the copy's link becomes a file of its own.
    if path.is_symlink():
        path.unlink()
    if opener is None:
        # Whitespace only: still valid JSON and most data formats.
        atomic_write(path, data + sep + b"\n")
    else:
        line = f"{opener}buildrig bench change {token}{_CLOSE.get(opener, '')}\n"
        atomic_write(path, data + sep + line.encode())


# --- the loop ------------------------------------------------------------------------------------------


def plan(runnable: Sequence[str], opts: BenchOptions) -> list[tuple[int, CacheMode, str]]:
    """(repeat, cache mode, way) in execution order. Repeats are the outer loop so that a slow
    drift of the machine (other load, a filling disk) spreads over every way alike."""
    modes = [m for m in CACHE_MODES if m in opts.cache_modes]
    return [(r, m, w) for r in range(1, opts.repeat + 1) for m in modes for w in runnable]


def _needs_primer(scenarios: Sequence[Scenario]) -> bool:
    # warm and change measure a rebuild: something must have been built first.
    return "cold" not in scenarios and bool(scenarios)


def build_lines(lines: Sequence[LogLine]) -> tuple[LogLine, ...]:
    """The log lines printed while a build-phase command ran (its output, not the others')."""
    spans = [(st.start, st.end) for st in steps(lines) if st.phase == "build"]
    return tuple(ln for ln in lines if any(a <= ln.t <= b for a, b in spans) and not _is_cmd(ln))


def _is_cmd(line: LogLine) -> bool:
    return strip_ansi(line.text).lstrip().startswith("$ ")


def not_cold_error(hits: int) -> str:
    return (
        f"not cold: {hits} build step(s) came from a layer cache (counted in the build output); "
        "a cold run must take none, so this run is no cold figure"
    )


def execution_from(job: JobRun, way: str, scenario: Scenario, repeat: int, cache: CacheMode) -> Execution:
    """The record of one run. A cold run whose build took a step from any cache fails: its
    figure would pass a cached build off as a cold one."""
    phases = extract_phases(job.lines, services=job.services)
    built = build_lines(job.lines)
    hits = cached_steps(built) if job.lines else None
    times = build_times(built)
    script = steps(job.lines)
    setup = teardown = None
    if script:
        # Before the first command: the runner's own start-up, less the services' start (a phase).
        started = services_seconds(job.services) or 0.0
        setup = max(0.0, script[0].start - job.started - started)
        # After the script's last line: the runner's clean-up. The log has no line for it, so the
        # last step runs to "Job succeeded" and carries it; only an "other" step gives it back
        # (a build or push step keeps its figure).
        out = last_output(job.lines)
        end = script[-1].end
        if script[-1].phase == "other" and out is not None:
            end = min(end, max(out, script[-1].start))
        teardown = max(0.0, job.finished - end)
    ok, error = job.ok, None if job.ok else (job.error or "job failed")
    if scenario == "cold" and hits:
        ok, error = False, not_cold_error(hits) + ("" if error is None else f"; also: {error}")
    return Execution(
        way=way,
        scenario=scenario,
        repeat=repeat,
        cache=cache,
        ok=ok,
        phases=phases,
        total_s=max(0.0, job.finished - job.started),
        error=error,
        started_at=_utc(job.started_wall),
        cached_steps=hits,
        cache_meta_s=times.cache_meta if built else None,
        inner_push_s=times.push if built else None,
        unpack_s=times.unpack if built else None,
        setup_s=setup,
        teardown_s=teardown,
    )


class _Abort(Exception):
    def __init__(self, message: str, interrupted: bool = False) -> None:
        super().__init__(message)
        self.interrupted = interrupted


def run_bench(opts: BenchOptions, backend: Backend, on_event: EventSink | None = None) -> BenchResults:
    """Run the benchmark. Bad input raises; an engine that dies or an interrupt stops the loop
    and returns what finished with ``aborted`` set (the caller still writes the report)."""
    project, change_rel = check_project(opts)
    emit = on_event or (lambda _e: None)
    wanted = opts.ways or ALL_WAYS
    scenarios = tuple(s for s in SCENARIOS if s in opts.scenarios)
    if not scenarios:
        raise InputError("no scenario to run: choose from cold, warm, change")
    runnable, skipped = backend.availability(wanted)
    for s in skipped:
        emit(Event("skip", way=s.way, message=s.reason))
    started = _now()
    machine = backend.machine()
    steps = plan(runnable, opts)
    per_workspace = len(scenarios) + (1 if _needs_primer(scenarios) else 0)
    total = len(steps) * per_workspace
    emit(Event("plan", total=total))
    runs: list[Execution] = []
    aborted: str | None = None
    interrupted = False
    counter = [0]

    def one(ws: Workspace, way: str, scenario: str, repeat: int, cache: CacheMode) -> JobRun:
        counter[0] += 1
        emit(
            Event(
                "start", total=total, index=counter[0], way=way, scenario=scenario, cache=cache, repeat=repeat
            )
        )
        job, problem = _run(backend, ws, way, scenario, repeat)
        if opts.log_dir is not None:
            write_log(opts.log_dir / f"{way}-{cache}-r{repeat}-{scenario}.log", job)
        execution = None
        if scenario in SCENARIOS:
            execution = execution_from(job, way, scenario, repeat, cache)
            runs.append(execution)
        emit(
            Event(
                "done",
                total=total,
                index=counter[0],
                way=way,
                scenario=scenario,
                cache=cache,
                repeat=repeat,
                execution=execution,
                message="ok" if job.ok else (job.error or "failed"),
            )
        )
        if problem:
            raise _Abort(problem)
        return job

    try:
        for repeat, cache, way in steps:
            tag = f"{way}-{cache}-r{repeat}"
            try:
                with backend.workspace(way, cache, tag) as ws:
                    if _needs_primer(scenarios):
                        one(ws, way, "prime", repeat, cache)
                    for scenario in scenarios:
                        if scenario == "change":
                            apply_change(ws.project_dir, change_rel, f"{repeat}-{os.getpid()}")
                        one(ws, way, scenario, repeat, cache)
            except BuildrigError as exc:
                if _is_interrupt(exc) or backend.engine_alive() is not None:
                    raise
                # The way could not be set up here (init refused, a helper daemon would not
                # start): its remaining runs of this repeat are failures, the others go on.
                done = {(r.way, r.scenario, r.repeat, r.cache) for r in runs}
                for scenario in scenarios:
                    if (way, scenario, repeat, cache) not in done:
                        counter[0] += 1
                        execution = _failed(way, scenario, repeat, cache, str(exc))
                        runs.append(execution)
                        emit(
                            Event(
                                "done",
                                total=total,
                                index=counter[0],
                                way=way,
                                scenario=scenario,
                                cache=cache,
                                repeat=repeat,
                                execution=execution,
                            )
                        )
    except _Abort as exc:
        aborted = str(exc)
        interrupted = exc.interrupted
    except KeyboardInterrupt:
        aborted, interrupted = "interrupted (Ctrl-C)", True
    except BuildrigError as exc:
        if _is_interrupt(exc):  # run's RunInterrupted (SIGINT/SIGTERM)
            aborted, interrupted = str(exc), True
        elif isinstance(exc, EngineError) or backend.engine_alive() is not None:
            aborted = str(exc)
        else:
            raise
    if aborted:
        emit(Event("abort", message=aborted))
    notes: tuple[str, ...] = (
        "phases: from the job log's echoed `$ cmd` lines; a daemon wait loop counts as services, "
        "a --cache-from pull as build; other = the rest of the job (containers, clean-up, tagging). "
        "The floor splits the build command further, from its own output: cache (cache manifests "
        "imported/exported, cache look-ups, cached layers pulled), the layers it pushed itself "
        "(kaniko, buildctl push=true) and the base image it unpacked (kaniko) count apart from the "
        "build steps.",
    )
    notes = (*notes, *backend.notes())
    return BenchResults(
        machine=dataclasses.replace(machine, bare_container_s=backend.bare_container()),
        settings=Settings(
            project=project.resolve().name,
            ways=tuple(wanted),
            scenarios=scenarios,
            repeat=opts.repeat,
            cache_modes=tuple(m for m in CACHE_MODES if m in opts.cache_modes),
            change_file=change_rel,
        ),
        runs=tuple(runs),
        skipped=skipped,
        started_at=started,
        finished_at=_now(),
        aborted=aborted,
        interrupted=interrupted,
        notes=notes,
    )


def write_log(path: Path, job: JobRun) -> None:
    """The job's log as plain text, each line with its time since the job started (the lines are
    already masked by ``run``)."""
    body = "".join(f"{line.t - job.started:8.2f}  {strip_ansi(line.text)}\n" for line in job.lines)
    if not job.ok:
        body += f"# failed: {job.error or 'job failed'}\n"
    atomic_write(path, body)


def _is_interrupt(exc: BuildrigError) -> bool:
    return exc.exit_code in (130, 143)


def _failed(way: str, scenario: Scenario, repeat: int, cache: CacheMode, error: str) -> Execution:
    return Execution(way, scenario, repeat, cache, False, Phases(), 0.0, error, _now())


def _run(backend: Backend, ws: Workspace, way: str, scenario: str, repeat: int) -> tuple[JobRun, str | None]:
    """Run one job; when it fails, tell a failing build from an engine that went away (then the
    second value says so and the loop stops after recording the failed run)."""
    where = f"{way} {scenario} (repeat {repeat})"
    try:
        job = ws.run_job(scenario)
    except BuildrigError as exc:
        if _is_interrupt(exc):
            raise
        problem = backend.engine_alive()
        if problem is not None:
            raise _Abort(f"{where}: the engine stopped answering: {problem}") from exc
        # The engine is fine: this way failed before or around its job (e.g. a helper daemon).
        now = time.monotonic()
        return JobRun(False, now, now, time.time(), (), (), str(exc)), None
    if not job.ok:
        problem = backend.engine_alive()
        if problem is not None:
            return job, f"{where}: the engine stopped answering: {problem}"
    return job, None
