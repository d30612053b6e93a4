"""The daemon a job talks to: DOCKER_HOST, TLS, and which Docker API a release speaks."""

from __future__ import annotations

from collections.abc import Mapping

from buildrig import engine_versions as EV
from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.gitlab.model import Variable


def endpoint(env: Mapping[str, Variable]) -> F.Endpoint | None:
    var = env.get("DOCKER_HOST")
    return F.parse_endpoint(derive.expand(var.value, env)) if var is not None and var.value else None


def tls_on(env: Mapping[str, Variable]) -> bool:
    """The docker CLI verifies TLS when DOCKER_TLS_VERIFY is non-empty (any value, even "0")."""
    verify = env.get("DOCKER_TLS_VERIFY")
    tls = env.get("DOCKER_TLS")
    return bool(verify is not None and verify.value) or bool(tls is not None and tls.value)


def docker_release_of_tag(tag: str | None) -> tuple[int, int] | None:
    """``24.0.5-cli`` -> (24, 0); floating tags -> what they pull today (``stable`` -> 19.03)."""
    found = EV.release_of_tag(tag)
    return found.release if found is not None else None


api_of_release = EV.api_of_release
api_tuple = EV.api_tuple


def refused_client(client: tuple[int, int], daemon: tuple[int, int]) -> tuple[str, str] | None:
    """``(client API, daemon's minimum API)`` when a daemon of release ``daemon`` refuses a docker
    CLI of release ``client`` ("client version ... is too old"); None when it accepts it. A client
    older than the release table speaks an API below every minimum."""
    api = EV.api_of_release(client) or "older than 1.12"
    minimum = EV.min_api_of_release(daemon)
    return (api, minimum) if EV.api_tuple(api) < EV.api_tuple(minimum) else None
