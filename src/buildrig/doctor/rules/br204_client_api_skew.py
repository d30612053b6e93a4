"""BR204 — docker_sock: the job's docker client and the host daemon do not speak a common API.

What it checks: a job that uses the host's daemon through the bound socket runs a ``docker`` CLI
image whose API range does not meet the host engine's:

- a Docker 29 client (``docker:29-cli``, or an unpinned ``docker:cli``/``docker:latest``) against a
  host engine older than Docker 25 (API < 1.44): Docker 29 clients no longer negotiate down that
  far, so every command is refused::

      Error response from daemon: client version 1.52 is too new. Maximum supported API version is 1.41

- a client older than the daemon's minimum (Docker 29 daemons refuse clients older than Docker
  25)::

      Error response from daemon: client version 1.43 is too old. Minimum supported API version is 1.44

- ``DOCKER_API_VERSION`` pinned above what the daemon supports (same "too new" error).

With ``--live`` the host engine's API range is known and these are errors; on the shell executor
``--live`` also compares the docker CLI on ``PATH`` with the engine. Without it, an unpinned or
Docker 29 client on a socket-binding runner gets an INFO note: the host engine must be Docker 25 or
newer; so does a client older than Docker 25 (API < 1.44), which Docker 29 hosts refuse. Given
the error text the job printed (``--symptom``) with "client version X is too new/old", a job that
talks to the host's daemon (socket or shell executor) gets a WARNING naming the versions the
daemon stated and the check (``docker version`` on the runner host).

Fix: pin the job image to the host engine's major (``docker:<host major>-cli``), or upgrade the
host engine; never leave ``docker:cli``/``docker:latest`` floating against a fixed host.

Docs: https://docs.docker.com/reference/api/engine/#api-version-matrix
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding

ID = "BR204"
TITLE = "docker_sock: docker client image and host daemon API versions do not match"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/reference/api/engine/#api-version-matrix"

# Docker 29 clients refuse to negotiate below the API their own daemon still accepts.
_NO_NEGOTIATION_BELOW = "1.44"
_DOCKER_29_API = u.api_of_release((29, 0)) or "1.52"
# the first release whose API (1.44) Docker 29 daemons still accept
_REFUSED_BELOW_RELEASE = (25, 0)
SYMPTOM = re.compile(
    r"client version (\d+\.\d+) is too (new|old)\. (?:Maximum|Minimum) supported API version is (\d+\.\d+)",
    re.IGNORECASE,
)
_CHECK = "docker version --format '{{.Client.APIVersion}} / {{.Server.APIVersion}}' on the runner host"


def _symptom_finding(ctx: Context, jv: JobView, name: str, where: str) -> Issue | None:
    """The daemon's own words in the user's error text: the skew is this job's (not checked here)."""
    m = SYMPTOM.search(ctx.symptom or "")
    lines = u.daemon_docker_lines(jv.job)
    if m is None or not lines or ctx.live is not None:
        return None
    client, which, server = m.group(1), m.group(2).lower(), m.group(3)
    bound = "newest" if which == "new" else "oldest"
    return finding(
        f"{u.jname(jv.job)} runs the docker client {name} ({where}) against the host's daemon, "
        f"which answered \"client version {client} is too {which}\": its {bound} API is {server} "
        f"(not checked: run {_CHECK}, or doctor --live there).",
        "Use a docker CLI whose release matches the host engine (docker:<host major>-cli), or "
        "upgrade the host engine; remove any DOCKER_API_VERSION pin.",
        loc=lines[0].loc,
        job=jv.job.name,
        severity=Severity.WARNING,
    )


def _shell_jobs(ctx: Context) -> Iterator[Issue]:
    live = ctx.live
    for jv in ctx.jobs:
        shells = [r for r in jv.runners if u.is_shell_executor(r)]
        if not shells or len(shells) != len(jv.runners) or not u.daemon_docker_lines(jv.job):
            continue
        if live is None:
            hit = _symptom_finding(ctx, jv, "of the runner host", f"shell executor of {u.rname(shells[0])}")
            if hit is not None:
                yield hit
            continue
        cli, host, low = live.docker_cli_api, live.engine_api, live.engine_min_api
        if cli is None or host is None:
            continue
        line = u.daemon_docker_lines(jv.job)[0]
        too_old = low is not None and u.api_tuple(cli) < u.api_tuple(low)
        # clients negotiate down to the daemon's API, except Docker 29's below API 1.44
        too_new = u.api_tuple(cli) >= u.api_tuple(_DOCKER_29_API) and (
            u.api_tuple(host) < u.api_tuple(_NO_NEGOTIATION_BELOW)
        )
        if not too_old and not too_new:
            continue
        said = f"too old. Minimum supported API version is {low}" if too_old else (
            f"too new. Maximum supported API version is {host}")
        yield finding(
            f"{u.jname(jv.job)} runs docker ({line.loc}) on the shell executor of "
            f"{u.rname(shells[0])}: this host's CLI {live.docker_cli_path or 'docker'} speaks API {cli} "
            f"and its engine {live.engine_version or ''} API {low or '?'}..{host}: \"client version "
            f"{cli} is {said}\".",
            "Install the docker CLI from the same release as the host engine (docker-ce-cli of that "
            "version), or upgrade the engine.",
            loc=line.loc,
            job=jv.job.name,
            severity=u.severity_for(len(shells), len(jv.runners)),
        )


