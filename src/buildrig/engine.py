"""Connection to the Docker Engine and the labels every buildrig-created object carries."""

from __future__ import annotations

import os
from typing import Any

from buildrig.errors import EngineError

#: Every container, network and volume buildrig creates has this label ("1").
LABEL = "buildrig"
#: The id of the run (or registry/testbed instance) that created the object.
LABEL_RUN = "buildrig.run"
#: What created it: "job", "service", "registry", "testbed", "bench", ...
LABEL_ROLE = "buildrig.role"
#: PID of the creating buildrig process, so ``buildrig gc`` can tell dead runs from live ones.
LABEL_PID = "buildrig.pid"


def labels(run_id: str, role: str, **extra: str) -> dict[str, str]:
    """The label set for an object created by run ``run_id`` in ``role``."""
    out = {LABEL: "1", LABEL_RUN: run_id, LABEL_ROLE: role, LABEL_PID: str(os.getpid())}
    out.update({f"buildrig.{k}": v for k, v in extra.items()})
    return out


def client(base_url: str | None = None, timeout: int = 120) -> Any:
    """A Docker SDK client for ``base_url`` (default: ``DOCKER_HOST`` or the local socket).

    Raises :class:`EngineError` with one clear line when the engine does not answer.
    """
    import docker
    from docker.errors import DockerException

    where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        cli = docker.DockerClient(base_url=base_url, timeout=timeout) if base_url else docker.from_env(
            timeout=timeout
        )
        cli.ping()
    except DockerException as exc:
        raise EngineError(f"Docker Engine at {where} does not answer: {_short(exc)}") from exc
    return cli


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
