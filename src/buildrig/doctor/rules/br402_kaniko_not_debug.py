"""BR402 — kaniko: the job image cannot run the kaniko script (no shell, or no executor).

What it checks:

- the job's image is a known kaniko executor image whose tag is not a ``debug`` variant
  (``gcr.io/kaniko-project/executor:latest``, ``:v1.23.2``, ``...:slim``,
  ``ghcr.io/osscontainertools/kaniko:v1.28.0``; Chainguard's needs a ``-dev`` tag);
- the script runs ``/kaniko/executor`` in an image that is not a kaniko image (``google/cloud-sdk``,
  ``alpine``) and no line of the script puts a binary there (``cp``/``curl -o``/``wget -O``/
  ``install``/``ln``; downloading kaniko's *source* archive does not): the job stops with
  ``/kaniko/executor: No such file or directory``. kaniko is meant to run as its own image. An
  error for Docker Hub's official images and the cloud CLIs' images, which never ship kaniko; a
  warning for other images, which may be built ``FROM`` kaniko.

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

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding

ID = "BR402"
TITLE = "kaniko: the job image has no shell (not :debug) or no /kaniko/executor"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://github.com/GoogleContainerTools/kaniko/issues/430"



# Images known to ship no kaniko: the cloud vendors' CLI images (Docker Hub's official images have
# no "/" in their path)
_NO_KANIKO = ("google/cloud-sdk", "google.com/cloudsdktool/cloud-sdk", "cloudsdktool/google-cloud-cli",
              "amazon/aws-cli", "azure-cli")
# A script line that puts an executor binary at /kaniko/executor
_PROVIDES = re.compile(
    r"(?:\b(?:cp|mv|install|ln)\b[^;&|]*|-[oO]\s*[\"']?|>\s*[\"']?)/kaniko/executor\b"
    r"|\b(?:COPY|--from)\b[^;&|]*/kaniko/executor"
)


def _no_executor(jv: JobView, name: str) -> Issue | None:
    """/kaniko/executor run in a non-kaniko image that never gets the binary."""
    if u.is_kaniko_image(name):
        return None
    cmds = [sl for sl, words in u.kaniko_commands(jv.job) if words and words[0] == "/kaniko/executor"]
    if not cmds or any(_PROVIDES.search(sl.text) for sl in u.script_lines(jv.job)):
        return None
    sl = cmds[0]
    path = u.parse_image(name).path
    known = "/" not in path or path.endswith(_NO_KANIKO)
    return finding(
        f"{u.jname(jv.job)} runs /kaniko/executor ({sl.loc}) in '{name}' ({u.image_loc(jv.job)}), "
        "which is not a kaniko image, and no line of its script puts the binary there: the job "
        "stops with \"/kaniko/executor: No such file or directory\""
        + ("." if known else " (unless that image is built from kaniko's)."),
        "Run the job in the kaniko debug image (image: name: ghcr.io/osscontainertools/kaniko:"
        "v1.28.0-debug, entrypoint: [\"\"]) and do the other tool's work in a job of its own.",
        loc=sl.loc,
        job=jv.job.name,
        severity=Severity.ERROR if known else Severity.WARNING,
    )


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        img = jv.job.image
        name = u.job_image(jv)
        if img is None or name is None:
            continue
        repo = u.known_kaniko_repo(name)
        if repo is None:
            if "$" not in name and (missing := _no_executor(jv, name)) is not None:
                yield missing
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
