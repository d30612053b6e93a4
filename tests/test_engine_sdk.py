"""buildrig.engine pieces that need no engine."""

from __future__ import annotations

import pytest
from docker.errors import APIError, DockerException
from requests.exceptions import ConnectionError as RequestsConnectionError

from buildrig import engine


@pytest.mark.parametrize(
    "exc",
    [APIError("refused"), DockerException("no socket"), RequestsConnectionError("reset"), OSError(2, "x")],
)
def test_sdk_errors_catch_what_the_sdk_raises(exc: Exception) -> None:
    caught = False
    try:
        raise exc
    except engine.sdk_errors():
        caught = True
    assert caught


def test_sdk_errors_let_a_bug_through() -> None:
    with pytest.raises(KeyError):
        try:
            raise KeyError("Id")
        except engine.sdk_errors():
            pass
