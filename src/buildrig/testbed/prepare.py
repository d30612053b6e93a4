"""``buildrig images prepare``: start the test bed registry, build (or reuse) every stand-in of
:mod:`buildrig.testbed.images`, push the base image, and write the image-override map.

It sits above both :mod:`~buildrig.testbed.images` (the recipes and how one image is built) and
:mod:`~buildrig.testbed.registry` (which builds its own stand-in through ``images``), so neither
of those imports the other back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from buildrig.engine import client as engine_client
from buildrig.errors import BuildrigError
from buildrig.fsutil import atomic_write
from buildrig.testbed import images, registry
from buildrig.testbed.images import PreparedImage, Progress

if TYPE_CHECKING:
    from docker import DockerClient


@dataclass(frozen=True)
class PrepareResult:
    images: tuple[PreparedImage, ...]
    skipped: tuple[tuple[str, str], ...]
    overrides: Mapping[str, str]
    base_pushed: str | None
    seconds: float



def _tag_base_on_host(cli: DockerClient, tag: str) -> None:
    """Make ``FROM python:...`` resolve on the host daemon without a registry.

    Only when the name is free or already ours: a real image the user pulled is never replaced.
    """
    from docker.errors import ImageNotFound

    try:
        existing = cli.images.get(images.BASE_IMAGE)
    except ImageNotFound:
        existing = None
    if existing is not None and (existing.labels or {}).get(images.LABEL_STANDIN) is None:
        return
    repo, t = images.BASE_IMAGE.rsplit(":", 1)
    cli.images.get(tag).tag(repo, t)


def prepare(*, offline: bool = True, progress: Progress | None = None, docker_host: str | None = None,
            parallel: int = 2) -> PrepareResult:
    """Build or reuse every stand-in, start the registry if needed, push the base image to it."""
    say: Progress = progress or (lambda _m: None)
    if not offline:
        raise BuildrigError(
            "only offline preparation is implemented: images are otherwise pulled when a job needs "
            "them; use `buildrig images prepare --offline` on machines without a registry"
        )
    start = time.monotonic()
    cli = engine_client(docker_host, timeout=600)
    info = registry.ensure_started(progress=say, docker_host=docker_host)
    ca = Path(info.ca_path or "").read_bytes()
    tools, skipped = images.build_go_tools(say)
    todo = images.recipes(ca, tools)
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        done = list(pool.map(lambda r: images.ensure(cli, r, say), todo))
    by_role = {p.role: p for p in done}
    mapping: dict[str, str] = {}
    for p in done:
        for real in p.replaces:
            mapping[real] = p.tag
    images.remove_stale(cli, [*todo, images.registry_recipe()])
    base = by_role["python-base"]
    _tag_base_on_host(cli, base.tag)
    pushed = registry.push_local_image(cli, base.tag, f"library/{images.BASE_IMAGE}", info)
    atomic_write(
        images.images_state(),
        json.dumps({"version": 1, "overrides": mapping, "base": {images.BASE_IMAGE: base.tag},
                    "skipped": [list(s) for s in skipped]}, indent=2) + "\n",
    )
    return PrepareResult(tuple(done), skipped, MappingProxyType(mapping), pushed, time.monotonic() - start)


