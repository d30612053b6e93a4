"""dind: the docker CLI image is too old for the dind daemon.

Docker 29 daemons refuse API clients older than 1.44 (Docker 25). A job that pins an old client
(``docker:24.0.5-cli``, GitLab's long-time documentation pin) next to a floating or newer dind
service (``docker:dind``, ``docker:29-dind``) fails on every command::

    Error response from daemon: client version 1.43 is too old. Minimum supported API version is 1.44,
    please upgrade your client to a newer version

A newer client against an older daemon is fine: the CLI negotiates the API version down.

A job image that is not ``docker:*`` (a cloud SDK, a deploy image) ships a CLI of a release no file
shows: that is a host fact. Given the error text the job printed (``--symptom``: "client version X
is too old") against a dind service, it is a WARNING naming the check (``docker version`` in the
job image); from the files alone, a non-docker job image next to a dind release that refuses old
clients gets an INFO naming that check.

Fix: pin the cli and dind images to the same version, 25 or later (e.g. ``docker:29.7.2-cli`` with
``docker:29.7.2-dind``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig import versions
from buildrig.doctor import derive, hostfacts
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding
from buildrig.doctor.kit import jobs, key_loc, label, refused_client

ID = "BR106"
TITLE = "dind: docker CLI image older than the dind daemon accepts (API skew)"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/release-notes/29/"
SYMPTOM = re.compile(
    r"client version (\d+\.\d+) is too old\. Minimum supported API version is (\d+\.\d+)", re.IGNORECASE
)


def _unknown_cli(ctx: Context, image: str, svc_name: str) -> tuple[str, str] | None:
    """The daemon's own words about a job image whose CLI release no file shows."""
    m = SYMPTOM.search(ctx.symptom or "") if hostfacts.said(ctx, SYMPTOM) else None
    if m is None or F.is_docker_image(image) or not F.is_docker_image(svc_name):
        return None
    return m.group(1), m.group(2)


def _unknown_cli_pointer(jv: JobView, image: str) -> Issue | None:
    """Files alone: a CLI of unknown release against a daemon that refuses old clients."""
    for svc in derive.dind_services(jv.job, jv.runners):
        daemon = F.docker_release(svc.name) if F.is_docker_image(svc.name) else None
        if daemon is None or refused_client((24, 0), daemon) is None:
            continue
        floats = f" (floats to Docker {daemon[0]})" if F.is_floating_docker_tag(svc.name) else ""
        return finding(
            f"{label(jv.job)} runs the docker CLI of {image}, a release no file shows, against "
            f"{svc.name}{floats}, which refuses clients older than Docker 25 (\"client version ... is "
            "too old\"); not checked: run `docker run --rm --entrypoint docker "
            f"{image} version --format '{{{{.Client.APIVersion}}}}'` (1.44 or newer works).",
            f"If it is older, pin the service to a release that still accepts it (e.g. docker:28-dind), "
            f"or use {versions.DOCKER_CLI_IMAGE} for the docker commands.",
            loc=svc.loc or key_loc(jv.job, "services"),
            job=jv.job.name,
            severity=Severity.INFO,
        )
    return None


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        image = derive.image_name(jv.job, jv.runners)
        if image is None:
            continue
        services = derive.dind_services(jv.job, jv.runners)
        said = _unknown_cli(ctx, image, services[0].name) if services else None
        if said is not None:
            api, minimum = said
            yield finding(
                f"{label(jv.job)} runs the docker CLI of {image} (a release no file shows) against "
                f'{services[0].name}, which answered "client version {api} is too old. Minimum '
                f'supported API version is {minimum}": the image\'s CLI is older than the dind '
                f"daemon accepts (not checked: run `docker run --rm --entrypoint docker {image} "
                "version --format '{{.Client.APIVersion}}'`).",
                f"Pin the dind service to a release that still accepts API {api} (e.g. docker:28-dind), "
                f"or install a docker CLI >= 25 in the job image ({versions.DOCKER_CLI_IMAGE}'s "
                "/usr/local/bin/docker).",
                loc=(jv.job.image.loc if jv.job.image and jv.job.image.loc else key_loc(jv.job, "image")),
                job=jv.job.name,
                severity=Severity.WARNING,
            )
            continue
        if not F.is_docker_image(image):
            # a daemon's reply that is not this refusal: the CLI negotiated an API with it
            pointer = None if hostfacts.daemon_answered(ctx) else _unknown_cli_pointer(jv, image)
            if pointer is not None:
                yield pointer
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
