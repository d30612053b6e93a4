"""BR507 — buildkit: ``docker buildx`` cache export or multi-platform build on the default ``docker`` driver.

What it checks: a ``docker buildx build`` (or ``docker build``) with ``--cache-to`` (other than
``type=inline``) or a multi-platform ``--platform a,b`` while the script never creates a builder
(``docker buildx create --use``/``--builder``), against a daemon that is not known to use the
containerd image store (the host's daemon through the socket or the shell executor, a remote
``DOCKER_HOST``, or a dind service older than 29).

Why it fails: the default builder uses the ``docker`` driver, which exports cache and builds
several platforms only with the containerd image store (default on fresh Docker 29 installs such as
``docker:29-dind``, not on upgraded hosts)::

    ERROR: cache export feature is currently not supported for docker driver. Please switch to a
    different driver (eg. "docker buildx create --use")
    ERROR: Multi-platform build is not supported for the docker driver.

Severity: an error when the job's daemon is a dind service of a release before 29 (its image store
is the classic one on every run: ``docker:stable-dind`` is 19.03); a warning for the host's daemon
(socket, shell executor) or a remote ``DOCKER_HOST``, whose image store the files do not show.

Fix: ``docker buildx create --use --driver docker-container --name builder`` in ``before_script``
(and ``docker buildx rm builder`` in ``after_script``), as GitLab's cache page does; or enable the
containerd image store on the daemon.

Docs: https://docs.gitlab.com/ci/docker/docker_layer_caching/
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding

ID = "BR507"
TITLE = "buildkit: buildx cache export / multi-platform on the default docker driver"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_layer_caching/"

_BUILD = re.compile(r"(?<![\w./$-])docker\s+(?:buildx\s+build|build|buildx\s+b)\b")
_CACHE_TO = re.compile(r"--cache-to(?:\s+|=)[\"']?(?P<v>[^\s\"']+)")
_MULTI = re.compile(r"--platform(?:\s+|=)[\"']?[^\s\"',]+,[^\s\"']+")
_BUILDER = re.compile(
    r"docker\s+buildx\s+create\b.*--use|docker\s+buildx\s+use\b|--builder(?:\s|=)|BUILDX_BUILDER="
)


def _release(name: str) -> tuple[int, int] | None:
    tag = u.parse_image(name).tag
    if tag is not None and tag.startswith("stable"):
        return (19, 3)  # docker:stable(-dind) stopped at 19.03
    return u.docker_release_of_tag(tag)


def _classic_dind(jv: JobView) -> bool:
    """Every dind service of the job is a release before 29: the classic image store, always."""
    services = [s for s in u.dind_services(jv.job) if "containerd" not in " ".join(s.command or ())]
    rels = [_release(s.name) for s in services]
    return bool(rels) and all(r is not None and r < (29, 0) for r in rels)


def _containerd_store(ctx: Context, jv: JobView) -> bool:
    for svc in u.dind_services(jv.job):
        rel = _release(svc.name)
        if rel is not None and rel >= (29, 0):
            return True
    if jv.way != "dind" and ctx.daemon is not None:
        features = ctx.daemon.raw_json.get("features")
        if isinstance(features, dict) and features.get("containerd-snapshotter") is True:
            return True
    return False


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        lines = u.script_lines(jv.job)
        if any(_BUILDER.search(sl.text) for sl in lines) or _containerd_store(ctx, jv):
            continue
        for sl in lines:
            if not _BUILD.search(sl.text):
                continue
            cache = _CACHE_TO.search(sl.text)
            exports = cache is not None and not cache.group("v").startswith("type=inline")
            multi = _MULTI.search(sl.text) is not None
            if not exports and not multi:
                continue
            what = "exports build cache (--cache-to)" if exports else "builds several platforms"
            symptom = ("\"ERROR: cache export feature is currently not supported for docker driver\""
                       if exports else "\"ERROR: Multi-platform build is not supported for the docker "
                       "driver\"")
            yield finding(
                f"{u.jname(jv.job)} {what} with the default buildx builder ({sl.loc}) against a "
                "daemon not known to use the containerd image store: the docker driver refuses with "
                f"{symptom}.",
                "Create a builder first: docker buildx create --use --driver docker-container --name "
                "builder (and docker buildx rm builder in after_script), or enable the containerd "
                "image store on the daemon.",
                loc=sl.loc,
                job=jv.job.name,
                severity=Severity.ERROR if _classic_dind(jv) else Severity.WARNING,
            )
            break
