"""BR401 — kaniko: the job image's entrypoint (``/kaniko/executor``) is not overridden.

What it checks: the job's ``image:`` is a kaniko executor image and has no ``entrypoint: [""]``,
on a runner whose executor starts images through their ENTRYPOINT (Docker executor; Kubernetes
with ``FF_KUBERNETES_HONOR_ENTRYPOINT``).

Why it fails: the runner hands the job's shell to the image as arguments, so kaniko's entrypoint
receives ``sh -c ...`` and the job dies at once, before any script line::

    Error: unknown command "sh" for "executor"

(or kaniko starts a build with its defaults and fails with ``error resolving dockerfile path``).

Fix: ``image: {name: <kaniko>:<version>-debug, entrypoint: [""]}`` and call ``/kaniko/executor``
from ``script:``.

Docs: https://github.com/osscontainertools/kaniko#using-kaniko-in-gitlab-ci
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR401"
TITLE = "kaniko: image entrypoint not overridden with entrypoint: [\"\"]"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://github.com/osscontainertools/kaniko#using-kaniko-in-gitlab-ci"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        img = jv.job.image
        name = u.job_image(jv)
        if img is None or name is None or not u.is_kaniko_image(name) or img.entrypoint is not None:
            continue
        if "warmer" in u.parse_image(name).path:
            continue
        runners = [r for r in jv.runners if not u.is_shell(r)]
        bad = [r for r in runners if u.honors_entrypoint(r, jv.env)]
        if runners and not bad:
            continue  # the Kubernetes executor replaces the entrypoint itself
        sev = u.severity_for(len(bad), len(runners)) if runners else Severity.WARNING
        on = f" on {u.rname(bad[0])}" if bad else ""
        yield finding(
            f"{u.jname(jv.job)} uses the kaniko image '{name}' ({u.image_loc(jv.job)}) without "
            f"entrypoint: [\"\"]{on}: the runner passes the job shell to /kaniko/executor and the "
            'job fails before its script: "Error: unknown command "sh" for "executor"".',
            f"Write image: {{name: \"{img.name}\", entrypoint: [\"\"]}} and run /kaniko/executor "
            "from script:.",
            loc=u.image_loc(jv.job),
            job=jv.job.name,
            severity=sev,
        )
