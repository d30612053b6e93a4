"""Input: no runner in config.toml can take the job.

A job runs only on a runner whose tags include all of the job's tags; an untagged job only on a
runner that runs untagged jobs. When none in the given config.toml matches, the job waits
forever in GitLab::

    This job is stuck because you don't have any active runners online or available with any of these
    tags assigned to them: dind

Checked only when config.toml lists runner tags (recent runners keep them server-side).

Fix: give the job the tags of the runner meant for it, or add them to the runner (``gitlab-runner
register --tag-list`` or the runner's settings page).
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR006"
TITLE = "input: no runner in config.toml matches the job's tags"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/runners/configure_runners/#control-jobs-that-a-runner-can-run"


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is None or not ctx.runner_config.runners or not derive.tags_known(ctx.runner_config):
        return
    for jv in ctx.jobs:
        if jv.runners:
            continue
        tags = ", ".join(jv.job.tags) or "(none: untagged job)"
        offered = "; ".join(
            f"'{r.name}': {', '.join(r.tags) or 'no tags'}"
            + (", run_untagged = false" if r.run_untagged is False else "")
            for r in ctx.runner_config.runners
        )
        yield finding(
            f"job '{jv.job.name}' has tags {tags} but no runner in {ctx.runner_config.path} takes it "
            f"({offered}); "
            "it stays pending: \"This job is stuck because you don't have any active runners online or "
            f'available with any of these tags assigned to them: {tags}".',
            "Give the job the tags of the runner meant for it, or add the tags to that runner.",
            loc=jv.job.key_locs.get("tags", jv.job.loc),
            job=jv.job.name,
        )
