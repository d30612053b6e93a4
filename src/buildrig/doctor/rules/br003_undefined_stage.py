"""Input: a job's stage is not in ``stages``.

GitLab rejects the pipeline when a job names a stage that ``stages:`` does not list (the defaults
are build, test, deploy, plus .pre and .post)::

    This GitLab CI configuration is invalid: jobs:build-image:stage parameter should be lint, test

Fix: add the stage to ``stages:`` or use one that is there.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR003"
TITLE = "input: job stage not declared in stages"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/yaml/#stages"


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.pipeline is None:
        return
    stages = ctx.pipeline.stages
    for jv in ctx.jobs:
        if jv.job.stage in stages:
            continue
        listed = ", ".join(s for s in stages if s not in (".pre", ".post"))
        yield finding(
            f"job '{jv.job.name}': stage '{jv.job.stage}' is not in stages ({listed}); GitLab rejects the "
            f'pipeline: "jobs:{jv.job.name}:stage parameter should be {listed}".',
            f"Add '{jv.job.stage}' to stages: or use one of {listed}.",
            loc=jv.job.key_locs.get("stage", jv.job.loc),
            job=jv.job.name,
        )
