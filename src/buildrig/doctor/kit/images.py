"""Image names: dind services, kaniko/buildah/BuildKit images and versions, image expansion."""

from __future__ import annotations

import re

from buildrig.doctor.base import JobView
from buildrig.doctor.facts import is_dind_service, parse_image
from buildrig.gitlab.expand import expand_with
from buildrig.gitlab.model import Job, ServiceSpec


def dind_services(job: Job) -> tuple[ServiceSpec, ...]:
    return tuple(s for s in job.services if is_dind_service(s))


_KANIKO_REPOS = (
    "kaniko-project/executor",
    "osscontainertools/kaniko",
    "martizih/kaniko",
    "chainguard/kaniko",
    "chainguard-dev-kaniko/executor",
)


def is_kaniko_image(name: str) -> bool:
    return "kaniko" in parse_image(name).path


def known_kaniko_repo(name: str) -> str | None:
    path = parse_image(name).path
    return next((r for r in _KANIKO_REPOS if path.endswith(r)), None)


def is_buildah_image(name: str) -> bool:
    ref = parse_image(name)
    return ref.last in ("buildah", "stable", "upstream", "testing") and "buildah" in ref.path


def is_buildkit_image(name: str) -> bool:
    return parse_image(name).last == "buildkit"


def is_rootless_buildkit_image(name: str) -> bool:
    ref = parse_image(name)
    return ref.last == "buildkit" and "rootless" in (ref.tag or "")


def kaniko_version(name: str | None) -> tuple[int, int] | None:
    """(major, minor) from a kaniko tag such as ``v1.23.2-debug`` or ``debug-v1.3.0``; None: unknown."""
    if name is None:
        return None
    m = re.search(r"v?(\d+)\.(\d+)", parse_image(name).tag or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def kaniko_infers_gitlab_registry(name: str | None) -> bool:
    """kaniko >= 1.9 reads CI_REGISTRY/CI_REGISTRY_USER/CI_REGISTRY_PASSWORD by itself, so pushes to
    the project's GitLab registry work without a config.json; unpinned tags are recent releases."""
    ver = kaniko_version(name)
    return ver is None or ver >= (1, 9)


def expand(jv: JobView, text: str) -> str:
    """``text`` with the job's variables expanded as GitLab expands ``image:`` names; unknown
    ones stay (they may live in the project's settings)."""
    return expand_with(text, jv.env, keep_unknown=True)


def job_image(jv: JobView) -> str | None:
    """The job's own ``image:`` name with its variables expanded."""
    img = jv.job.image
    return expand(jv, img.name) if img is not None and img.name else None
