"""Image references: Docker's normalisation and the reference grammar the runner matches."""

from __future__ import annotations

import pytest

from buildrig.gitlab.imageref import glob_match, match_reference, parse_image, pull_args

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("name", "registry", "path", "tag", "digest"),
    [
        ("docker:24.0.5-dind", None, "docker", "24.0.5-dind", None),
        ("docker", None, "docker", None, None),
        ("library/docker:cli", None, "docker", "cli", None),
        ("docker.io/library/docker:cli", None, "docker", "cli", None),
        ("index.docker.io/tutum/wordpress", None, "tutum/wordpress", None, None),
        ("registry-1.docker.io/library/alpine:3", None, "alpine", "3", None),
        (
            "registry.example.com:5000/team/kaniko:debug",
            "registry.example.com:5000",
            "team/kaniko",
            "debug",
            None,
        ),
        ("localhost/app", "localhost", "app", None, None),
        (
            "gcr.io/kaniko-project/executor@sha256:abc",
            "gcr.io",
            "kaniko-project/executor",
            None,
            "sha256:abc",
        ),
        (f"alpine:3.20@{DIGEST}", None, "alpine", "3.20", DIGEST),
        # a registry on a non-default port is not a tag
        ("registry:5000/app", "registry:5000", "app", None, None),
        # a mirror keeps its own library/ path: only Docker Hub's prefix is dropped
        ("mirror.example.com/library/docker:29", "mirror.example.com", "library/docker", "29", None),
        # doctor reads unexpanded names: a first component that is a variable counts as a registry
        (
            "$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX/docker:29",
            "$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX",
            "docker",
            "29",
            None,
        ),
    ],
)
def test_parse_image(name: str, registry: str | None, path: str, tag: str | None, digest: str | None) -> None:
    ref = parse_image(name)
    assert (ref.registry, ref.path, ref.tag, ref.digest) == (registry, path, tag, digest)


def test_last_component() -> None:
    assert parse_image("mirror.example.com/library/docker:29").last == "docker"


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("docker:29-cli", ("docker", "29-cli")),
        ("docker", ("docker", "latest")),
        ("registry:5000/app", ("registry:5000/app", "latest")),
        ("registry:5000/app:1", ("registry:5000/app", "1")),
        (f"alpine@{DIGEST}", (f"alpine@{DIGEST}", None)),
    ],
)
def test_pull_args(name: str, args: tuple[str, str | None]) -> None:
    assert pull_args(name) == args


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("docker:dind", ("docker", "dind", None)),
        ("registry.example.com:5000/g/s:1", ("registry.example.com:5000/g/s", "1", None)),
        (f"postgres@{DIGEST}", ("postgres", None, DIGEST)),
        ("Docker:dind", None),  # upper case is allowed in the domain only
        ("My.Registry/app", ("My.Registry/app", None, None)),
        ("app:", None),
        ("a/b/", None),
        ("postgres@sha256:abc", None),  # a digest needs 32+ hex digits
    ],
)
def test_match_reference(text: str, parts: tuple[str, str | None, str | None] | None) -> None:
    ref = match_reference(text)
    assert (None if ref is None else (ref.name, ref.tag, ref.digest)) == parts


@pytest.mark.parametrize(
    ("pattern", "name", "ok"),
    [
        ("docker:*-dind", "docker:29.7.2-dind", True),
        ("docker:*-dind", "docker:29.7.2-dind-rootless", False),
        # matched as written: no Docker Hub normalisation (executors/docker/docker.go:271-282)
        ("docker:*-dind", "docker.io/library/docker:29-dind", False),
        ("*/docker:*", "registry.example.com/docker:29", True),
        ("*/docker:*", "registry.example.com/library/docker:29", False),  # * stays in one component
        ("**/docker:*", "registry.example.com/library/docker:29", True),
        ("docker:{24,29}*", "docker:29-dind", True),
        ("docker:[0-9]*", "docker:dind", False),
        ("docker:[!0-9]*", "docker:dind", True),
        ("docker:?-dind", "docker:29-dind", False),
        ("docker:{29", "docker:{29", False),  # a pattern doublestar refuses allows nothing
    ],
)
def test_glob_match(pattern: str, name: str, ok: bool) -> None:
    assert glob_match(pattern, name) is ok
