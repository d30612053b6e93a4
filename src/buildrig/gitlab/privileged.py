"""Whether the Docker executor starts a container privileged (read at GitLab Runner v17.9.3).

- the job container: ``privileged`` and, when ``allowed_privileged_images`` lists patterns, the
  job's image matching one of them (executors/docker/docker.go:778 and 535-538);
- a service: ``services_privileged`` when set, else ``privileged``, and, when
  ``allowed_privileged_services`` lists patterns, the service's image matching one
  (docker.go:366-370 and 284-286).

The patterns are matched with doublestar against the image name as the job wrote it, after
expansion (docker.go:271-282; :func:`~buildrig.gitlab.imageref.glob_match`); an empty list allows
every image.
"""

from __future__ import annotations

from collections.abc import Sequence

from buildrig.gitlab.imageref import glob_match
from buildrig.gitlab.model import DockerSection


def allowed(image: str, patterns: Sequence[str]) -> bool:
    return not patterns or any(glob_match(p, image) for p in patterns)


def job_privileged(docker: DockerSection, image: str) -> bool:
    return docker.privileged and allowed(image, docker.allowed_privileged_images)


def service_privileged(docker: DockerSection, image: str) -> bool:
    on = docker.privileged if docker.services_privileged is None else docker.services_privileged
    return on and allowed(image, docker.allowed_privileged_services)
