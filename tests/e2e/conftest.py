"""End-to-end fixtures: the real engine, the stand-in images, the local registry.

``testbed`` (session) prepares the stand-ins (cached: seconds when warm) and the registry; it stops
the registry and the docker_host daemon at the end when this session started them. ``leak_check``
asserts after each test that nothing the test's runs created is left: containers, networks and
volumes labelled with their run ids, and the anonymous volumes those containers mounted (dind's
``/var/lib/docker``), found through the engine's event log so other users of the engine don't
disturb the check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from buildrig import engine
from buildrig.registryinfo import RegistryInfo
from buildrig.testbed import dockerhost, registry
from buildrig.testbed.prepare import prepare
from buildrig.trial import TrialOptions, TrialResult, Way, trial_way

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "hello"

pytestmark = [pytest.mark.engine, pytest.mark.slow]


@pytest.fixture(scope="session")
def cli() -> Any:
    return engine.client(timeout=600)


@pytest.fixture(scope="session")
def testbed(cli: Any) -> Iterator[RegistryInfo]:
    was_running = registry.current() is not None
    prepare(offline=True)
    info = registry.current()
    assert info is not None, "the registry should run after images prepare"
    yield info
    dockerhost.stop()
    if not was_running:
        registry.stop()


class Runs:
    """Run ids of the trials a test made (for the leak check)."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def add(self, res: TrialResult) -> TrialResult:
        if res.run is not None:
            self.ids.append(res.run.run_id)
        return res


@pytest.fixture
def runs(cli: Any) -> Iterator[Runs]:
    r = Runs()
    since = int(time.time()) - 1
    yield r
    until = int(time.time()) + 1
    leftovers: list[str] = []
    for run_id in r.ids:
        flt = {"label": f"buildrig.run={run_id}"}
        leftovers += [f"container {c.name}" for c in cli.containers.list(all=True, filters=flt)]
        leftovers += [f"network {n.name}" for n in cli.networks.list(filters=flt)]
        leftovers += [f"volume {v.name}" for v in cli.volumes.list(filters=flt)]
    ours: set[str] = set()
    mounted: set[str] = set()
    if r.ids:
        for ev in cli.events(since=since, until=until, decode=True):
            attrs = (ev.get("Actor") or {}).get("Attributes") or {}
            if ev.get("Type") == "container" and attrs.get("buildrig.run") in r.ids:
                ours.add((ev.get("Actor") or {}).get("ID", ""))
            elif ev.get("Type") == "volume" and ev.get("Action") == "mount":
                mounted.add(f"{attrs.get('container')} {(ev.get('Actor') or {}).get('ID')}")
    existing = {v.name for v in cli.volumes.list()}
    for pair in mounted:
        cid, vol = pair.split(" ", 1)
        if cid in ours and vol in existing and len(vol) == 64:
            leftovers.append(f"anonymous volume {vol} (of container {cid[:12]})")
    assert not leftovers, f"left behind: {leftovers}"


def _remove_e2e_images(cli: Any, info: RegistryInfo) -> None:
    """The shell and docker_sock ways build on the host daemon: their tags are this suite's to remove.

    Left behind, they would keep the example's layers in the host's cache and make a later "cold"
    build (buildrig bench) a cached one.
    """
    registry.remove_local_images(cli, (f"{info.host}/e2e/",))


@pytest.fixture
def trial(
    testbed: RegistryInfo, tmp_path: Path, runs: Runs, cli: Any
) -> Iterator[Callable[..., TrialResult]]:
    """Run one way on a scratch copy of examples/hello (the docker_host daemon stays up for reuse)."""

    def go(way: Way, project: Path = HELLO) -> TrialResult:
        opts = TrialOptions(project=project, namespace="e2e", keep_scratch=True, scratch_root=tmp_path,
                            keep_daemon=True)
        return runs.add(trial_way(way, opts, testbed, tmp_path))

    yield go
    _remove_e2e_images(cli, testbed)