def check(ctx: Context) -> Iterator[Issue]:
    yield from _shell_jobs(ctx)
    live = ctx.live
    known = live is not None and (live.engine_api is not None or live.engine_min_api is not None)
    for jv in ctx.jobs:
        if jv.way == "shell" or u.dind_services(jv.job):
            continue
        if not any(u.mounts_socket(r) for r in jv.runners):
            continue
        name = u.job_image(jv) or u.image_name(jv.job, jv.runners)
        if name is None or not u.is_docker_image(name) or not u.daemon_docker_lines(jv.job):
            continue
        rel = u.docker_release_of_tag(u.parse_image(name).tag)
        if rel is None:
            continue
        client = u.api_of_release(rel) or "1.24"
        pinned = u.explicit_env(jv, "DOCKER_API_VERSION")
        if pinned is not None and pinned.value.strip():
            client = pinned.value.strip()
        loc = pinned.loc if pinned is not None and pinned.loc else u.image_loc(jv.job)
        host_major = (live.engine_version or "").split(".")[0] if live is not None else ""
        major = f"docker:{host_major or '<host major>'}-cli"
        if not known or live is None:
            said = _symptom_finding(ctx, jv, f"'{name}'", str(loc))
            if said is not None:
                yield said
            elif rel < _REFUSED_BELOW_RELEASE and pinned is None and hostfacts.said(ctx, SYMPTOM) is None:
                yield finding(
                    f"{u.jname(jv.job)} runs the Docker {rel[0]}.{rel[1]} client '{name}' ({loc}, API "
                    f"{client}) against the host's daemon through the socket: a host engine of Docker 29 "
                    f"or newer refuses it (\"client version {client} is too old. Minimum supported API "
                    f"version is {_NO_NEGOTIATION_BELOW}\") and one older than the client may not "
                    f"negotiate down to it (not checked: run {_CHECK}, or doctor --live there).",
                    "Pin the job image to the host engine's major (docker:<host major>-cli).",
                    loc=loc,
                    job=jv.job.name,
                    severity=Severity.INFO,
                )
            elif rel >= (29, 0) and pinned is None and hostfacts.said(ctx, SYMPTOM) is not False:
                yield finding(
                    f"{u.jname(jv.job)} runs the Docker {rel[0]} client '{name}' ({loc}) against the "
                    "host's daemon through the socket: the host engine must be Docker 25 or newer, "
                    "or every command fails with \"client version 1.52 is too new. Maximum supported "
                    "API version is ...\" (not checked: run with --live on the runner host).",
                    "Pin the job image to the host engine's major (docker:<host major>-cli), or make "
                    "sure the host runs Docker >= 25.",
                    loc=loc,
                    job=jv.job.name,
                    severity=Severity.INFO,
                )
            continue
        host = live.engine_api
        if live.engine_min_api and u.api_tuple(client) < u.api_tuple(live.engine_min_api):
            yield finding(
                f"{u.jname(jv.job)} runs the docker client '{name}' ({loc}, API {client}) against "
                f"the host engine {live.engine_version or ''} (minimum API {live.engine_min_api}): "
                f"\"client version {client} is too old. Minimum supported API version is "
                f"{live.engine_min_api}\".",
                f"Use a docker CLI image at least as new as the host engine (e.g. {major}).",
                loc=loc,
                job=jv.job.name,
            )
        elif host and u.api_tuple(client) > u.api_tuple(host) and (
            pinned is not None
            or (rel >= (29, 0) and u.api_tuple(host) < u.api_tuple(_NO_NEGOTIATION_BELOW))
        ):
            yield finding(
                f"{u.jname(jv.job)} runs the docker client '{name}' ({loc}, API {client}) against "
                f"the older host engine {live.engine_version or ''} (API {host}), which it cannot "
                f"negotiate down to: \"client version {client} is too new. Maximum supported API "
                f"version is {host}\".",
                f"Pin the job image to the host engine's major ({major}) or upgrade the host engine"
                + ("; remove the DOCKER_API_VERSION pin." if pinned is not None else "."),
                loc=loc,
                job=jv.job.name,
            )
