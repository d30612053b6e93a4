"""The docker executor's use of the runner model, without an engine: the binds it asks for and
the services it starts (names, privileges), recorded from a stand-in API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from buildrig.errors import Loc
from buildrig.gitlab.model import DockerSection, Job, ServiceSpec, Variable
from buildrig.run.cleanup import Tracker
from buildrig.run.docker_executor import DockerExecutor
from buildrig.run.executor import JobError
from buildrig.run.log import JobLog
from buildrig.run.variables import GitInfo, JobVariables, Masker, Project, new_context, resolve


class _Api:
    def __init__(self) -> None:
        self.volumes: list[str] = []

    def create_volume(self, name: str, labels: dict[str, str]) -> None:
        self.volumes.append(name)


def _executor(docker: DockerSection) -> tuple[DockerExecutor, _Api]:
    api = _Api()
    git = GitInfo("0" * 40, "main", "main", None, "m", "a <a@b>", "2026-01-01T00:00:00Z", None)
    ctx = new_context(
        "r1",
        Project(Path("."), "g", "p", "https://gitlab.example.com"),
        git,
        None,
        "docker",
        "runner",
        (),
        "/builds",
    )
    ex = DockerExecutor(
        api,
        ctx,
        docker,
        tracker=Tracker(api, "r1"),
        overrides={},  # type: ignore[arg-type]
        default_pull_policy=("never",),
        network_per_build=False,
    )
    return ex, api


def _log() -> JobLog:
    return JobLog("job", Masker([]), None)


def test_binds_follow_the_runner_grammar() -> None:
    ex, api = _executor(DockerSection(volumes=("/cache:ro", "/srv:/srv:ro:z", "builds:/builds", "")))
    binds = ex._binds(_log())
    assert binds[0] == f"{api.volumes[0]}:/cache"  # a cache volume is mounted read-write
    assert binds[1:] == ["/srv:/srv:ro,z", "builds:/builds"]


def test_an_invalid_volume_fails_the_job() -> None:
    ex, _ = _executor(DockerSection(volumes=("/srv:/srv:delegated",)))
    with pytest.raises(JobError, match='invalid volume specification: "/srv:/srv:delegated"'):
        ex._binds(_log())


def test_disable_cache_skips_cache_volumes_with_the_runner_warning() -> None:
    ex, api = _executor(DockerSection(volumes=("/cache", "/srv:/srv"), disable_cache=True))
    log = _log()
    assert ex._binds(log) == ["/srv:/srv"]
    assert api.volumes == []
    assert any("cache volumes creation is disabled" in line.text for line in log.lines)


def _start(
    docker: DockerSection, services: tuple[ServiceSpec, ...], jv: JobVariables
) -> list[dict[str, Any]]:
    ex, _ = _executor(docker)
    made: list[dict[str, Any]] = []

    def container(fallback: bool, **kw: Any) -> str:
        made.append(kw)
        return f"c{len(made)}"

    ex._container = container  # type: ignore[method-assign]
    ex._start = lambda log, privileged, create, *a: create(False)  # type: ignore[method-assign,assignment]
    ex.resolve_image = lambda name, policies, log: name  # type: ignore[method-assign]
    job = Job("j", "build", Loc("x", 1), services=services)
    ex._start_services(services, job, 0, jv, _log(), "net", [])
    return made


def test_services_get_derived_names_and_aliases_and_expanded_names() -> None:
    jv = resolve([[Variable("DIND", "docker:29.7.2-dind"), Variable("ALIAS", "engine")]])
    made = _start(
        DockerSection(privileged=True, wait_for_services_timeout=-1),
        (ServiceSpec("$DIND", alias="$ALIAS, dind"), ServiceSpec("tutum/wordpress")),
        jv,
    )
    assert [m["aliases"] for m in made] == [
        ["docker", "engine", "dind"],
        ["tutum__wordpress", "tutum-wordpress"],
    ]
    assert made[0]["image"] == "docker:29.7.2-dind"


def test_a_service_whose_names_are_taken_is_not_started() -> None:
    made = _start(
        DockerSection(wait_for_services_timeout=-1),
        (ServiceSpec("docker:dind"), ServiceSpec("docker:29-dind")),
        resolve([]),
    )
    assert len(made) == 1


def test_an_invalid_service_name_with_an_alias_fails_the_job() -> None:
    with pytest.raises(JobError, match="invalid service image name: Docker:dind"):
        _start(
            DockerSection(wait_for_services_timeout=-1),
            (ServiceSpec("Docker:dind", alias="docker"),),
            resolve([]),
        )


def test_allowed_privileged_services_limit_privileged_services() -> None:
    made = _start(
        DockerSection(
            privileged=True, allowed_privileged_services=("docker:*-dind",), wait_for_services_timeout=-1
        ),
        (ServiceSpec("docker:29.7.2-dind"), ServiceSpec("redis:7")),
        resolve([]),
    )
    assert [m["privileged"] for m in made] == [True, False]


def test_release_removes_the_job_and_its_services_side_by_side() -> None:
    """GitLab Runner's Cleanup removes every container in its own goroutine; so does the release:
    two removals that each wait for the other only finish when they run at the same time."""
    import threading

    from docker.errors import APIError

    ex, _api = _executor(DockerSection())
    met = threading.Barrier(2, timeout=5)
    removed: list[str] = []

    class _Tracker:
        def remove_container(self, cid: str) -> None:
            if cid == "broken":
                raise APIError("removal failed")
            met.wait()  # raises BrokenBarrierError when the other removal never starts
            removed.append(cid)

    ex.tracker = _Tracker()  # type: ignore[assignment]
    ex._release(["job", "broken", "service"], None, None)
    assert sorted(removed) == ["job", "service"]


def test_links_name_every_service_name_its_short_id_and_every_address() -> None:
    ex, api = _executor(DockerSection())
    nets = {"bridge": {"IPAddress": "172.17.0.3", "GlobalIPv6Address": "fd00::3"}}
    api.inspect_container = lambda cid: {"NetworkSettings": {"Networks": nets}}  # type: ignore[attr-defined]
    cid = "0123456789abcdef" * 4
    links = ex._links([(cid, ["docker", "docker-dind"])])
    assert links == [
        "docker:172.17.0.3", "docker:fd00::3",
        "docker-dind:172.17.0.3", "docker-dind:fd00::3",
        "0123456789ab:172.17.0.3", "0123456789ab:fd00::3",
    ]


def test_services_already_up_are_the_jobs_when_a_later_one_fails() -> None:
    """A service that fails to start ends the job; the ones started before it are in the job's
    list by then, so the job's release removes them with it, not the run's end."""
    ex, _ = _executor(DockerSection())
    made: list[str] = []

    def container(fallback: bool, **kw: Any) -> str:
        if made:
            raise JobError("second service refused")
        made.append("c1")
        return "c1"

    ex._container = container  # type: ignore[method-assign]
    ex._start = lambda log, privileged, create, *a: create(False)  # type: ignore[method-assign,assignment]
    ex.resolve_image = lambda name, policies, log: name  # type: ignore[method-assign]
    services = (ServiceSpec("redis:7"), ServiceSpec("postgres:16"))
    created: list[str] = []
    with pytest.raises(JobError):
        ex._start_services(services, Job("j", "build", Loc("x", 1), services=services),
                           0, resolve([]), _log(), None, [], created)
    assert created == ["c1"]
