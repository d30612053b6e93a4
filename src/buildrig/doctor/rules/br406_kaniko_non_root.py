"""BR406 — kaniko: the job container does not run as root.

What it checks: a kaniko job whose container is forced to a non-root user: ``image: {docker:
{user: ...}}``, ``[runners.docker] user``, or on Kubernetes ``run_as_user``/``run_as_non_root`` in
``[runners.kubernetes.pod_security_context]`` or ``build_container_security_context``.

Why it fails: kaniko unpacks base images over ``/`` and chowns files; it must be root in its
container (it needs no privileges from the host)::

    error resolving dockerfile path: copying dockerfile: open /kaniko/Dockerfile: permission denied

(with ``run_as_non_root`` the pod never starts: ``container has runAsNonRoot and image will run as
root``).

Fix: let the kaniko job run as uid 0 (drop the user override for it; on Kubernetes use a runner
without ``run_as_non_root`` for image builds), or switch to rootless BuildKit / Buildah, which are
made for non-root builds.

Docs: https://github.com/GoogleContainerTools/kaniko/issues/105
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR406"
TITLE = "kaniko: job container forced to a non-root user"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://github.com/GoogleContainerTools/kaniko/issues/105"


def _non_root(user: object) -> bool:
    if user is None:
        return False
    s = str(user).strip().split(":")[0]
    return s not in ("", "0", "root")


def _kube_ctx(raw: Mapping[str, Any]) -> str | None:
    for sect in ("build_container_security_context", "pod_security_context"):
        sc = raw.get(sect)
        if not isinstance(sc, Mapping):
            continue
        if _non_root(sc.get("run_as_user")):
            return f"{sect}.run_as_user = {sc.get('run_as_user')}"
        if sc.get("run_as_non_root") is True:
            return f"{sect}.run_as_non_root = true"
    return None


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        img = jv.job.image
        name = u.job_image(jv)
        if img is None or name is None or not u.is_kaniko_image(name):
            continue
        if img.user is not None and _non_root(img.user):
            yield finding(
                f"{u.jname(jv.job)} runs the kaniko image as user '{img.user}' "
                f"({u.image_loc(jv.job)}): kaniko must be root in its container and fails with "
                "\"open /kaniko/Dockerfile: permission denied\".",
                "Remove image:docker:user from the kaniko job.",
                loc=u.image_loc(jv.job),
                job=jv.job.name,
            )
            continue
        for r in jv.runners:
            what: str | None = None
            loc = r.loc
            if r.docker is not None and _non_root(r.docker.user):
                what, loc = f"[runners.docker] user = \"{r.docker.user}\"", u.docker_loc(r, "user")
            elif r.kubernetes is not None:
                what = _kube_ctx(r.kubernetes.raw)
                loc = u.kube_loc(r, "build_container_security_context", "pod_security_context")
            if what is None:
                continue
            yield finding(
                f"{u.jname(jv.job)} builds with kaniko on {u.rname(r)}, which sets {what} ({loc}): "
                "kaniko must run as root in its container and fails with \"open /kaniko/Dockerfile: "
                "permission denied\" (or the pod is refused: \"container has runAsNonRoot and image "
                "will run as root\").",
                "Run kaniko jobs on a runner that lets the build container be uid 0, or build with "
                "rootless BuildKit or Buildah instead.",
                loc=loc,
                job=jv.job.name,
                severity=u.severity_for(1, len(jv.runners)),
            )
