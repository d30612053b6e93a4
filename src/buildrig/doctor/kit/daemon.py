"""The daemon a job talks to: DOCKER_HOST, TLS, and which Docker API a release speaks."""

from __future__ import annotations

import re
from collections.abc import Mapping

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


#: Docker Engine release (major.minor) -> the API version its client speaks by default.
_API_BY_RELEASE: tuple[tuple[tuple[int, int], str], ...] = (
    ((18, 9), "1.39"),
    ((19, 3), "1.40"),
    ((20, 10), "1.41"),
    ((23, 0), "1.42"),
    ((24, 0), "1.43"),
    ((25, 0), "1.44"),
    ((26, 0), "1.45"),
    ((27, 0), "1.46"),
    ((27, 2), "1.47"),
    ((28, 0), "1.48"),
    ((28, 1), "1.49"),
    ((28, 2), "1.50"),
    ((28, 3), "1.51"),
    ((29, 0), "1.52"),
)
#: What an unpinned ``docker:cli``/``docker:latest``/``docker:dind`` is today (the only maintained line).
CURRENT_DOCKER = (29, 7)


def docker_release_of_tag(tag: str | None) -> tuple[int, int] | None:
    """``24.0.5-cli`` -> (24, 0); ``cli``/``latest``/``dind``/None -> the current release."""
    if tag is None or tag.split("-")[0] in ("cli", "latest", "dind", "git", "stable", "rc", "edge"):
        return CURRENT_DOCKER
    m = re.match(r"(\d+)(?:\.(\d+))?", tag)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2) or 0)


def api_of_release(rel: tuple[int, int]) -> str | None:
    out: str | None = None
    for r, api in _API_BY_RELEASE:
        if rel >= r:
            out = api
    return out


def api_tuple(api: str) -> tuple[int, int]:
    major, _, minor = api.strip().lstrip("v").partition(".")
    return int(major or 0), int((minor or "0").split(".")[0] or 0)
