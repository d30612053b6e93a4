"""What the well-known images and GitLab Runner do on their own (doctor/facts.py)."""

from __future__ import annotations

import pytest

from buildrig.doctor import facts as F
from buildrig.engine_versions import CURRENT as CURRENT_RELEASE
from buildrig.errors import Loc
from buildrig.gitlab.model import DockerSection as D
from buildrig.gitlab.model import KubernetesSection, KubeVolume, Runner, ServiceSpec


@pytest.mark.parametrize(
    ("image", "aliases"),
    [
        ("docker:29.7.2-dind", ("docker",)),
        ("docker", ("docker",)),
        (
            "registry.hub.docker.com/library/docker:24.0.5-dind",
            ("registry.hub.docker.com__library__docker", "registry.hub.docker.com-library-docker"),
        ),
        (
            "registry.example.com:4999/valkey/valkey:7",
            ("registry.example.com__valkey__valkey", "registry.example.com-valkey-valkey"),
        ),
        ("tutum/wordpress:latest", ("tutum__wordpress", "tutum-wordpress")),
        ("postgres@sha256:" + "a" * 64, ("postgres",)),
        ("postgres@sha256:abc", ()),  # no digest (32+ hex digits): not a reference, no names
    ],
)
def test_service_aliases_follow_gitlab_runner(image: str, aliases: tuple[str, ...]) -> None:
    assert F.service_aliases(ServiceSpec(name=image)) == aliases


def test_aliases_join_the_derived_names_and_may_list_several() -> None:
    # executors/docker/services.go:141-144 (v17.9.3): the aliases are appended to the derived names
    names = F.service_aliases(ServiceSpec(name="docker:dind", alias="dockerd, dind"))
    assert names == ("docker", "dockerd", "dind")
    assert F.service_aliases(ServiceSpec(name="tutum/wordpress", alias="wp"), kubernetes=True) == (
        "tutum-wordpress",
        "wp",
    )


CURRENT = CURRENT_RELEASE[0]


@pytest.mark.parametrize(
    ("image", "dind", "floating", "major"),
    [
        ("docker:29.7.2-dind", True, False, 29),
        ("docker:29.7.2-cli", False, False, 29),
        ("docker:24.0.5", True, False, 24),
        ("docker:dind", True, True, CURRENT),
        ("docker:latest", True, True, CURRENT),
        ("docker:cli", False, True, CURRENT),
        ("docker:29-dind", True, True, 29),
        ("docker:dind-rootless", True, True, CURRENT),
        ("docker:stable", True, True, 19),  # frozen at 19.03.14 (engine_versions)
        ("docker:git", True, True, 25),
        ("docker@sha256:0123", True, False, None),
        ("mirror.example.com/library/docker:27.4.1-dind", True, False, 27),
    ],
)
def test_docker_image_tags(image: str, dind: bool, floating: bool, major: int | None) -> None:
    assert F.is_dind_image(image) is dind
    assert F.is_floating_docker_tag(image) is floating
    assert F.docker_major(image) == major


def test_docker_stable_is_19_03() -> None:
    assert F.docker_version("docker:stable-dind") == (19, 3)


@pytest.mark.parametrize(
    ("value", "scheme", "host", "port", "loopback"),
    [
        ("tcp://docker:2376", "tcp", "docker", 2376, False),
        ("tcp://10.0.0.5", "tcp", "10.0.0.5", 2375, False),
        ("10.0.0.5:2376", "tcp", "10.0.0.5", 2376, False),
        ("tcp://localhost:2375", "tcp", "localhost", 2375, True),
        ("tcp://127.0.0.2:2375", "tcp", "127.0.0.2", 2375, True),
        ("unix:///var/run/docker.sock", "unix", None, None, False),
    ],
)
def test_parse_endpoint(value: str, scheme: str, host: str | None, port: int | None, loopback: bool) -> None:
    ep = F.parse_endpoint(value)
    assert ep is not None and (ep.scheme, ep.host, ep.port, ep.is_loopback) == (scheme, host, port, loopback)


