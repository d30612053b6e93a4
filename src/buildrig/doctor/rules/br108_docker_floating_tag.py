"""dind: docker images on floating tags.

``docker:dind``, ``docker:latest``, ``docker:cli``, ``docker:stable`` or a major-only tag move to a
new Docker release without a change in the repository. That is how the cli/dind API skew breaks
pipelines overnight ("client version 1.43 is too old. Minimum supported API version is 1.44"),
and ``docker:stable`` has not been updated in years. GitLab's docs say to pin a specific version.

A cli image and a dind service on the same major-only tag (``docker:28`` with ``docker:28-dind``)
move together inside one major, whose clients and daemons share an API range: that pair is only
advice (info). A fully floating tag (``dind``, ``latest``, ``stable``) or a major the other image
does not share stays a warning: the next release can break the job without a commit.

Fix: pin both images to the same full version (``docker:29.7.2-cli`` and ``docker:29.7.2-dind``),
and bump them together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig import versions
from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, key_loc, label

ID = "BR108"
TITLE = "dind: docker cli/dind images on floating tags"
SEVERITY = Severity.WARNING
CATEGORY = Category.MAINTAINABILITY
DOCS = "https://docs.gitlab.com/ci/docker/docker_in_docker/"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        floating = []
        image = jv.job.image.name if jv.job.image is not None else None
        if image and F.is_docker_image(image) and F.is_floating_docker_tag(image):
            floating.append(image)
        floating += [
            s.name
            for s in derive.dind_services(jv.job, jv.runners)
            if F.is_docker_image(s.name) and F.is_floating_docker_tag(s.name)
        ]
        if not floating:
            continue
        names = [n for n in (image, *(s.name for s in derive.dind_services(jv.job, jv.runners))) if n]
        majors = {_major(n) for n in names if F.is_docker_image(n)}
        same_major = len(majors) == 1 and None not in majors and len(names) >= 2
        loc = (
            jv.job.image.loc
            if image in floating and jv.job.image is not None and jv.job.image.loc
            else key_loc(jv.job, "services", "image")
        )
        yield finding(
            f"{label(jv.job)} uses floating tag(s) {', '.join(floating)}: a new Docker release changes "
            'the build without a commit and can break it ("client version ... is too old").',
            f"Pin both to one full version: {versions.DOCKER_CLI_IMAGE} and {versions.DOCKER_DIND_IMAGE}.",
            loc=loc,
            job=jv.job.name,
            severity=Severity.INFO if same_major else None,
        )


def _major(name: str) -> str | None:
    """The major of a ``docker:<major>[.<minor>][-variant]`` tag (None for dind/latest/stable...)."""
    tag = F.parse_image(name).tag or ""
    m = re.match(r"^(\d+)(?:\.\d+)*(?:-|$)", tag)
    return m.group(1) if m else None
