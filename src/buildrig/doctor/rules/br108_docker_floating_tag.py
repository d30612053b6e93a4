"""dind: docker images on floating tags, judged by the release each tag resolves to today.

``docker:dind``, ``docker:latest``, ``docker:cli``, ``docker:stable`` or a major-only tag move to a
new Docker release without a change in the repository. What decides the severity is the real
release history behind the tag, not the tag's text:

- **error** when the release the tag resolves to today breaks this job on every run: a floating
  dind service moved past 19.03, which listens with TLS on 2376 by default, while the job still
  points ``DOCKER_HOST`` at the plain port 2375 it was written for and never sets
  ``DOCKER_TLS_CERTDIR`` (the 19.03 move broke such pipelines overnight: "Cannot connect to the
  Docker daemon at tcp://docker:2375");
- nothing when a floating client is too old for the dind release (``docker:stable`` stopped at
  19.03, API 1.40, against a Docker 29 ``docker:dind``): that is BR106's error, which reads floating
  tags through the same release table;
- **info** otherwise: the pair is compatible today (a floating cli with a floating dind move
  together; a newer client negotiates down to an older daemon), and pinning is advice for a durable
  set-up. Also when config.toml is absent and the error text the job printed (``--symptom``) is
  the daemon's own reply ("Error response from daemon: ..."): the client reached it, so that
  runner sets the TLS mode itself.

Fix: pin both images to the same full version (``docker:29.7.2-cli`` and ``docker:29.7.2-dind``),
and bump them together.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig import versions
from buildrig.doctor import derive, hostfacts
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, key_loc, label, per_runner, refused_client, svc_env

ID = "BR108"
TITLE = "dind: docker cli/dind images on floating tags"
SEVERITY = Severity.INFO
CATEGORY = Category.MAINTAINABILITY
DOCS = "https://docs.gitlab.com/ci/docker/docker_in_docker/"


def _api_skew(client: str, services: list[str]) -> bool:
    """Some dind service's release refuses the client's (BR106 reports it, floating tags included)."""
    rel = F.docker_release(client) if F.is_docker_image(client) else None
    if rel is None:
        return False
    daemons = (F.docker_release(svc) if F.is_docker_image(svc) else None for svc in services)
    return any(d is not None and refused_client(rel, d) is not None for d in daemons)


def _tls_drift(ctx: Context, jv: JobView) -> str | None:
    """A floating dind service now listens with TLS on 2376 while the job, written for the plain
    daemon of before 19.03, sends DOCKER_HOST to 2375 and never sets DOCKER_TLS_CERTDIR."""
    views = per_runner(ctx, jv)
    hits = 0
    said = ""
    for view in views:
        ep = endpoint(view.env)
        host_var = view.env.get("DOCKER_HOST")
        if ep is None or ep.scheme != "tcp" or ep.port != 2375 or host_var is None or host_var.loc is None:
            continue
        for svc in derive.dind_services(jv.job, jv.runners):
            rel = F.docker_release(svc.name)
            if not F.is_floating_docker_tag(svc.name) or rel is None or rel < (19, 3):
                continue
            if ep.host not in F.service_aliases(svc):
                continue
            env = svc_env(view, svc)
            mode = derive.dind_mode(svc, env)
            certdir = env.get("DOCKER_TLS_CERTDIR")
            if mode.tls and mode.default_args and (certdir is None or certdir.loc is None):
                hits += 1
                said = (
                    f"{svc.name} now resolves to Docker {rel[0]}.{rel[1]}, which (since 19.03) listens "
                    f"with TLS on 2376 unless DOCKER_TLS_CERTDIR is set empty, but DOCKER_HOST="
                    f"{host_var.value} ({host_var.loc}) still targets the plain port 2375 of the "
                    'releases before it: "Cannot connect to the Docker daemon at '
                    f'{host_var.value}"'
                )
                break
    return said if views and hits == len(views) else None


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        floating = []
        image = jv.job.image.name if jv.job.image is not None else None
        if image and F.is_docker_image(image) and F.is_floating_docker_tag(image):
            floating.append(image)
        services = [s.name for s in derive.dind_services(jv.job, jv.runners)]
        floating += [n for n in services if F.is_docker_image(n) and F.is_floating_docker_tag(n)]
        if not floating:
            continue
        client = derive.image_name(jv.job, jv.runners)
        # a client too old for the floating daemon is BR106's error (it reads floating tags too)
        if client is not None and _api_skew(client, services):
            continue
        broken = _tls_drift(ctx, jv)
        if ctx.runner_config is None and hostfacts.daemon_answered(ctx):
            broken = None  # the client reached the daemon: the runner overrides the TLS default
        loc = (
            jv.job.image.loc
            if image in floating and jv.job.image is not None and jv.job.image.loc
            else key_loc(jv.job, "services", "image")
        )
        if broken is not None:
            yield finding(
                f"{label(jv.job)} uses floating tag(s) {', '.join(floating)}; today {broken}.",
                f"Pin both to one full version: {versions.DOCKER_CLI_IMAGE} and {versions.DOCKER_DIND_IMAGE} "
                "(with DOCKER_HOST tcp://docker:2376 and DOCKER_TLS_CERTDIR \"/certs\").",
                loc=loc,
                job=jv.job.name,
                severity=Severity.ERROR,
            )
            continue
        yield finding(
            f"{label(jv.job)} uses floating tag(s) {', '.join(floating)}: compatible today, but a new "
            "Docker release changes the build without a commit and can break it (\"client version ... "
            'is too old").',
            f"Pin both to one full version: {versions.DOCKER_CLI_IMAGE} and {versions.DOCKER_DIND_IMAGE}.",
            loc=loc,
            job=jv.job.name,
            severity=Severity.INFO,
        )
