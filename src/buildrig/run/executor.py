"""What the docker and shell executors share: the :class:`Executor` protocol ``run_jobs`` drives,
the :class:`Outcome` of a job, the :class:`JobError` that fails it around its script, and GitLab's
job timeout."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from buildrig.gitlab.model import Job
from buildrig.run.artifacts import ArtifactFile
from buildrig.run.log import JobLog
from buildrig.run.variables import JobVariables

AFTER_SCRIPT_TIMEOUT = 300  # the runner's default for after_script


class JobError(Exception):
    """The job fails before or around its script (image missing, engine refused); message is GitLab-like."""


@dataclass(frozen=True)
class Outcome:
    status: str
    exit_code: int
    reason: str | None = None
    artifacts: tuple[ArtifactFile, ...] = ()
    cache: tuple[ArtifactFile, ...] = ()  # files under the job's cache: paths, for the caller to keep


class Executor(Protocol):
    """One GitLab Runner executor (docker, shell): runs one job and says how it ended; a
    :class:`JobError` it raises fails that job the same way."""

    pre_build: tuple[str, ...]  # [[runners]] pre_build_script, run before before_script

    def run(
        self,
        job: Job,
        index: int,
        jv: JobVariables,
        log: JobLog,
        inputs: Sequence[ArtifactFile] = (),
        cache_paths: Sequence[str] = (),
    ) -> Outcome: ...


DEFAULT_JOB_TIMEOUT = 3600.0  # GitLab's default project timeout
_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}


def job_timeout(job: Job) -> float:
    """``timeout:`` (``"1h 30m"``, ``"90 minutes"``, ``"3600"``) in seconds; GitLab's 1 h by default."""
    raw = job.raw.get("timeout")
    if raw is None:
        return DEFAULT_JOB_TIMEOUT
    text = str(raw).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]+)", text):
        total += float(num) * _UNITS.get(unit, 0)
    return total or DEFAULT_JOB_TIMEOUT


def duration_text(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60}m{s % 60}s"
