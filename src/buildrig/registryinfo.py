"""The registry jobs push to, as a value: shared by ``run`` (which hands it to jobs as
``CI_REGISTRY``) and the test bed (which starts one), so neither imports the other for it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RegistryInfo:
    """The registry jobs see as ``CI_REGISTRY`` (the testbed's local one, or a real one).

    ``host`` is ``name[:port]`` as jobs reach it. When ``address`` is set, every job and service
    container gets an ``extra_hosts`` entry mapping the name part of ``host`` to it.
    """

    host: str
    user: str
    password: str
    ca_path: Path | None = None
    address: str | None = None
    namespace: str | None = None  # overrides the project namespace in CI_REGISTRY_IMAGE
