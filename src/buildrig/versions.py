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
- BuildKit v0.34.2: the newest moby/buildkit tag the Go module proxy served on 2026-12-06 (v0.33.0
  was pinned before; v0.34.2 builds here with Go 1.26.8, which its go.mod requires).
- buildx v0.38.2: the newest docker/buildx tag the Go module proxy served on 2026-12-06.

The offline test bed builds kaniko, BuildKit and buildx from these Go modules
(``testbed/gotools.py``). The kaniko fork is the exception: the Go module proxy reachable from the
project's machines refuses every version of ``github.com/osscontainertools/kaniko`` (403 "This
module version is not available", for .info, .mod and .zip alike, 2026-12-06), so its stand-in runs
the last release of the archived upstream module, ``github.com/GoogleContainerTools/kaniko``
v1.24.0, and says so. The generated jobs keep the maintained fork's image.
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

# The module the kaniko stand-in is built from (see above for why it is not the fork).
KANIKO_STANDIN_MODULE = "github.com/GoogleContainerTools/kaniko"
KANIKO_STANDIN_VERSION = "v1.24.0"
#: The image without a shell (a job cannot run in it); the stand-in exists for doctor's twin.
KANIKO_PLAIN_IMAGE = f"ghcr.io/osscontainertools/kaniko:{KANIKO_VERSION}"

BUILDKIT_VERSION = "v0.34.2"
BUILDKIT_IMAGE = f"moby/buildkit:{BUILDKIT_VERSION}-rootless"

#: The docker CLI plugin the docker:29 CLI image ships (BuildKit for ``docker build``).
BUILDX_VERSION = "v0.38.2"

ALL_IMAGES: tuple[str, ...] = (
    DOCKER_CLI_IMAGE,
    DOCKER_DIND_IMAGE,
    KANIKO_IMAGE,
    BUILDAH_IMAGE,
    BUILDKIT_IMAGE,
)
