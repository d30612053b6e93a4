"""BR407 — kaniko: the job uses Google's archived ``gcr.io/kaniko-project`` image.

What it checks: a job image from ``gcr.io/kaniko-project/`` (executor or warmer).

Why it matters: Google archived kaniko on 2025-06-03 (last release v1.24.0). The image still pulls,
but gets no security fixes, no base-image updates and no bug fixes; GitLab removed its kaniko
page ("kaniko is no longer a maintained project").

Info, not a warning: the image works today and GitLab's own (older) docs and template use it;
what it lacks is future fixes, which is advice under doctor's severity rule.

Fix: move to the maintained community fork, ``ghcr.io/osscontainertools/kaniko:<version>-debug``
(same flags, same ``/kaniko/executor``), or to Buildah / rootless BuildKit.

Docs: https://docs.gitlab.com/ci/docker/using_kaniko/
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig import versions
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR407"
TITLE = "kaniko: archived upstream image gcr.io/kaniko-project"
SEVERITY = Severity.INFO
CATEGORY = Category.MAINTAINABILITY
DOCS = "https://docs.gitlab.com/ci/docker/using_kaniko/"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        name = u.job_image(jv)
        if name is None:
            continue
        ref = u.parse_image(name)
        if ref.registry != "gcr.io" or not ref.path.startswith("kaniko-project/"):
            continue
        yield finding(
            f"{u.jname(jv.job)} uses '{name}' ({u.image_loc(jv.job)}): Google archived kaniko "
            "on 2025-06-03, so this image gets no security or bug fixes.",
            f"Switch to the maintained fork {versions.KANIKO_IMAGE} (same /kaniko/executor and "
            "flags), or to Buildah / rootless BuildKit.",
            loc=u.image_loc(jv.job),
            job=jv.job.name,
        )
