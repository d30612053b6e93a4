"""dind: the runner's ``environment`` changes how the job reaches its dind daemon.

``environment = [...]`` in ``[[runners]]`` applies to every job on that runner and to its
services. A ``DOCKER_HOST``, ``DOCKER_TLS_CERTDIR``, ``DOCKER_TLS_VERIFY`` or ``DOCKER_CERT_PATH``
set there silently changes jobs that did not set it themselves: e.g. ``DOCKER_TLS_CERTDIR=`` (empty)
on the runner turns TLS off in the dind service while the job's client still expects 2376, and
``DOCKER_HOST=tcp://docker:2375`` sends a TLS job to the wrong port::

    Cannot connect to the Docker daemon at tcp://docker:2375. Is the docker daemon running?

The same pipeline then works on one runner and fails on another.

Fix: remove these variables from the runner's ``environment`` and set them in the job (or in the
pipeline's ``variables``) where the other half of the set-up lives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from buildrig.doctor import derive
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, tls_on

ID = "BR112"
TITLE = "dind: runner environment overrides DOCKER_* settings the job relies on"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/runner/configuration/advanced-configuration/#the-runners-section"
_KEYS = ("DOCKER_HOST", "DOCKER_TLS_CERTDIR", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


def _outcome(ctx: Context, job: object, runner: object) -> tuple[object, ...]:
    from buildrig.gitlab.model import Job, Runner

    assert isinstance(job, Job) and isinstance(runner, Runner)
    env, services = derive.effective_env(ctx.pipeline, job, [runner])
    ep = endpoint(env)
    modes = []
    for svc in derive.dind_services(job, [runner]):
        mode = derive.dind_mode(svc, services.get(derive.service_key(svc), {}))
        modes.append((mode.tls, mode.port))
    return (ep.port if ep else None, ep.host if ep else None, tls_on(env), tuple(modes))


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        own = {v.name for v in jv.job.variables}
        if ctx.pipeline is not None:
            own |= {v.name for v in ctx.pipeline.variables}
        for r in jv.runners:
            set_here = [v for v in r.environment if v.name in _KEYS and v.name not in own]
            if not set_here:
                continue
            with_env = _outcome(ctx, jv.job, r)
            without = _outcome(ctx, jv.job, replace(r, environment=()))
            if with_env == without:
                continue
            var = set_here[0]
            names = ", ".join(f"{v.name}={v.value!r}" for v in set_here)
            yield finding(
                f"{label(jv.job)}: runner '{r.name}' sets {names} in its environment ({var.loc}), which "
                "changes how this job's client reaches its dind service compared with the job's own "
                'set-up; the same job behaves differently on other runners (e.g. "Cannot connect to the '
                'Docker daemon at tcp://docker:2375" on this one only).',
                "Remove the DOCKER_* entries from the runner's environment and set them in the job's "
                "variables next to the service that needs them.",
                loc=var.loc or r.loc,
                job=jv.job.name,
            )
