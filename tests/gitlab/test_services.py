"""Service host names as GitLab Runner v17.9.3 gives them (helpers/container/services/services.go,
executors/docker/services.go, executors/kubernetes/host_aliases.go)."""

from __future__ import annotations

import pytest

from buildrig.gitlab.services import (
    answers_to,
    assign,
    derived_names,
    host_names,
    service_names,
    split_aliases,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("image", "derived"),
    [
        ("docker:dind", ("docker",)),
        ("docker:29.7.2-dind", ("docker",)),
        ("docker", ("docker",)),
        ("tutum/wordpress", ("tutum__wordpress", "tutum-wordpress")),
        ("tutum/wordpress:latest", ("tutum__wordpress", "tutum-wordpress")),
        # the registry's port is dropped, its host kept (services.go:19, 42-49)
        (
            "registry.example.com:5000/group/img:1.0",
            ("registry.example.com__group__img", "registry.example.com-group-img"),
        ),
        ("localhost:5000/dind", ("localhost__dind", "localhost-dind")),
        (f"postgres@{DIGEST}", ("postgres",)),
        (f"postgres:16@{DIGEST}", ("postgres",)),
        ("mysql-server:8", ("mysql-server",)),
        # not a reference: no derived name at all (services.go:30-34)
        ("Docker:dind", ()),
        ("postgres@sha256:abc", ()),
        ("$DIND_IMAGE", ()),
        ("", ()),
    ],
)
def test_derived_names(image: str, derived: tuple[str, ...]) -> None:
    assert derived_names(image) == derived


@pytest.mark.parametrize(
    ("alias", "aliases"),
    [
        (None, ()),
        ("", ()),
        ("docker", ("docker",)),
        ("docker,dind", ("docker", "dind")),
        ("docker, dind  engine", ("docker", "dind", "engine")),
        (" , ", ()),
    ],
)
def test_aliases_split_on_commas_and_white_space(alias: str | None, aliases: tuple[str, ...]) -> None:
    assert split_aliases(alias) == aliases


def test_docker_executor_gives_derived_names_then_aliases() -> None:
    # services.go:141-144: the aliases are appended to the derived names, not put in their place
    assert host_names("docker:29.7.2-dind", "dind-engine") == ("docker", "dind-engine")
    assert host_names("tutum/wordpress", "wp,tutum-wordpress") == (
        "tutum__wordpress",
        "tutum-wordpress",
        "wp",
    )


def test_kubernetes_keeps_only_dns1123_derived_names() -> None:
    # host_aliases.go:63-71: a derived name that is no DNS-1123 subdomain is left out
    assert host_names("tutum/wordpress", "wp", kubernetes=True) == ("tutum-wordpress", "wp")
    assert host_names("docker:dind", kubernetes=True) == ("docker",)


def test_a_name_outside_the_grammar_is_not_valid() -> None:
    names = service_names("Docker:dind", "docker")
    assert not names.valid  # the Docker executor fails with "invalid service image name"
    assert names.aliases == ("docker",)


def test_assign_skips_a_service_whose_names_are_all_taken() -> None:
    # services.go:146-150: "Service ... is already created. Ignoring." per taken name
    got = assign(
        [("docker:dind", None), ("docker:29-dind", None), ("docker:29-dind", "second"), ("Bad", None)]
    )
    assert got == (("docker",), (), ("docker", "second"), ())


def test_answers_to() -> None:
    services = [("registry.example.com/library/docker:29-dind", None), ("redis:7", "cache")]
    assert answers_to("registry.example.com-library-docker", services)
    assert answers_to("cache", services) and answers_to("redis", services)
    assert not answers_to("docker", services)
