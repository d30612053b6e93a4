"""dind: docker images on floating tags.

``docker:dind``, ``docker:latest``, ``docker:cli``, ``docker:stable`` or a major-only tag move to a
new Docker release without a change in the repository. That is how the cli/dind API skew breaks
pipelines overnight ("client version 1.43 is too old. Minimum supported API version is 1.44"),
and ``docker:stable`` has not been updated in years. GitLab's docs say to pin a specific version.

Fix: pin both images to the same full version (``docker:29.7.2-cli`` and ``docker:29.7.2-dind``),
and bump them together.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from buildrig import versions
from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Finding, Severity, finding
from buildrig.doctor.rulekit import jobs, key_loc, label

ID = "BR108"
TITLE = "dind: docker cli/dind images on floating tags"
SEVERITY = Severity.WARNING
CATEGORY = Category.MAINTAINABILITY
DOCS = "https://docs.gitlab.com/ci/docker/docker_in_docker/"


def check(ctx: Context) -> Iterator[Finding]:
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
        loc = (
            jv.job.image.loc
            if image in floating and jv.job.image is not None and jv.job.image.loc
            else key_loc(jv.job, "services", "image")
        )
        yield finding(
            sys.modules[__name__],
            f"{label(jv.job)} uses floating tag(s) {', '.join(floating)}: a new Docker release changes "
            'the build without a commit and can break it ("client version ... is too old").',
            f"Pin both to one full version: {versions.DOCKER_CLI_IMAGE} and {versions.DOCKER_DIND_IMAGE}.",
            loc=loc,
            job=jv.job.name,
        )
