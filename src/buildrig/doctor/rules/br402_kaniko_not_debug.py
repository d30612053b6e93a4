"""BR402 — kaniko: the job image is a kaniko variant without a shell (not ``:debug``).

What it checks: the job's image is a known kaniko executor image whose tag is not a ``debug``
variant (``gcr.io/kaniko-project/executor:latest``, ``:v1.23.2``, ``...:slim``,
``ghcr.io/osscontainertools/kaniko:v1.28.0``; Chainguard's needs a ``-dev`` tag).

Why it fails: GitLab runs every job through a shell, and only the debug image ships one
(``/busybox/sh``). The job dies before its first line::

    exec: "sh": executable file not found in $PATH

(on Kubernetes: ``ERROR: Job failed (system failure): unable to upgrade connection: container not
found ("build")``).

Fix: use the ``debug`` tag of the same version, e.g. ``ghcr.io/osscontainertools/kaniko:v1.28.0-debug``
with ``entrypoint: [""]``.

Docs: https://github.com/GoogleContainerTools/kaniko/issues/430
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR402"
TITLE = "kaniko: non-debug kaniko image has no shell for the job script"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://github.com/GoogleContainerTools/kaniko/issues/430"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        img = jv.job.image
        name = u.job_image(jv)
        if img is None or name is None:
            continue
        repo = u.known_kaniko_repo(name)
        if repo is None:
            continue
        ref = u.parse_image(name)
        tag = ref.tag
        if tag is not None and "$" in tag:
            continue  # a tag from a variable we cannot resolve: the variant is unknown
        if img.entrypoint and any(e.endswith("/executor") for e in img.entrypoint):
            continue  # a job that only passes arguments to the executor has no script to run
        if tag is None and ref.digest is not None:
            sev = Severity.WARNING  # a bare digest: we cannot tell the variant
        elif "debug" in (tag or "") or ("chainguard" in repo and "dev" in (tag or "")):
            continue
        else:
            sev = Severity.ERROR
        shown = tag or "latest"
        yield finding(
            f"{u.jname(jv.job)} uses '{name}' ({u.image_loc(jv.job)}), a kaniko image without "
            f"a shell (tag '{shown}' is not a debug variant): GitLab runs the script through sh "
            'and the job fails with "exec: "sh": executable file not found in $PATH".',
            "Use the debug variant of the same version (e.g. ghcr.io/osscontainertools/kaniko:"
            "v1.28.0-debug) with entrypoint: [\"\"].",
            loc=u.image_loc(jv.job),
            job=jv.job.name,
            severity=sev,
        )
