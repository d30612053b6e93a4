"""dind: nothing sets ``DOCKER_HOST``, so the client looks for a local socket.

On the Docker executor the official ``docker`` image's entrypoint sets ``DOCKER_HOST`` to the
``docker`` service. It does not run on the Kubernetes executor (unless
``FF_KUBERNETES_HONOR_ENTRYPOINT``), when the job overrides ``entrypoint``, or in images that are
not the official docker image (``docker/compose``, custom images). The client then uses its
default, which does not exist in the job container::

    Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?

Fix: set it in the job: ``DOCKER_HOST: tcp://docker:2376``, ``DOCKER_TLS_VERIFY: "1"``,
``DOCKER_CERT_PATH: "$DOCKER_TLS_CERTDIR/client"`` (or ``tcp://docker:2375`` with TLS off).
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, key_loc, label, per_runner, svc_env

ID = "BR114"
TITLE = "dind: DOCKER_HOST is not set and no entrypoint derives it"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/#docker-cannot-connect-to-the-docker-daemon-at-unixvarrundockersock"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        services = derive.dind_services(jv.job, jv.runners)
        if not services:
            continue
        image = derive.image_name(jv.job, jv.runners)
        for view in per_runner(ctx, jv):
            if view.shell or endpoint(view.env) is not None:
                continue
            mode = derive.dind_mode(services[0], svc_env(view, services[0]))
            if mode.socket:
                continue  # dind and job share a socket path through DOCKER_HOST=unix://...
            if view.kubernetes:
                why, sure = "the Kubernetes executor does not run the image's entrypoint", True
            elif jv.job.image is not None and jv.job.image.entrypoint is not None:
                why, sure = "the job overrides the image's entrypoint", True
            elif image is not None and not F.is_docker_image(image):
                why, sure = f"{image} is not the official docker image, whose entrypoint sets it", False
            else:
                continue
            port = 2376 if mode.tls else 2375
            tls = (
                f', DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "{mode.certdir.rstrip("/")}/client"'
                if mode.tls
                else ""
            )
            yield finding(
                f"{label(jv.job)} talks to {services[0].name} but DOCKER_HOST is unset and {why}; docker "
                'commands fail with "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. '
                'Is the docker daemon running?".',
                f"Set in the job's variables: DOCKER_HOST: tcp://docker:{port}{tls}.",
                loc=key_loc(jv.job, "variables", "image"),
                job=jv.job.name,
                severity=Severity.ERROR if sure else Severity.WARNING,
            )
            break
