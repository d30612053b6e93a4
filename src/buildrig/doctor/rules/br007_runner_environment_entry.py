"""Input: a runner ``environment`` entry that is not ``NAME=value``.

GitLab Runner silently drops ``environment`` entries it cannot split at ``=``, so
``environment = ["DOCKER_TLS_CERTDIR"]`` (meant to pass an empty value, as seen in
gitlab-runner#6295) sets nothing: the job and its services keep the image default
(``DOCKER_TLS_CERTDIR=/certs``, TLS on), which then disagrees with the rest of the set-up.

Fix: write the value explicitly, ``"DOCKER_TLS_CERTDIR="`` for an empty one.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR007"
TITLE = "input: runner environment entry without NAME=value (ignored by the runner)"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runners-section"


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is None:
        return
    for r in ctx.runner_config.runners:
        raw = r.raw.get("environment")
        if not isinstance(raw, list):
            continue
        for item in raw:
            if not isinstance(item, str) or ("=" in item and not item.startswith("=")):
                continue
            yield finding(
                f"runner '{r.name}': environment entry \"{item}\" has no NAME=value form; GitLab Runner "
                "drops it, so the variable is not set at all for jobs and services.",
                f'Write it as "{item.strip("=")}=<value>" ("{item.strip("=")}=" for an empty value).',
                loc=r.key_locs.get("environment", r.loc),
            )
