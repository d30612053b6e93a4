"""What a tag of the official ``docker`` image runs: tag → Docker release → Engine API versions.

The one table of this knowledge (``versions.py`` beside it holds what buildrig *pins*). Sources:
the Engine API version matrix (docs.docker.com/reference/api/engine/#api-version-matrix) and each
release's notes for the API versions; docker-library/docker and docker-library/official-images for
the tags.

Floating tags, as they resolve today (2026-12) and historically:

- ``latest``, ``dind``, ``cli``, ``dind-rootless``, ``rc``, ``windowsservercore*``: follow the newest
  release, today the 29 line (``versions.DOCKER_VERSION``); ``rc`` is the next release's candidate
  when one exists.
- ``stable`` (and ``stable-dind``, ``stable-git``, ``stable-dind-rootless``): frozen at 19.03.14.
  The channel aliases were limited in docker-library/docker#179 and the ``stable``/``test`` aliases
  removed in docker-library/official-images#9253 (2020); Docker Hub still serves the last push,
  19.03.14 (API 1.40), as users found (docker-library/official-images#9834, 2021). Until 2019
  ``stable`` was the same image as ``latest`` (docker-library/docker#178).
- ``git`` (and ``<version>-git``): deprecated with 26.0 because ``dind`` ships git
  (docker-library/docker#483, #487, 2024-03): ``docker:git`` stays at the 25.0 line.
- ``edge``, ``test``: channels dropped in 2019–2020; what their last push holds is not recorded
  here (unknown).
- ``<major>`` and ``<major>.<minor>`` tags (``docker:24-dind``, ``docker:27.3-cli``) float over
  patch releases: the last minor of a finished line, the current release for the current line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from buildrig import versions

Release = tuple[int, int]

#: Docker release (major, minor) → the newest Engine API version it speaks (client and daemon).
API_BY_RELEASE: tuple[tuple[Release, str], ...] = (
    ((17, 6), "1.30"),
    ((17, 9), "1.32"),
    ((17, 12), "1.35"),
    ((18, 3), "1.37"),
    ((18, 6), "1.38"),
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

#: The oldest API a daemon of the release accepts: 1.12 before 25, 1.24 from 25 (the default
#: minimum was raised), 1.44 from 29 (Docker 29 refuses clients older than Docker 25).
MIN_API_BY_RELEASE: tuple[tuple[Release, str], ...] = (
    ((0, 0), "1.12"),
    ((25, 0), "1.24"),
    ((29, 0), "1.44"),
)

#: The newest release of each finished line (what ``docker:<major>`` last pointed at).
LAST_MINOR: dict[int, int] = {17: 12, 18: 9, 19: 3, 20: 10, 23: 0, 24: 0, 25: 0, 26: 1, 27: 5, 28: 5}

CURRENT: Release = (int(versions.DOCKER_VERSION.split(".")[0]), int(versions.DOCKER_VERSION.split(".")[1]))

#: Named tags (before any ``-variant``) and the release they pull today; None: not known.
NAMED_TAGS: dict[str, Release | None] = {
    "latest": CURRENT,
    "dind": CURRENT,
    "cli": CURRENT,
    "rc": CURRENT,
    "windowsservercore": CURRENT,
    "stable": (19, 3),
    "git": (25, 0),
    "edge": None,
    "test": None,
}

_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?")


@dataclass(frozen=True)
class TagRelease:
    release: Release
    floating: bool  # the tag moves (a name, or a version without its patch number)


@lru_cache(maxsize=1024)
def release_of_tag(tag: str | None) -> TagRelease | None:
    """The release a ``docker`` image tag runs (no tag: ``latest``); None when unknown."""
    tag = (tag or "latest").lower()
    m = _VERSION.match(tag)
    if m is None:
        head = tag.split("-", 1)[0]
        if head not in NAMED_TAGS:
            return None
        rel = NAMED_TAGS[head]
        return TagRelease(rel, True) if rel is not None else None
    major = int(m.group(1))
    if m.group(2) is None:
        minor = CURRENT[1] if major >= CURRENT[0] else LAST_MINOR.get(major, 0)
        return TagRelease((major, minor), True)
    return TagRelease((major, int(m.group(2))), m.group(3) is None)


def _lookup(table: tuple[tuple[Release, str], ...], rel: Release) -> str | None:
    out: str | None = None
    for r, api in table:
        if rel >= r:
            out = api
    return out


def api_of_release(rel: Release) -> str | None:
    """The newest API the release speaks; None for releases older than the table."""
    return _lookup(API_BY_RELEASE, rel)


def min_api_of_release(rel: Release) -> str:
    return _lookup(MIN_API_BY_RELEASE, rel) or "1.12"


def api_tuple(api: str) -> tuple[int, int]:
    """``"1.44"`` → (1, 44); a leading ``v`` and a patch part are ignored; (0, 0) for text that
    is no version (an unexpanded ``$VAR``)."""
    m = re.match(r"v?(\d+)(?:\.(\d+))?", api.strip())
    return (int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0)
