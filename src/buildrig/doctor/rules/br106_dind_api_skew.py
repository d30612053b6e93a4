"""dind: the docker CLI image is too old for the dind daemon.

Docker 29 daemons refuse API clients older than 1.44 (Docker 25). A job that pins an old client
(``docker:24.0.5-cli``, GitLab's long-time documentation pin) next to a floating or newer dind
service (``docker:dind``, ``docker:29-dind``) fails on every command::

    Error response from daemon: client version 1.43 is too old. Minimum supported API version is 1.44,
    please upgrade your client to a newer version

A newer client against an older daemon is fine: the CLI negotiates the API version down.

A job image that is not a ``docker`` image (a cloud CLI image, a project's own build image) carries
a docker CLI of a release no file shows. With the error text above (``--symptom``) and a dind
service whose release refuses the API the text names, the finding is a WARNING naming the image
(gitlab#580731: ``cloud-deploy/aws-base`` against ``docker:dind`` once it floated to 29); the check
that settles it is ``docker run --rm IMAGE docker version``.

Fix: pin the cli and dind images to the same version, 25 or later (e.g. ``docker:29.7.2-cli`` with
``docker:29.7.2-dind``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig import engine_versions as EV
from buildrig import versions
from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding
from buildrig.doctor.kit import jobs, key_loc, label, refused_client

ID = "BR106"
TITLE = "dind: docker CLI image older than the dind daemon accepts (API skew)"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/release-notes/29/"


_TOO_OLD = re.compile(r"client version (\d+\.\d+) is too old")


def _other_image(ctx: Context, jv: JobView, image: str) -> Iterator[Issue]:
    """A non-docker job image whose CLI the user's error text shows refused by the dind service."""
    m = _TOO_OLD.search(ctx.symptom or "")
    if m is None:
        return
    api = m.group(1)
    for svc in derive.dind_services(jv.job, jv.runners):
        daemon = F.docker_release(svc.name) if F.is_docker_image(svc.name) else None
        if daemon is None:
            continue
        minimum = EV.min_api_of_release(daemon)
        if EV.api_tuple(api) >= EV.api_tuple(minimum):
            continue
        floats = F.is_floating_docker_tag(svc.name)
        floating = f", which floats to Docker {daemon[0]}" if floats else ""
        yield finding(
            f"{label(jv.job)} runs the docker CLI inside {image} against {svc.name}{floating}: the job "
            f'printed "client version {api} is too old", and that daemon requires API {minimum} or newer; '
            f"the CLI in {image} is older than Docker 25 (check: docker run --rm {image} docker version).",
            f"Pin the service to a release that still accepts API {api} (for example docker:24.0.9-dind), "
            f"or use a job image with a current docker CLI ({versions.DOCKER_CLI_IMAGE}, adding the "
            "other tools the job needs).",
            loc=svc.loc or key_loc(jv.job, "services"),
            job=jv.job.name,
            severity=Severity.WARNING,
        )
        return


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        image = derive.image_name(jv.job, jv.runners)
        if image is None:
            continue
        if not F.is_docker_image(image):
            yield from _other_image(ctx, jv, image)
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
