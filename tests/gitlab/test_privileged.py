"""Privileged job and service containers on the Docker executor (executors/docker/docker.go:271-286,
366-370 and 778 at GitLab Runner v17.9.3)."""

from __future__ import annotations

import pytest

from buildrig.gitlab.model import DockerSection
from buildrig.gitlab.privileged import job_privileged, service_privileged


@pytest.mark.parametrize(
    ("docker", "image", "job", "service"),
    [
        (DockerSection(), "docker:29-dind", False, False),
        (DockerSection(privileged=True), "docker:29-dind", True, True),
        (DockerSection(privileged=True, services_privileged=False), "docker:29-dind", True, False),
        (DockerSection(privileged=False, services_privileged=True), "docker:29-dind", False, True),
        (
            DockerSection(privileged=True, allowed_privileged_services=("docker:*-dind",)),
            "docker:29-dind",
            True,
            True,
        ),
        (
            DockerSection(privileged=True, allowed_privileged_services=("docker:*-dind",)),
            "redis:7",
            True,
            False,
        ),
        # matched as written: the docker.io spelling is another name to doublestar
        (
            DockerSection(privileged=True, allowed_privileged_services=("docker:*",)),
            "docker.io/library/docker:29-dind",
            True,
            False,
        ),
        (DockerSection(privileged=True, allowed_privileged_images=("docker:*",)), "alpine:3", False, True),
    ],
)
def test_privileged(docker: DockerSection, image: str, job: bool, service: bool) -> None:
    assert job_privileged(docker, image) is job
    assert service_privileged(docker, image) is service