def test_unexpanded_endpoint_is_unknown() -> None:
    assert F.parse_endpoint("tcp://$HOST:2376") is None
    assert F.parse_endpoint("") is None


def _docker_runner(**kw: object) -> Runner:
    return Runner(name="r", executor="docker", loc=Loc("config.toml", 1), docker=D(**kw))  # type: ignore[arg-type]


def test_privileged_for_service() -> None:
    dind = ServiceSpec(name="docker:29.7.2-dind")
    assert F.privileged_for_service(_docker_runner(privileged=True), dind) is True
    assert F.privileged_for_service(_docker_runner(privileged=False), dind) is False
    assert F.privileged_for_service(_docker_runner(privileged=True, services_privileged=False), dind) is False
    assert F.privileged_for_service(_docker_runner(privileged=False, services_privileged=True), dind) is True
    only_rootless = _docker_runner(privileged=True, allowed_privileged_services=("docker:*-dind-rootless",))
    assert F.privileged_for_service(only_rootless, dind) is False
    assert F.privileged_for_service(only_rootless, ServiceSpec(name="docker:29.7.2-dind-rootless")) is True
    kube = Runner(
        name="k", executor="kubernetes", loc=Loc("c", 1), kubernetes=KubernetesSection(privileged=True)
    )
    assert F.privileged_for_service(kube, dind) is True
    assert F.privileged_for_service(Runner(name="s", executor="shell", loc=Loc("c", 1)), dind) is None


def test_shared_paths_cover_subdirectories() -> None:
    r = _docker_runner(volumes=("/certs", "/srv/cache:/cache:rw"))
    assert F.shares_path(r, "/certs/client") and F.shares_path(r, "/cache/x")
    assert not F.shares_path(r, "/certsx/client")
    kube = Runner(
        name="k",
        executor="kubernetes",
        loc=Loc("c", 1),
        kubernetes=KubernetesSection(
            volumes=(KubeVolume(kind="empty_dir", name="c", mount_path="/certs/client"),)
        ),
    )
    assert F.shares_path(kube, "/certs/client")


def test_dockerd_entrypoint_default_arguments() -> None:
    assert F.passes_default_args(ServiceSpec(name="d"))
    assert F.passes_default_args(ServiceSpec(name="d", command=("--mtu=1360", "--dns=10.0.0.2")))
    assert F.passes_default_args(
        ServiceSpec(name="d", entrypoint=("env", "-u", "DOCKER_HOST"), command=("dockerd-entrypoint.sh",))
    )
    assert not F.passes_default_args(ServiceSpec(name="d", command=("dockerd", "-H", "tcp://0.0.0.0:2375")))


def test_daemon_wait_loops_are_recognised() -> None:
    from buildrig.gitlab.model import Job

    def lines(*script: str) -> tuple[F.Line, ...]:
        return F.script_lines(Job(name="j", stage="test", loc=Loc("x", 1), before_script=script))

    assert F.waits_for_daemon(lines("until docker info; do sleep 1; done"))
    assert F.waits_for_daemon(lines("for i in $(seq 1 30); do docker info && break; sleep 1; done"))
    assert not F.waits_for_daemon(lines("docker info"))


def test_kubernetes_service_security_context_overrides_privileged() -> None:
    dind = ServiceSpec(name="docker:29.7.2-dind")

    def kube(privileged: bool, raw: dict[str, object]) -> Runner:
        return Runner(
            name="k",
            executor="kubernetes",
            loc=Loc("c", 1),
            kubernetes=KubernetesSection(privileged=privileged, raw=raw),
        )

    assert F.privileged_for_service(
        kube(False, {"service_container_security_context": {"privileged": True}}), dind
    )
    assert not F.privileged_for_service(
        kube(True, {"service_container_security_context": {"privileged": False}}), dind
    )
