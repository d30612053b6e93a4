from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from bench_factory import MACHINE

from buildrig.bench.model import BenchResults, CacheMode, Machine, Skipped
from buildrig.bench.orchestrate import (
    BenchOptions,
    Event,
    JobRun,
    apply_change,
    check_project,
    default_change_file,
    plan,
    run_bench,
)
from buildrig.bench.phases import LogLine, ServiceSpan
from buildrig.errors import BuildrigError, EngineError, InputError

DOCKERFILE = """FROM base
COPY requirements.txt ./
RUN install \\
    --slow
COPY src/ ./src/
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "proj"
    (p / "src").mkdir(parents=True)
    (p / "Dockerfile").write_text(DOCKERFILE)
    (p / "requirements.txt").write_text("x\n")
    (p / "src" / "__init__.py").write_text("")
    (p / "src" / "main.py").write_text("print('hi')\n")
    return p


@dataclass
class FakeWorkspace:
    project_dir: Path
    backend: FakeBackend
    way: str

    def run_job(self, scenario: str) -> JobRun:
        self.backend.scenarios.append(scenario)
        return self.backend.job(self)


@dataclass
class FakeBackend:
    """Jobs that take longer cold than warm and record what the project looked like."""

    root: Path
    source: Path
    can_run: tuple[str, ...] = ("shell", "dind")
    fail_at: int | None = None  # 1-based job number that fails
    engine_dies_at: int | None = None
    raise_at: int | None = None
    way_error_at: int | None = None
    broken_way: str | None = None
    interrupt_at: int | None = None
    cached_at: int | None = None  # 1-based job number whose build reports cached steps
    jobs: list[tuple[str, str, bool]] = field(default_factory=list)  # (way, tag, changed?)
    scenarios: list[str] = field(default_factory=list)  # what each run_job was told it runs
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    engine_down: bool = False
    clock: float = 1000.0

    def availability(self, ways: Sequence[str]) -> tuple[tuple[str, ...], tuple[Skipped, ...]]:
        ok = tuple(w for w in ways if w in self.can_run)
        return ok, tuple(Skipped(w, f"{w} cannot run in the fake") for w in ways if w not in self.can_run)

    def machine(self) -> Machine:
        return MACHINE

    @contextmanager
    def workspace(self, way: str, cache: CacheMode, tag: str) -> Iterator[FakeWorkspace]:
        if way == self.broken_way:
            raise BuildrigError(f"init: {way} refuses this project")
        d = self.root / tag
        shutil.copytree(self.source, d)
        self.opened.append(tag)
        try:
            yield FakeWorkspace(d, self, way)
        finally:
            self.closed.append(tag)
            shutil.rmtree(d)

    def engine_alive(self) -> str | None:
        return "connection refused" if self.engine_down else None

    def notes(self) -> tuple[str, ...]:
        return ("fake note",)

    def bare_container(self) -> tuple[float, ...]:
        return (0.31, 0.29, 0.33)

    def job(self, ws: FakeWorkspace) -> JobRun:
        n = len(self.jobs) + 1
        if n == self.raise_at:
            self.engine_down = True
            raise EngineError("Docker Engine at unix:///x does not answer: gone")
        if n == self.way_error_at:
            self.jobs.append((ws.way, ws.project_dir.name, False))
            raise EngineError("cannot start the docker_host test daemon: refused")
        if n == self.interrupt_at:
            raise KeyboardInterrupt
        changed = "buildrig bench change" in (ws.project_dir / "src" / "main.py").read_text()
        first = not any(j[1] == ws.project_dir.name for j in self.jobs)
        self.jobs.append((ws.way, ws.project_dir.name, changed))
        build = 10.0 if first else (3.0 if changed else 1.0)
        t = self.clock
        self.clock += 100
        svc = (ServiceSpan("docker", t, t + 2.0),) if ws.way == "dind" else ()
        s0 = t + (2.5 if svc else 0.5)
        hits = 2 if n == self.cached_at or not first else 0
        lines = (
            LogLine(s0, "$ docker login -u u --password-stdin r"),
            LogLine(s0 + 0.5, "$ docker build -t x ."),
            *(LogLine(s0 + 0.6, " ---> Using cache") for _ in range(hits)),
            LogLine(s0 + 0.5 + build, "$ docker push x"),
            LogLine(s0 + 1.5 + build, "Job succeeded"),
        )
        if n == self.engine_dies_at:
            self.engine_down = True
        ok = n not in (self.fail_at, self.engine_dies_at)
        return JobRun(ok, t, s0 + 2.0 + build, 1.8e9, lines, svc, None if ok else "exit code 1")


def _bench(backend: FakeBackend, project: Path, **kw: object) -> tuple[BenchResults, list[Event]]:
    events: list[Event] = []
    opts = BenchOptions(project_dir=project, **kw)
    return run_bench(opts, backend, events.append), events


def test_three_scenarios_per_repeat_in_one_workspace(project: Path, tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path / "ws", project)
    res, events = _bench(backend, project, ways=("shell", "dind", "kaniko"), repeat=2)
    runs = res.runs
    assert [(r.way, r.scenario, r.repeat) for r in runs] == [
        (w, s, r) for r in (1, 2) for w in ("shell", "dind") for s in ("cold", "warm", "change")
    ]
    # the change is applied right before the change run only, in a fresh copy per repeat
    assert [j[2] for j in backend.jobs] == [False, False, True] * 4
    assert (
        backend.opened
        == backend.closed
        == ["shell-registry-r1", "dind-registry-r1", "shell-registry-r2", "dind-registry-r2"]
    )
    assert "buildrig bench change" not in (project / "src" / "main.py").read_text()  # the user's file
    cold = next(r for r in runs if r.way == "dind" and r.scenario == "cold")
    assert cold.phases.services == pytest.approx(2.0)
    assert cold.phases.build == pytest.approx(10.0)
    assert cold.total_s == pytest.approx(14.5)
    assert cold.started_at == "2027-01-15T08:00:00Z"
    assert res.skipped == (Skipped("kaniko", "kaniko cannot run in the fake"),)
    assert events[0] == Event("skip", way="kaniko", message="kaniko cannot run in the fake")
    assert events[1].kind == "plan" and events[1].total == 12
    assert [e.index for e in events if e.kind == "done"] == list(range(1, 13))
    assert res.settings.change_file == "src/main.py"
    assert res.aborted is None
    assert res.notes[-1] == "fake note"
    # the engine's container floor, timed by the backend, goes into the machine's facts
    assert res.machine.bare_container_s == (0.31, 0.29, 0.33)


def test_each_run_is_told_its_scenario_and_a_cached_cold_run_fails(project: Path, tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path / "ws", project, cached_at=4)  # repeat 2's cold run
    res, events = _bench(backend, project, ways=("shell",), repeat=2)
    assert backend.scenarios == ["cold", "warm", "change"] * 2
    by = {(r.scenario, r.repeat): r for r in res.runs}
    assert [by[("cold", 1)].cached_steps, by[("warm", 1)].cached_steps] == [0, 2]
    bad = by[("cold", 2)]
    assert bad.ok is False and bad.cached_steps == 2
    assert bad.error is not None and bad.error.startswith("not cold: 2 build step(s) came from a layer cache")
    assert by[("warm", 2)].ok is True  # the rest of the repeat goes on
    done = [e for e in events if e.kind == "done" and e.scenario == "cold" and e.repeat == 2]
    assert done[0].execution == bad
    # a primer (no cold scenario) is told so, and is not recorded
    primed = FakeBackend(tmp_path / "ws2", project)
    res2, _ = _bench(primed, project, ways=("shell",), repeat=1, scenarios=("warm",))
    assert primed.scenarios == ["prime", "warm"]
    assert [r.scenario for r in res2.runs] == ["warm"]


def test_job_logs_written_with_relative_times(project: Path, tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path / "ws", project, fail_at=2)
    _bench(backend, project, ways=("dind",), repeat=1, log_dir=tmp_path / "logs")
    names = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert names == ["dind-registry-r1-change.log", "dind-registry-r1-cold.log", "dind-registry-r1-warm.log"]
    cold = (tmp_path / "logs" / "dind-registry-r1-cold.log").read_text().splitlines()
    assert cold[0] == "    2.50  $ docker login -u u --password-stdin r"
    assert (tmp_path / "logs" / "dind-registry-r1-warm.log").read_text().endswith("# failed: exit code 1\n")


def test_warm_only_builds_an_unrecorded_primer_first(project: Path, tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path / "ws", project)
    res, events = _bench(backend, project, ways=("shell",), repeat=1, scenarios=("warm",))
    assert [(r.scenario, r.phases.build) for r in res.runs] == [("warm", pytest.approx(1.0))]
    assert len(backend.jobs) == 2
    assert [e.scenario for e in events if e.kind == "start"] == ["prime", "warm"]


def test_both_cache_modes(project: Path, tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path / "ws", project)
    res, _ = _bench(backend, project, ways=("dind",), repeat=1, cache_modes=("registry", "none"))
    assert [(r.cache, r.scenario) for r in res.runs] == [
        ("registry", "cold"),
        ("registry", "warm"),
        ("registry", "change"),
        ("none", "cold"),
        ("none", "warm"),
        ("none", "change"),
    ]


def test_failed_job_is_recorded_and_the_bench_goes_on(project: Path, tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path / "ws", project, fail_at=2)
    res, _ = _bench(backend, project, ways=("shell",), repeat=1)
    assert [r.ok for r in res.runs] == [True, False, True]
    assert res.runs[1].error == "exit code 1"
    assert res.aborted is None


def test_engine_dies_mid_run_partial_results_kept_and_cleaned_up(project: Path, tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path / "ws", project, engine_dies_at=5)
    res, events = _bench(backend, project, ways=("shell", "dind"), repeat=2)
    assert len(res.runs) == 5
    assert res.runs[-1].ok is False
    assert res.aborted == "dind warm (repeat 1): the engine stopped answering: connection refused"
    assert res.interrupted is False
    assert backend.opened == backend.closed  # the workspace was left through its clean-up
    assert events[-1].kind == "abort"


def test_engine_error_raised_by_the_job(project: Path, tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path / "ws", project, raise_at=2)
    res, _ = _bench(backend, project, ways=("shell",), repeat=3)
    assert len(res.runs) == 1
    assert res.aborted is not None and "the engine stopped answering" in res.aborted
    assert backend.opened == backend.closed == ["shell-registry-r1"]


def test_a_way_that_fails_around_its_job_does_not_stop_the_bench(project: Path, tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path / "ws", project, way_error_at=1)
    res, _ = _bench(backend, project, ways=("shell",), repeat=1)
    assert [(r.scenario, r.ok) for r in res.runs] == [("cold", False), ("warm", True), ("change", True)]
    assert res.runs[0].error == "cannot start the docker_host test daemon: refused"
    assert res.aborted is None


def test_a_way_that_cannot_be_set_up_fails_its_runs_and_the_rest_go_on(project: Path, tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path / "ws", project, broken_way="dind")
    res, events = _bench(backend, project, ways=("shell", "dind"), repeat=1)
    assert [(r.way, r.scenario, r.ok) for r in res.runs] == [
        ("shell", "cold", True),
        ("shell", "warm", True),
        ("shell", "change", True),
        ("dind", "cold", False),
        ("dind", "warm", False),
        ("dind", "change", False),
    ]
    assert res.runs[-1].error == "init: dind refuses this project"
    assert [e.index for e in events if e.kind == "done"] == [1, 2, 3, 4, 5, 6]
    assert res.aborted is None


def test_interrupt_keeps_partial_results(project: Path, tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path / "ws", project, interrupt_at=3)
    res, _ = _bench(backend, project, ways=("shell",), repeat=1)
    assert len(res.runs) == 2 and res.interrupted is True
    assert backend.opened == backend.closed


def test_project_without_dockerfile_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    with pytest.raises(InputError) as info:
        check_project(BenchOptions(project_dir=tmp_path / "p"))
    assert (
        str(info.value) == f"{tmp_path / 'p'}: no Dockerfile here: bench builds the project's own Dockerfile"
    )
    assert "\n" not in str(info.value)


def test_bad_options(project: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown way"):
        check_project(BenchOptions(project_dir=project, ways=("podman",)))
    with pytest.raises(InputError, match="at least 1"):
        check_project(BenchOptions(project_dir=project, repeat=0))
    outside = tmp_path / "elsewhere.py"
    outside.write_text("x")
    with pytest.raises(InputError, match="inside the project"):
        check_project(BenchOptions(project_dir=project, change_file=outside))
    with pytest.raises(InputError, match="no such file"):
        check_project(BenchOptions(project_dir=project, change_file=Path("src/nope.py")))
    assert check_project(BenchOptions(project_dir=project, change_file=Path("requirements.txt")))[1] == (
        "requirements.txt"
    )


def test_default_change_file_is_from_the_last_copy(project: Path) -> None:
    assert default_change_file(project) == "src/main.py"
    (project / "Dockerfile").write_text("FROM a\nCOPY --from=build /x /y\nCOPY app.py .\n")
    (project / "app.py").write_text("x")
    assert default_change_file(project) == "app.py"
    (project / "Dockerfile").write_text("FROM a\nRUN true\n")
    with pytest.raises(InputError, match="pass --change FILE"):
        default_change_file(project)


def test_default_change_file_for_the_bundled_example() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "hello"
    assert default_change_file(example) == "app/hello.py"


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [
        ("a.py", "x = 1\n", "x = 1\n# buildrig bench change 7\n"),
        ("a.js", "x()", "x()\n// buildrig bench change 7\n"),
        ("a.html", "<p>", "<p>\n<!-- buildrig bench change 7 -->\n"),
        ("a.json", "{}\n", "{}\n\n"),
    ],
)
def test_apply_change(tmp_path: Path, name: str, before: str, after: str) -> None:
    (tmp_path / name).write_text(before)
    apply_change(tmp_path, name, "7")
    assert (tmp_path / name).read_text() == after


def test_plan_interleaves_ways_within_each_repeat(project: Path) -> None:
    opts = BenchOptions(project_dir=project, repeat=2, cache_modes=("none", "registry"))
    assert plan(("shell", "dind"), opts) == [
        (1, "registry", "shell"),
        (1, "registry", "dind"),
        (1, "none", "shell"),
        (1, "none", "dind"),
        (2, "registry", "shell"),
        (2, "registry", "dind"),
        (2, "none", "shell"),
        (2, "none", "dind"),
    ]


def test_apply_change_never_writes_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "users-own.py"
    outside.write_text("x = 1\n")
    copy = tmp_path / "scratch"
    copy.mkdir()
    (copy / "a.py").symlink_to(outside)  # scratch copies keep the project's symlinks
    apply_change(copy, "a.py", "7")
    assert outside.read_text() == "x = 1\n"
    assert not (copy / "a.py").is_symlink()
    assert (copy / "a.py").read_text() == "x = 1\n# buildrig bench change 7\n"
