"""Values exchanged with ``buildrig.run``: what to run (:class:`RunOptions`) and what happened
(:class:`RunResult`). The CLI, ``bench`` and the end-to-end tests all go through these."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from buildrig.errors import BuildrigError
from buildrig.gitlab.model import Pipeline, Runner
from buildrig.registryinfo import RegistryInfo as RegistryInfo  # callers name it with the options

_NO_STR: Mapping[str, str] = MappingProxyType({})
_NO_PATH: Mapping[str, Path] = MappingProxyType({})


@dataclass(frozen=True)
class LogLine:
    """One line of a job's log, already masked. ``t`` is ``time.monotonic()`` when it arrived."""

    job: str
    text: str  # without the trailing newline; may hold the script's ANSI colours
    t: float
    wall: float
    kind: str = "out"  # "out": the job's output; "sys": buildrig/runner messages; "warn"; "error"

    @property
    def is_command(self) -> bool:
        """The ``$ cmd`` echo of a script line (what bench uses to time phases)."""
        return strip_ansi(self.text).startswith("$ ")


LogSink = Callable[[LogLine], None]


@dataclass(frozen=True)
class RunOptions:
    """Everything ``run_jobs`` needs. Only ``project_dir`` is required.

    ``pipeline`` may be given already parsed (tests, bench); otherwise ``ci_file`` (default
    ``<project_dir>/.gitlab-ci.yml``) is loaded with :func:`buildrig.gitlab.ci.load_pipeline`.
    ``runner`` likewise may be given directly instead of ``runner_config``.
    """

    project_dir: Path
    pipeline: Pipeline | None = None
    ci_file: Path | None = None
    jobs: tuple[str, ...] = ()  # job names; empty: every job that would run on a push
    stages: tuple[str, ...] = ()
    executor: str | None = None  # "docker" | "shell"; default: the runner's, else docker
    runner_config: Path | None = None
    runner_name: str | None = None  # which [[runners]] entry; default: the first
    runner: Runner | None = None
    # The project's CI/CD variables (buildrig.gitlab.variables_file), below --var/--file-var.
    variables_file: Path | None = None
    # Use <project_dir>/runner/config.toml and runner/variables.toml (what `init` writes) when
    # runner_config / variables_file are not given; each job's log names what was used.
    project_defaults: bool = False
    variables: Mapping[str, str] = field(default_factory=lambda: _NO_STR)  # --var K=V
    file_variables: Mapping[str, Path] = field(default_factory=lambda: _NO_PATH)  # --file-var
    masked: tuple[str, ...] = ()  # names of variables whose values are shown as [MASKED]
    # Real image name -> the local image to run instead (the CLI, try and bench add the test
    # bed's stand-ins here; run itself knows nothing of the test bed).
    image_overrides: Mapping[str, str] = field(default_factory=lambda: _NO_STR)
    registry: RegistryInfo | None = None  # CI_REGISTRY; None: jobs get no registry
    network_per_build: bool = False  # a network even for jobs without services
    namespace: str | None = None  # default: from the git remote, else "local"
    project_name: str | None = None  # default: from the git remote, else the directory name
    builds_dir: Path | None = None  # shell executor; default under buildrig's state dir
    user: str | None = None  # shell executor: run the script as this user
    docker_host: str | None = None  # engine to use; default DOCKER_HOST / local socket
    sink: LogSink | None = None
    keep_lines: bool = True  # keep every LogLine on the JobResult
    install_signal_handlers: bool = True  # SIGTERM cleans up; only from the main thread
    run_id: str | None = None
    # Keep cache volumes (`volumes` entries without a host path) across runs under this name, as
    # GitLab Runner keeps runner-<token>-project-<id>-concurrent-<n>-cache-<hash> between jobs
    # (executors/docker/internal/volumes/manager.go:197, common/build.go:227 at v17.9.3). None:
    # they live for this run only. The caller removes them with run.cleanup.remove_cache(scope)
    # (buildrig gc does once the process that created them is gone).
    cache_scope: str | None = None
    # The volumes outlive this process too (``buildrig run --keep-cache``), and ``buildrig gc``
    # leaves them until ``--all``. Without cache_scope, the run takes the project's on the runner
    # entry it uses (run.cleanup.project_scope), on the lowest concurrent slot free (cache_slot).
    keep_cache: bool = False


@dataclass(frozen=True)
class JobResult:
    name: str
    stage: str
    status: str  # "success" | "failed" | "skipped" | "canceled"
    exit_code: int
    started: float  # monotonic
    finished: float  # monotonic
    started_wall: float
    lines: tuple[LogLine, ...] = ()
    reason: str | None = None  # one line: why it failed or was skipped
    allow_failure: bool = False
    hints: tuple[str, ...] = ()  # one line each: a likely cause of the failure and its fix
    notes: tuple[str, ...] = ()  # repeated in the run's summary (e.g. the privileged fallback)

    @property
    def duration(self) -> float:
        return self.finished - self.started

    @property
    def text(self) -> str:
        """The log as plain text without colours (what tests assert on)."""
        return "\n".join(strip_ansi(line.text) for line in self.lines)


@dataclass(frozen=True)
class RunResult:
    run_id: str
    jobs: tuple[JobResult, ...]
    started: float
    finished: float

    @property
    def exit_code(self) -> int:
        """The exit code of the first job that failed (allow_failure jobs don't count), else 0."""
        for job in self.jobs:
            if job.status in ("failed", "canceled") and not job.allow_failure:
                return job.exit_code or 1
        return 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def job(self, name: str) -> JobResult | None:
        return next((j for j in self.jobs if j.name == name), None)


class RunInterrupted(BuildrigError):
    """SIGINT/SIGTERM arrived during a run; everything it created has been removed."""

    exit_code = 130

    def __init__(self, signame: str, result: RunResult | None = None) -> None:
        self.result = result
        code = 143 if signame == "SIGTERM" else 130
        super().__init__(
            f"interrupted by {signame}; the run's containers, networks and volumes were removed",
            exit_code=code,
        )


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)
