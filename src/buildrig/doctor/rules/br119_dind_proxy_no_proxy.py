"""dind: an HTTP proxy in the job's environment without ``docker`` in ``NO_PROXY``.

The docker CLI sends its API requests for ``tcp://`` hosts through ``HTTP_PROXY``/``HTTPS_PROXY``
unless the host is in ``NO_PROXY``. Behind a corporate proxy set on the runner (``environment``) or
in the pipeline, a dind job's client then asks the proxy for ``docker:2376``, which it cannot
reach; ``docker build``/``push`` fail with, e.g.::

    error during connect: Post "https://docker:2376/v1.24/build?...": proxyconnect tcp: dial tcp
    10.0.0.3:3128: i/o timeout

GitLab Runner's proxy guide says to add the service with its ports: ``NO_PROXY=docker:2375,docker:2376``
(and ``docker`` itself).

Severity: an error when the proxy variable for the scheme the client uses is set (``HTTPS_PROXY``
for TLS on 2376, ``HTTP_PROXY`` for plain 2375): a proxy outside the job's network cannot reach the
service alias, so every docker command fails. A warning when only the other one is set (the
client does not use it for this connection, but tools in the job may).

Fix: add ``docker,docker:2375,docker:2376`` to ``NO_PROXY``/``no_proxy`` where the proxy is set.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label

ID = "BR119"
TITLE = "dind: HTTP(S)_PROXY set but the dind service is not in NO_PROXY"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/runner/configuration/proxy/"
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        ep = endpoint(jv.env)
        if ep is None or ep.scheme != "tcp" or ep.host is None or ep.is_loopback:
            continue
        proxy = next((jv.env[k] for k in _PROXIES if k in jv.env and jv.env[k].value), None)
        if proxy is None:
            continue
        no_proxy = ",".join(jv.env[k].value for k in ("NO_PROXY", "no_proxy") if k in jv.env)
        entries = {e.strip().lstrip(".").lower() for e in no_proxy.split(",") if e.strip()}
        if "*" in entries or ep.host in entries or f"{ep.host}:{ep.port}" in entries:
            continue
        # Go's ProxyFromEnvironment picks the variable by the request's scheme: https for a TLS daemon.
        verify = jv.env.get("DOCKER_TLS_VERIFY")
        tls = ep.port == 2376 or bool(verify is not None and verify.value)
        used = ("HTTPS_PROXY", "https_proxy") if tls else ("HTTP_PROXY", "http_proxy")
        sure = any(k in jv.env and jv.env[k].value for k in used)
        yield finding(
            f"{label(jv.job)}: {proxy.name} is set ({proxy.loc or 'runner/image'}) and NO_PROXY does not "
            f"list {ep.host}, so the docker CLI sends its requests for {ep.raw} through the proxy: "
            f'"error during connect: ... proxyconnect tcp: ..." on build and push.',
            f"Add {ep.host},{ep.host}:2375,{ep.host}:2376 to NO_PROXY and no_proxy where the proxy is set.",
            loc=proxy.loc or jv.job.loc,
            job=jv.job.name,
            severity=Severity.ERROR if sure else Severity.WARNING,
        )
