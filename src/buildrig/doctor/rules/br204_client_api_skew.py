"""BR204 — docker_sock: the job's docker client and the host daemon do not speak a common API.

What it checks (needs ``--live``, which reads the host engine's API range): a job that uses the
host's daemon through the bound socket runs a ``docker`` CLI image whose default API version is
outside what the host engine accepts.

Why it fails: a client older than the daemon's minimum is refused outright::

    Error response from daemon: client version 1.43 is too old. Minimum supported API version is 1.44

(Docker 29 daemons refuse clients older than Docker 25). A client newer than the daemon works only
as long as it negotiates down; anything that pins ``DOCKER_API_VERSION`` (or a client without
negotiation) gets ``client version 1.52 is too new. Maximum supported API version is 1.41``, and
newer CLI features (buildx, BuildKit options) are refused by the old engine.

Fix: pin the job image to the host engine's major (``docker:<host major>-cli``), or upgrade the
host engine; never leave ``docker:cli``/``docker:latest`` floating against a fixed host.

Docs: https://docs.docker.com/reference/api/engine/#api-version-matrix
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Finding, Severity, finding
from buildrig.doctor.rules import _b_util as u

ID = "BR204"
TITLE = "docker_sock: docker client image and host daemon API versions do not match"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/reference/api/engine/#api-version-matrix"

_SELF = sys.modules[__name__]


def check(ctx: Context) -> Iterator[Finding]:
    live = ctx.live
    if live is None or (live.engine_api is None and live.engine_min_api is None):
        return
    for jv in ctx.jobs:
        if jv.way == "shell" or u.dind_services(jv.job):
            continue
        if not any(u.mounts_socket(r) for r in jv.runners):
            continue
        name = u.image_name(jv.job, jv.runners)
        if name is None or not u.is_docker_cli_image(name) or not u.docker_command_lines(jv.job):
            continue
        rel = u.docker_release_of_tag(u.parse_image(name).tag)
        client = u.api_of_release(rel) if rel else None
        pinned = u.explicit_env(jv, "DOCKER_API_VERSION")
        if pinned is not None and pinned.value.strip():
            client = pinned.value.strip()
        if client is None:
            continue
        loc = u.image_loc(jv.job)
        if live.engine_min_api and u.api_tuple(client) < u.api_tuple(live.engine_min_api):
            yield finding(
                _SELF,
                f"{u.jname(jv.job)} runs the docker client '{name}' ({loc}, API {client}) against "
                f"the host engine {live.engine_version or ''} (minimum API {live.engine_min_api}): "
                f"\"client version {client} is too old. Minimum supported API version is "
                f"{live.engine_min_api}\".",
                f"Use a docker CLI image at least as new as the host engine (e.g. "
                f"docker:{(live.engine_version or '').split('.')[0] or '<host major>'}-cli).",
                loc=loc,
                job=jv.job.name,
            )
        elif live.engine_api and u.api_tuple(client) > u.api_tuple(live.engine_api):
            hard = pinned is not None
            yield finding(
                _SELF,
                f"{u.jname(jv.job)} runs the docker client '{name}' ({loc}, API {client}) against "
                f"an older host engine {live.engine_version or ''} (API {live.engine_api}). "
                + (
                    f"DOCKER_API_VERSION={client} is pinned, so every call fails: \"client version "
                    f"{client} is too new. Maximum supported API version is {live.engine_api}\"."
                    if hard
                    else "The CLI negotiates down, but tools that pin the API fail with \"client "
                    f"version {client} is too new. Maximum supported API version is "
                    f"{live.engine_api}\" and newer build features are refused."
                ),
                f"Pin the job image to the host engine's major (docker:"
                f"{(live.engine_version or '').split('.')[0] or '<host major>'}-cli) or upgrade "
                "the host engine" + ("; remove the DOCKER_API_VERSION pin." if hard else "."),
                loc=pinned.loc if hard and pinned is not None and pinned.loc else loc,
                job=jv.job.name,
                severity=Severity.ERROR if hard else Severity.WARNING,
            )
