"""The strategy catalogue: one module per way of building images in GitLab CI.

Public API (stable; other features depend on it):

- ``ALL: tuple[Strategy, ...]`` — seed order: shell, docker_sock, docker_host, dind, kaniko,
  then buildah, buildkit.
- ``NAMES: tuple[str, ...]`` — their names, same order.
- ``get(name) -> Strategy`` — raises :class:`~buildrig.errors.InputError` listing valid names.
- ``EXECUTORS = ("shell", "docker", "docker-autoscaler", "kubernetes")``.
- ``DIGEST_MARKER`` — the ``BUILDRIG_DIGEST=sha256:…`` line every generated job prints last.
- ``choose_auto(RunnerFacts) -> AutoChoice`` — ``--strategy auto`` (choice, reason, runner-up).
- Re-exported from :mod:`buildrig.strategies.base`: ``Strategy``, ``RenderParams``,
  ``RunnerSpec``, ``EmptyDir``, ``HostPath``, ``HostFile``, ``mirror_image``.
- ``buildrig.strategies.docker_host.CERT_VARIABLES`` — (File variable, name in
  ``$DOCKER_CERT_PATH``, file under ``runner/host/``) for the docker_host client certificate.

Generated jobs use ``BUILD_IMAGE``/``BUILD_DOCKERFILE``/``BUILD_CONTEXT`` job variables, log in with
``CI_REGISTRY_USER``/``CI_REGISTRY_PASSWORD`` (``--password-stdin`` or a builtin ``printf``), push
``:$CI_COMMIT_SHORT_SHA`` and ``:$CI_COMMIT_REF_SLUG`` (plus ``:$CI_COMMIT_TAG`` when set) and
print ``BUILDRIG_DIGEST=sha256:…`` last. Scripts are plain POSIX sh.

Each :class:`Strategy` holds its requirements as data (executors, privileged, host daemon,
isolation, layer cache, seed speed rank, security notes, pinned images) and pure render
functions ``render_job(p) -> dict``, ``render_runner(p) -> RunnerSpec``,
``render_host(p) -> tuple[HostFile, ...]`` and ``setup_steps(p) -> tuple[str, ...]``.
"""

from __future__ import annotations

from buildrig.errors import InputError
from buildrig.strategies import buildah, buildkit, dind, docker_host, docker_sock, kaniko, shell
from buildrig.strategies.auto import AutoChoice, RunnerFacts
from buildrig.strategies.auto import choose as _choose
from buildrig.strategies.base import (
    CACHE_MODES,
    DIGEST_MARKER,
    EXECUTORS,
    EmptyDir,
    HostFile,
    HostPath,
    RenderParams,
    RunnerSpec,
    Strategy,
    mirror_image,
)

ALL: tuple[Strategy, ...] = (
    shell.STRATEGY,
    docker_sock.STRATEGY,
    docker_host.STRATEGY,
    dind.STRATEGY,
    kaniko.STRATEGY,
    buildah.STRATEGY,
    buildkit.STRATEGY,
)
NAMES: tuple[str, ...] = tuple(s.name for s in ALL)


def get(name: str) -> Strategy:
    """The way called ``name`` (``-`` and ``_`` are interchangeable)."""
    key = name.strip().lower().replace("-", "_")
    for s in ALL:
        if s.name == key:
            return s
    raise InputError(f"unknown way {name!r}; valid: {', '.join(NAMES)} (or auto)")


def choose_auto(facts: RunnerFacts) -> AutoChoice:
    return _choose(ALL, facts)


__all__ = [
    "ALL",
    "CACHE_MODES",
    "DIGEST_MARKER",
    "EXECUTORS",
    "NAMES",
    "AutoChoice",
    "EmptyDir",
    "HostFile",
    "HostPath",
    "RenderParams",
    "RunnerFacts",
    "RunnerSpec",
    "Strategy",
    "choose_auto",
    "get",
    "mirror_image",
]
