"""dind: a docker CLI job with no daemon to talk to.

A job on the ``docker`` image with neither a ``docker:dind`` service nor ``DOCKER_HOST`` relies on
the image's entrypoint, which then points the client at ``tcp://docker:2375``: a service the job
does not start. Unless the runner binds the host's Docker socket into jobs, every docker command
fails (the most common first error with GitLab and Docker)::

    error during connect: Get "http://docker:2375/v1.24/info": dial tcp: lookup docker on
    127.0.0.11:53: no such host

Reported as a warning when config.toml is not given (the runner may bind the socket); with a
config.toml the docker_sock rules decide.

Fix: add the service (``services: [docker:29.7.2-dind]`` on a privileged runner, see GitLab's
"Use Docker-in-Docker"), or bind ``/var/run/docker.sock`` on the runner, or build without a daemon.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig import versions
from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, key_loc, label

ID = "BR117"
TITLE = "dind: docker CLI job without a dind service or DOCKER_HOST (runner unknown)"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/"


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is not None:
        return
    for jv in jobs(ctx, "docker_sock"):
        image = derive.image_name(jv.job, ())
        if not F.is_docker_image(image) or derive.dind_services(jv.job, jv.runners):
            continue
        host = jv.env.get("DOCKER_HOST")
        if host is not None and host.loc is not None:
            continue
        if not F.uses_docker_cli(F.script_lines(jv.job)):
            continue
        yield finding(
            f"{label(jv.job)} runs docker commands on {image} with no docker:dind service and no "
            "DOCKER_HOST, so the client goes to tcp://docker:2375, which nothing serves unless the runner "
            'binds the host socket or adds a dind service itself: "error during connect: ... dial tcp: '
            'lookup docker ...: no such host".',
            f"Add services: [{versions.DOCKER_DIND_IMAGE}] (privileged runner), or bind /var/run/docker.sock "
            "on the runner, or build without a daemon (buildah, BuildKit rootless).",
            loc=key_loc(jv.job, "image", "script"),
            job=jv.job.name,
        )
