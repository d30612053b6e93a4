"""``buildrig run``: GitLab Runner's docker and shell executors, emulated on a local Docker Engine.

Entry point for the CLI, ``bench`` and tests: ``run_jobs(RunOptions(project_dir=...)) -> RunResult``.
The Docker SDK is imported only when a docker job actually runs.
"""

from __future__ import annotations

from buildrig.run.api import run_jobs
from buildrig.run.inputs import select_jobs
from buildrig.run.model import (
    JobResult,
    LogLine,
    LogSink,
    RegistryInfo,
    RunInterrupted,
    RunOptions,
    RunResult,
)

__all__ = [
    "JobResult",
    "LogLine",
    "LogSink",
    "RegistryInfo",
    "RunInterrupted",
    "RunOptions",
    "RunResult",
    "run_jobs",
    "select_jobs",
]
