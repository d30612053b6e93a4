"""dind: the docker CLI image is too old for the dind daemon.

Docker 29 daemons refuse API clients older than 1.44 (Docker 25). A job that pins an old client
(``docker:24.0.5-cli``, GitLab's long-time documentation pin) next to a floating or newer dind
service (``docker:dind``, ``docker:29-dind``) fails on every command::

    Error response from daemon: client version 1.43 is too old. Minimum supported API version is 1.44,
    please upgrade your client to a newer version

A newer client against an older daemon is fine: the CLI negotiates the API version down.

Fix: pin the cli and dind images to the same version, 25 or later (e.g. ``docker:29.7.2-cli`` with
``docker:29.7.2-dind``).
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig import versions
from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, key_loc, label, refused_client

ID = "BR106"
TITLE = "dind: docker CLI image older than the dind daemon accepts (API skew)"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/release-notes/29/"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        image = derive.image_name(jv.job, jv.runners)
        if image is None or not F.is_docker_image(image):
            continue
        client = F.docker_release(image)
        if client is None:
            continue
        for svc in derive.dind_services(jv.job, jv.runners):
            if not F.is_docker_image(svc.name):
                continue
            daemon = F.docker_release(svc.name)
            if daemon is None:
                continue
            refused = refused_client(client, daemon)
            if refused is None:
                continue
            api, minimum = refused
            floats = F.is_floating_docker_tag(svc.name)
            floating = f" ({svc.name} floats to Docker {daemon[0]})" if floats else ""
            yield finding(
                f"{label(jv.job)} runs client {image} (API {api}) against {svc.name}{floating}, which "
                f'requires API {minimum} or newer; every docker command fails with "Error response from '
                f"daemon: client version {api} is too old. Minimum supported API version is {minimum}, "
                'please upgrade your client to a newer version".',
                f"Pin both to one version >= 25: image {versions.DOCKER_CLI_IMAGE} with service "
                f"{versions.DOCKER_DIND_IMAGE}.",
                loc=(jv.job.image.loc if jv.job.image and jv.job.image.loc else key_loc(jv.job, "image")),
                job=jv.job.name,
            )
            break
