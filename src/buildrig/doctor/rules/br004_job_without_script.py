"""Input: a visible job with no ``script`` (nor ``trigger``/``run``).

GitLab rejects the pipeline::

    This GitLab CI configuration is invalid: jobs:build config should implement the script:, run:, or
    trigger: keyword

Usually a template meant to be hidden lost its leading dot, or ``extends`` names a job that has
no script either.

Fix: add the script, or hide the job by starting its name with a dot.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR004"
TITLE = "input: job without script, run or trigger"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/yaml/#script"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        raw = jv.job.raw
        if jv.job.script or "trigger" in raw or "run" in raw:
            continue
        yield finding(
            f"job '{jv.job.name}' has no script; GitLab rejects the pipeline: \"jobs:{jv.job.name} config "
            'should implement the script:, run:, or trigger: keyword".',
            f"Add a script to '{jv.job.name}', or rename it '.{jv.job.name}' if it is a template.",
            loc=jv.job.loc,
            job=jv.job.name,
        )
