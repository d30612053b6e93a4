"""Every pinned image version buildrig generates, in one place: a bump is one edit here.

The docker CLI and dind images share one version on purpose: Docker 29 daemons refuse clients
older than API 1.44, so the two must move in lockstep.
"""

from __future__ import annotations

DOCKER_VERSION = "29.7.2"
DOCKER_CLI_IMAGE = f"docker:{DOCKER_VERSION}-cli"
DOCKER_DIND_IMAGE = f"docker:{DOCKER_VERSION}-dind"
# Minimum API a Docker 29 daemon accepts (Docker 25).
DOCKER_MIN_API = "1.44"

KANIKO_VERSION = "v1.27.2"
KANIKO_IMAGE = f"ghcr.io/osscontainertools/kaniko:{KANIKO_VERSION}-debug"

BUILDAH_VERSION = "v1.41.5"
BUILDAH_IMAGE = f"quay.io/buildah/stable:{BUILDAH_VERSION}"

BUILDKIT_VERSION = "v0.25.2"
BUILDKIT_IMAGE = f"moby/buildkit:{BUILDKIT_VERSION}-rootless"
