"""Synthetic benchmark results for the unit tests (figures are made up, shapes are real)."""

from __future__ import annotations

from buildrig.bench.model import (
    BenchResults,
    CacheMode,
    Execution,
    Machine,
    Phases,
    Scenario,
    Settings,
    Skipped,
)

MACHINE = Machine(
    cpu_count=2,
    engine_version="20.10.24+dfsg1",
    engine_api_version="1.41",
    storage_driver="overlay2",
    cgroup_version="1",
    kernel="6.1.0-test",
    os="Debian GNU/Linux 12 (bookworm)",
    engine_os="Debian GNU/Linux 12 (bookworm)",
    memory_bytes=2 * 2**30,
    docker_host="unix:///var/run/docker.sock",
    python="3.11.2",
    buildrig_version="0.1.0",
)


def run(
    way: str,
    scenario: Scenario,
    repeat: int,
    build: float,
    *,
    cache: CacheMode = "registry",
    ok: bool = True,
    services: float | None = None,
    login: float | None = 0.5,
    push: float | None = 1.0,
    other: float = 1.0,
    error: str | None = None,
) -> Execution:
    phases = Phases(services=services, login=login, build=build, push=push)
    return Execution(
        way=way,
        scenario=scenario,
        repeat=repeat,
        cache=cache,
        ok=ok,
        phases=phases,
        total_s=phases.known_sum() + other,
        error=error,
        started_at="2026-11-27T18:00:00Z",
    )


def results(
    runs: list[Execution], *, skipped: tuple[Skipped, ...] = (), aborted: str | None = None
) -> BenchResults:
    return BenchResults(
        machine=MACHINE,
        settings=Settings(
            project="hello",
            ways=tuple(dict.fromkeys(r.way for r in runs)),
            scenarios=("cold", "warm", "change"),
            repeat=max((r.repeat for r in runs), default=0),
            cache_modes=tuple(dict.fromkeys(r.cache for r in runs)),
            change_file="app/main.py",
        ),
        runs=tuple(runs),
        skipped=skipped,
        started_at="2026-11-27T18:00:00Z",
        finished_at="2026-11-27T18:05:00Z",
        aborted=aborted,
    )


def sample() -> BenchResults:
    """Three ways, three scenarios, three repeats, one failed run, kaniko skipped."""
    runs: list[Execution] = []
    builds = {
        "shell": {"cold": (10.0, 11.0, 12.0), "warm": (1.0, 1.2, 1.1), "change": (2.0, 2.2, 2.1)},
        "docker_sock": {"cold": (10.5, 11.5, 12.5), "warm": (1.1, 1.3, 1.2), "change": (2.1, 2.3, 2.2)},
        "dind": {"cold": (13.0, 14.0, 15.0), "warm": (4.0, 4.2, 4.1), "change": (5.0, 5.1, 5.2)},
    }
    for way, per in builds.items():
        for scenario in ("cold", "warm", "change"):
            for i, b in enumerate(per[scenario], start=1):
                runs.append(run(way, scenario, i, b, services=2.0 if way == "dind" else None))  # type: ignore[arg-type]
    runs.append(run("dind", "cold", 4, 0.0, ok=False, error="job build-image failed: exit code 1"))
    return results(runs, skipped=(BenchSkips.KANIKO,))


class BenchSkips:
    KANIKO = Skipped("kaniko", "the kaniko image cannot be obtained offline")
