"""The one table of docker image tags → releases → Engine API versions."""

from __future__ import annotations

import pytest

from buildrig import versions
from buildrig.engine_versions import (
    CURRENT,
    TagRelease,
    api_of_release,
    api_tuple,
    min_api_of_release,
    release_of_tag,
)


def test_current_is_the_pinned_release() -> None:
    assert f"{CURRENT[0]}.{CURRENT[1]}" == versions.DOCKER_VERSION.rsplit(".", 1)[0]


@pytest.mark.parametrize(
    ("tag", "release"),
    [
        ("29.7.2-cli", TagRelease((29, 7), False)),
        ("24.0.5-dind", TagRelease((24, 0), False)),
        ("24.0.5", TagRelease((24, 0), False)),
        ("27.3-cli", TagRelease((27, 3), True)),
        ("24-dind", TagRelease((24, 0), True)),  # the last 24.0 release
        ("27", TagRelease((27, 5), True)),
        ("29-dind", TagRelease(CURRENT, True)),
        (None, TagRelease(CURRENT, True)),
        ("latest", TagRelease(CURRENT, True)),
        ("dind", TagRelease(CURRENT, True)),
        ("cli", TagRelease(CURRENT, True)),
        ("dind-rootless", TagRelease(CURRENT, True)),
        ("windowsservercore-ltsc2022", TagRelease(CURRENT, True)),
        # frozen at 19.03.14 since the channel aliases went (docker-library/official-images#9253)
        ("stable", TagRelease((19, 3), True)),
        ("stable-dind", TagRelease((19, 3), True)),
        # the git variant stopped with 25 (docker-library/docker#483)
        ("git", TagRelease((25, 0), True)),
        ("edge", None),
        ("test-dind", None),
        ("nonsense", None),
    ],
)
def test_release_of_tag(tag: str | None, release: TagRelease | None) -> None:
    assert release_of_tag(tag) == release


@pytest.mark.parametrize(
    ("release", "api", "minimum"),
    [
        ((19, 3), "1.40", "1.12"),
        ((20, 10), "1.41", "1.12"),
        ((24, 0), "1.43", "1.12"),
        ((25, 0), "1.44", "1.24"),
        ((27, 1), "1.46", "1.24"),
        ((27, 5), "1.47", "1.24"),
        ((28, 5), "1.51", "1.24"),
        ((29, 7), "1.52", "1.44"),
        ((1, 13), None, "1.12"),
    ],
)
def test_api_versions(release: tuple[int, int], api: str | None, minimum: str) -> None:
    assert api_of_release(release) == api
    assert min_api_of_release(release) == minimum


def test_api_tuple() -> None:
    assert api_tuple("1.44") == (1, 44)
    assert api_tuple(" v1.41.0") == (1, 41)
    assert api_tuple("$DOCKER_API_VERSION") == (0, 0)
