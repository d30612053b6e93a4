"""Connection to the Docker Engine and the labels every buildrig-created object carries."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from buildrig.errors import EngineError

if TYPE_CHECKING:
    import docker

#: Every container, network and volume buildrig creates has this label ("1").
LABEL = "buildrig"
#: The id of the run (or registry/testbed instance) that created the object.
LABEL_RUN = "buildrig.run"
#: What created it: "job", "service", "registry", "testbed", "bench", ...
LABEL_ROLE = "buildrig.role"
#: PID of the creating buildrig process, so ``buildrig gc`` can tell dead runs from live ones.
LABEL_PID = "buildrig.pid"


#: A kept cache volume's scope (see :func:`cache_labels`).
LABEL_CACHE_SCOPE = "buildrig.cache-scope"
#: Set on a cache volume kept past its process (``buildrig run --keep-cache``).
LABEL_KEPT = "buildrig.kept"


def cache_labels(scope: str, path: str, *, kept: bool = False) -> dict[str, str]:
    """Labels of a cache volume kept across runs for ``scope``: no run's label, so no run's
    clean-up sweeps it; whoever chose the scope removes it (``run.cleanup.remove_cache``), and
    ``buildrig gc`` does once the process that made it is gone, or, for a volume ``kept`` past its
    process, only when asked to remove everything (``buildrig gc --all``)."""
    labels = {LABEL: "1", LABEL_ROLE: "cache", LABEL_CACHE_SCOPE: scope, "buildrig.path": path}
    if kept:
        labels[LABEL_KEPT] = "1"
    else:
        labels[LABEL_PID] = str(os.getpid())
    return labels


def labels(run_id: str, role: str, **extra: str) -> dict[str, str]:
    """The label set for an object created by run ``run_id`` in ``role``."""
    out = {LABEL: "1", LABEL_RUN: run_id, LABEL_ROLE: role, LABEL_PID: str(os.getpid())}
    out.update({f"buildrig.{k}": v for k, v in extra.items()})
    return out


def client(base_url: str | None = None, timeout: int = 120) -> docker.DockerClient:
    """A Docker SDK client for ``base_url`` (default: ``DOCKER_HOST`` or the local socket).

    Raises :class:`EngineError` with one clear line when the engine does not answer.
    """
    from docker.errors import DockerException

    cls = _client_class()
    where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        # No API version given: the SDK asks the engine for it (GET /version) while constructing
        # the client, so a silent engine fails here already and a ping would be a second round trip.
        cli = cls(base_url=base_url, timeout=timeout) if base_url else cls.from_env(timeout=timeout)
    except DockerException as exc:
        raise EngineError(f"Docker Engine at {where} does not answer: {_short(exc)}") from exc
    return cli


def sdk_errors() -> tuple[type[Exception], ...]:
    """What a call into the Docker SDK raises when the engine refuses or cannot be reached: the
    SDK's own errors and requests' (an unreachable socket, a reset connection); OSError covers a
    local file the call reads (an image tarball). ``except engine.sdk_errors():`` catches them
    without importing the SDK before it is needed."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    return (DockerException, RequestException, OSError)


@functools.cache
def _client_class() -> type[docker.DockerClient]:
    """The SDK's client, verifying a TLS engine against its own CA (``DOCKER_CERT_PATH/ca.pem``)
    even when ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` is set.

    requests lets those variables replace a session's CA for every request, so the plain SDK checks
    the engine's certificate against the system bundle and refuses it. Proxy settings from the
    environment still apply, as they do for the docker CLI. Built on first use: importing the SDK
    costs start-up time that commands without an engine should not pay.
    """
    import docker

    class EngineAPI(docker.APIClient):
        def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                       cert: Any) -> Any:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if isinstance(self.verify, str) and (verify is None or verify is True):
                settings["verify"] = self.verify
            return settings

    class Client(docker.DockerClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.api = EngineAPI(*args, **kwargs)
            if self.api.base_url.startswith("http+docker://"):
                # A unix socket (or named pipe, or ssh): no proxy, CA bundle or .netrc applies to
                # it, and requests would read the whole environment again for every call.
                self.api.trust_env = False

    return Client


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
