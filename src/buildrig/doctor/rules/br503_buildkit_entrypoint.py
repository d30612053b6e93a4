"""BR503 — buildkit: the ``moby/buildkit`` image's entrypoint is not overridden.

What it checks: the job's image is ``moby/buildkit`` (rootless or not) with no ``entrypoint: [""]``,
on a runner whose executor starts images through their ENTRYPOINT (Docker executor; Kubernetes
with ``FF_KUBERNETES_HONOR_ENTRYPOINT``).

Why it fails: the image's entrypoint is ``rootlesskit buildkitd`` (``buildkitd`` for the root
variant). The runner passes the job's shell as its arguments, so the daemon either rejects them
(``buildkitd: flag provided but not defined`` / ``Incorrect Usage``) or starts in the foreground
and the job hangs until its timeout; the script never runs.

Fix: ``image: {name: moby/buildkit:<version>-rootless, entrypoint: [""]}`` and run
``buildctl-daemonless.sh build ...`` from ``script:``.

Docs: https://docs.gitlab.com/ci/docker/using_buildkit/
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR503"
TITLE = "buildkit: moby/buildkit entrypoint not overridden with entrypoint: [\"\"]"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_buildkit/"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        img = jv.job.image
        name = u.job_image(jv)
        if img is None or name is None or not u.is_buildkit_image(name) or img.entrypoint is not None:
            continue
        runners = [r for r in jv.runners if not u.is_shell(r)]
        bad = [r for r in runners if u.honors_entrypoint(r, jv.env)]
        if runners and not bad:
            continue
        sev = u.severity_for(len(bad), len(runners)) if runners else Severity.WARNING
        on = f" on {u.rname(bad[0])}" if bad else ""
        yield finding(
            f"{u.jname(jv.job)} uses '{name}' ({u.image_loc(jv.job)}) without entrypoint: "
            f"[\"\"]{on}: the runner hands the job shell to the image's rootlesskit/buildkitd "
            "entrypoint, which rejects it or runs the daemon until the job times out; the script "
            "never runs.",
            f"Write image: {{name: \"{img.name}\", entrypoint: [\"\"]}} and run "
            "buildctl-daemonless.sh from script:.",
            loc=u.image_loc(jv.job),
            job=jv.job.name,
            severity=sev,
        )
