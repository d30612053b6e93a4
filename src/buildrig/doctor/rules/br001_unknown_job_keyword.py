"""Input: a job uses a keyword GitLab does not know.

GitLab validates every visible job and rejects the whole pipeline when one has a key it does not
know, typically a typo (``scirpt``, ``service``, ``variable``)::

    This GitLab CI configuration is invalid: jobs:build config contains unknown keys: service

Fix: correct the key (doctor suggests the closest keyword) or move custom data under a hidden
job (``.name``) or ``variables``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR001"
TITLE = "input: unknown job keyword (GitLab rejects the pipeline)"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/yaml/"

JOB_KEYWORDS = frozenset(
    {
        "after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage",
        "dast_configuration", "dependencies", "environment", "except", "extends", "hooks",
        "id_tokens", "identity", "image", "inherit", "interruptible", "manual_confirmation", "needs",
        "only", "pages", "parallel", "publish", "release", "resource_group", "retry", "rules", "run",
        "script", "secrets", "services", "stage", "start_in", "tags", "timeout", "trigger", "type",
        "variables", "when",
    }
)  # fmt: skip


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        unknown = [k for k in jv.job.raw if k not in JOB_KEYWORDS]
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(JOB_KEYWORDS), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            yield finding(
                f"job '{jv.job.name}': unknown keyword '{key}'{hint}; GitLab rejects the pipeline: "
                f'"jobs:{jv.job.name} config contains unknown keys: {key}".',
                f"Rename '{key}' to {close[0]!r}."
                if close
                else f"Remove '{key}' or move it under variables.",
                loc=jv.job.key_locs.get(key, jv.job.loc),
                job=jv.job.name,
            )
