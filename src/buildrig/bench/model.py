"""Values of a benchmark: one record per job execution, the machine it ran on, ways skipped.

These are the contract between the orchestration, the statistics and every output format
(terminal table, ``results.json``, ``results.csv``, the HTML report).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Scenario = Literal["cold", "warm", "change"]
CacheMode = Literal["registry", "none"]
_T = TypeVar("_T", bound=str)

#: Every way buildrig knows, in the order outputs list them.
ALL_WAYS: tuple[str, ...] = ("shell", "docker_sock", "docker_host", "dind", "kaniko", "buildah", "buildkit")
SCENARIOS: tuple[Scenario, ...] = ("cold", "warm", "change")
CACHE_MODES: tuple[CacheMode, ...] = ("registry", "none")
#: Phases timed from the job log. ``other`` is what the job spends outside them (container
#: start, script set-up, tagging, clean-up) so that stacked phases add up to the total.
PHASES: tuple[str, ...] = ("services", "login", "build", "push")
STACK: tuple[str, ...] = (*PHASES, "other")

#: The seed article's "theoretical efficiency" order: shell > docker_sock > docker_host >
#: using_docker_build (dind) > using_kaniko. buildah and BuildKit are not ranked there.
THEORETICAL_RANKING: dict[str, int] = {"shell": 1, "docker_sock": 2, "docker_host": 3, "dind": 4, "kaniko": 5}

#: The way every ratio is taken against.
BASELINE_WAY = "shell"


@dataclass(frozen=True)
class Phases:
    """Seconds per phase; ``None`` when the job has no such phase (shell has no services,
    kaniko pushes inside its build step)."""

    services: float | None = None
    login: float | None = None
    build: float | None = None
    push: float | None = None

    def get(self, name: str) -> float | None:
        if name not in PHASES:
            raise KeyError(name)
        value: float | None = getattr(self, name)
        return value

    def known_sum(self) -> float:
        return sum(v for v in (self.services, self.login, self.build, self.push) if v is not None)

    def to_dict(self) -> dict[str, float | None]:
        return {name: _round(self.get(name)) for name in PHASES}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Phases:
        return cls(**{name: _opt_float(data.get(name)) for name in PHASES})


@dataclass(frozen=True)
class Execution:
    """One job execution: a way, a scenario, a repeat (1-based), a cache mode."""

    way: str
    scenario: Scenario
    repeat: int
    cache: CacheMode
    ok: bool
    phases: Phases
    total_s: float
    #: Why the execution failed (one line), when ``ok`` is false.
    error: str | None = None
    #: ISO 8601 UTC start time of the job.
    started_at: str = ""
    #: Build steps the builder took from a layer cache, counted in the build output; ``None``
    #: when there was no log to count in (results written before this was recorded).
    cached_steps: int | None = None
    #: Seconds of the build command spent on the cache (cache manifests imported/exported,
    #: kaniko's look-ups, cached layers pulled) and on pushing layers from inside the build
    #: command (kaniko, ``buildctl ... push=true``).
    cache_meta_s: float | None = None
    inner_push_s: float | None = None
    #: Seconds of the build command spent unpacking the base image's filesystem (kaniko, when a
    #: step it has to run needs it), apart from the build steps.
    unpack_s: float | None = None
    #: Seconds of the job before its first script command (containers, volumes, the services'
    #: start not included) and after its last one (after_script, removing containers, services
    #: and volumes): parts of "other" that only the runner's work explains.
    setup_s: float | None = None
    teardown_s: float | None = None

    @property
    def other_s(self) -> float:
        """Time not attributed to a named phase (never negative: timestamps are per line)."""
        return max(0.0, self.total_s - self.phases.known_sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "way": self.way,
            "scenario": self.scenario,
            "repeat": self.repeat,
            "cache": self.cache,
            "ok": self.ok,
            "phases": {**self.phases.to_dict(), "other": _round(self.other_s)},
            "total_s": _round(self.total_s),
            "error": self.error,
            "started_at": self.started_at,
            "cached_steps": self.cached_steps,
            "cache_meta_s": _round(self.cache_meta_s),
            "inner_push_s": _round(self.inner_push_s),
            "unpack_s": _round(self.unpack_s),
            "setup_s": _round(self.setup_s),
            "teardown_s": _round(self.teardown_s),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Execution:
        scenario = _choice(data["scenario"], SCENARIOS, "scenario")
        cache = _choice(data.get("cache", "registry"), CACHE_MODES, "cache mode")
        return cls(
            way=str(data["way"]),
            scenario=scenario,
            repeat=int(data["repeat"]),
            cache=cache,
            ok=bool(data["ok"]),
            phases=Phases.from_dict(dict(data.get("phases") or {})),
            total_s=float(data["total_s"]),
            error=None if data.get("error") is None else str(data["error"]),
            started_at=str(data.get("started_at") or ""),
            cached_steps=None if data.get("cached_steps") is None else int(data["cached_steps"]),
            cache_meta_s=_opt_float(data.get("cache_meta_s")),
            inner_push_s=_opt_float(data.get("inner_push_s")),
            unpack_s=_opt_float(data.get("unpack_s")),
            setup_s=_opt_float(data.get("setup_s")),
            teardown_s=_opt_float(data.get("teardown_s")),
        )


@dataclass(frozen=True)
class Skipped:
    """A way that was asked for (or is known) but cannot run here, with the reason."""

    way: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"way": self.way, "reason": self.reason}


@dataclass(frozen=True)
class Machine:
    """Facts that make figures comparable: who ran them, on what."""

    cpu_count: int
    engine_version: str
    engine_api_version: str
    storage_driver: str
    cgroup_version: str
    kernel: str
    os: str
    engine_os: str
    memory_bytes: int
    docker_host: str
    python: str
    buildrig_version: str
    #: Seconds of a bare container's create, start, wait and remove (``docker run --rm``'s work)
    #: in a container way's job image, a few times before that way's first job: the engine's floor
    #: for any job that runs in a container, which the shell way does not pay. Empty when no
    #: container way ran or the probe failed.
    bare_container_s: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu_count": self.cpu_count,
            "engine_version": self.engine_version,
            "engine_api_version": self.engine_api_version,
            "storage_driver": self.storage_driver,
            "cgroup_version": self.cgroup_version,
            "kernel": self.kernel,
            "os": self.os,
            "engine_os": self.engine_os,
            "memory_bytes": self.memory_bytes,
            "docker_host": self.docker_host,
            "python": self.python,
            "buildrig_version": self.buildrig_version,
            "bare_container_s": [round(t, 3) for t in self.bare_container_s],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Machine:
        return cls(
            cpu_count=int(data.get("cpu_count", 0)),
            engine_version=str(data.get("engine_version", "")),
            engine_api_version=str(data.get("engine_api_version", "")),
            storage_driver=str(data.get("storage_driver", "")),
            cgroup_version=str(data.get("cgroup_version", "")),
            kernel=str(data.get("kernel", "")),
            os=str(data.get("os", "")),
            engine_os=str(data.get("engine_os", "")),
            memory_bytes=int(data.get("memory_bytes", 0)),
            docker_host=str(data.get("docker_host", "")),
            python=str(data.get("python", "")),
            buildrig_version=str(data.get("buildrig_version", "")),
            bare_container_s=tuple(float(t) for t in data.get("bare_container_s") or ()),
        )


@dataclass(frozen=True)
class Settings:
    """What was asked for, so a results file explains itself."""

    project: str
    ways: tuple[str, ...]
    scenarios: tuple[Scenario, ...]
    repeat: int
    cache_modes: tuple[CacheMode, ...]
    change_file: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "ways": list(self.ways),
            "scenarios": list(self.scenarios),
            "repeat": self.repeat,
            "cache_modes": list(self.cache_modes),
            "change_file": self.change_file,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        return cls(
            project=str(data.get("project", "")),
            ways=tuple(str(w) for w in data.get("ways", ())),
            scenarios=tuple(_choice(s, SCENARIOS, "scenario") for s in data.get("scenarios", ())),
            repeat=int(data.get("repeat", 0)),
            cache_modes=tuple(_choice(c, CACHE_MODES, "cache mode") for c in data.get("cache_modes", ())),
            change_file=str(data.get("change_file", "")),
        )


@dataclass(frozen=True)
class BenchResults:
    """Everything one ``buildrig bench`` produced, complete or cut short."""

    machine: Machine
    settings: Settings
    runs: tuple[Execution, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    started_at: str = ""
    finished_at: str = ""
    #: Set when the benchmark stopped early (engine died, Ctrl-C); the runs kept are partial.
    aborted: str | None = None
    #: The stop was Ctrl-C/SIGTERM rather than a failure.
    interrupted: bool = False
    #: Free-form remarks worth reading next to the figures (e.g. how cold was made cold).
    notes: tuple[str, ...] = field(default_factory=tuple)

    def ways_measured(self) -> tuple[str, ...]:
        """Ways with at least one execution, in :data:`ALL_WAYS` order (unknown ways last)."""
        seen = {r.way for r in self.runs}
        known = [w for w in ALL_WAYS if w in seen]
        return (*known, *sorted(seen - set(ALL_WAYS)))

    def cache_modes_measured(self) -> tuple[CacheMode, ...]:
        seen = {r.cache for r in self.runs}
        return tuple(c for c in CACHE_MODES if c in seen)


def _choice(value: Any, choices: tuple[_T, ...], what: str) -> _T:
    for choice in choices:
        if value == choice:
            return choice
    raise ValueError(f"unknown {what} {value!r}")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
