"""Every pinned image version buildrig generates, in one place: a bump is one edit here.

The docker CLI and dind images share one version on purpose: Docker 29 daemons refuse clients
older than API 1.44, so the two must move in lockstep.

Where each pin was checked (2026-11):

- Docker 29.7.2: docker-library/official-images PR #22007 (2026-08-06, "Update 29 to 29.7.2");
  29 is the only maintained line (27.x and 28.x were dropped).
- kaniko v1.28.0: the maintained fork osscontainertools/kaniko, PR #846 "release v1.28.0"
  (Google's GoogleContainerTools/kaniko was archived 2025-06-03).
- buildah v1.45.0: containers/buildah.io PR #129 "Buildah v1.45.0 Release Announcement"
  (2026-08-04), images on quay.io/buildah/stable.
- BuildKit v0.33.0: moby/moby PR #53554 "vendor: update buildkit to v0.33.0" (2026-09-02).
"""

from __future__ import annotations

DOCKER_VERSION = "29.7.2"
DOCKER_CLI_IMAGE = f"docker:{DOCKER_VERSION}-cli"
DOCKER_DIND_IMAGE = f"docker:{DOCKER_VERSION}-dind"
# Minimum API a Docker 29 daemon accepts (Docker 25).
DOCKER_MIN_API = "1.44"

KANIKO_VERSION = "v1.28.0"
KANIKO_IMAGE = f"ghcr.io/osscontainertools/kaniko:{KANIKO_VERSION}-debug"

BUILDAH_VERSION = "v1.45.0"
BUILDAH_IMAGE = f"quay.io/buildah/stable:{BUILDAH_VERSION}"

BUILDKIT_VERSION = "v0.33.0"
BUILDKIT_IMAGE = f"moby/buildkit:{BUILDKIT_VERSION}-rootless"

ALL_IMAGES: tuple[str, ...] = (
    DOCKER_CLI_IMAGE,
    DOCKER_DIND_IMAGE,
    KANIKO_IMAGE,
    BUILDAH_IMAGE,
    BUILDKIT_IMAGE,
)
