"""Everything a run creates is labelled and removed: on success, failure, Ctrl-C and SIGTERM.

:class:`Tracker` remembers what this process created so removal needs no listing; a final sweep by
the run's label catches anything created between an API call and its bookkeeping. :func:`gc`
removes what dead runs left behind (a ``kill -9``, a crash of the engine connection).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from buildrig.engine import LABEL, LABEL_CACHE_SCOPE, LABEL_KEPT, LABEL_PID, LABEL_ROLE, LABEL_RUN

if TYPE_CHECKING:
    from docker import APIClient

#: Roles of objects ``buildrig run`` creates (``gc`` only touches these unless asked otherwise;
#: the testbed's registry and daemons outlive the process that started them on purpose).
RUN_ROLES = ("job", "service", "network", "volume", "cache")


class Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler so ``finally`` blocks clean up."""


@dataclass
class Tracker:
    api: APIClient
    run_id: str

    def __post_init__(self) -> None:
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.volumes: list[str] = []

    def remove_container(self, cid: str) -> None:
        from docker.errors import APIError, NotFound

        # Another thread's removal (a job's release cut short by Ctrl-C) makes the engine answer
        # "already in progress": try again until it is gone, or the network and volumes after it
        # would still be in use; a removal that failed there is retried here.
        deadline = time.monotonic() + 30
        with contextlib.suppress(NotFound):
            while True:
                try:
                    self.api.remove_container(cid, v=True, force=True)
                    break
                except APIError as exc:
                    if "already in progress" not in str(exc):
                        raise
                    if time.monotonic() >= deadline:
                        raise APIError(f"container {cid[:12]} is still being removed after 30 s") from None
                time.sleep(0.1)
        with contextlib.suppress(ValueError):
            self.containers.remove(cid)

    def remove_network(self, nid: str) -> None:
        """Remove a job's network, force-removing first whatever is still attached to it (a
        container the job started through a mounted socket), as the runner's cleanupNetwork does
        (executors/docker/docker.go)."""
        from docker.errors import NotFound

        with contextlib.suppress(NotFound):
            for cid in self.api.inspect_network(nid).get("Containers") or {}:
                self.remove_container(cid)
            self.api.remove_network(nid)
        with contextlib.suppress(ValueError):
            self.networks.remove(nid)

    def cleanup(self, *, sweep: bool = False) -> list[str]:
        """Remove everything tracked (and, with ``sweep``, everything labelled with this run).

        Returns one line per object that could not be removed (empty when all went).
        """
        from docker.errors import APIError, NotFound

        problems: list[str] = []
        cids = list(self.containers)
        nets = list(self.networks)
        vols = list(self.volumes)
        if sweep:
            flt = {"label": f"{LABEL_RUN}={self.run_id}"}
            with contextlib.suppress(APIError):
                cids += [c["Id"] for c in self.api.containers(all=True, filters=flt) if c["Id"] not in cids]
                nets += [n["Id"] for n in self.api.networks(filters=flt) if n["Id"] not in nets]
                vols += [
                    v["Name"]
                    for v in (self.api.volumes(filters=flt).get("Volumes") or [])
                    if v["Name"] not in vols
                ]
        for cid in cids:
            try:
                self.remove_container(cid)
            except APIError as exc:
                problems.append(f"container {cid[:12]}: {exc}")
        for nid in nets:
            try:
                self.remove_network(nid)
            except APIError as exc:
                problems.append(f"network {nid[:12]}: {exc}")
        for name in vols:
            try:
                self.api.remove_volume(name, force=True)
            except NotFound:
                pass
            except APIError as exc:
                problems.append(f"volume {name}: {exc}")
        self.containers.clear()
        self.networks.clear()
        self.volumes.clear()
        return problems


@contextlib.contextmanager
def terminate_raises(install: bool = True) -> Iterator[None]:
    """While active, SIGTERM raises :class:`Terminated` in the main thread (SIGINT already raises
    KeyboardInterrupt). The previous handlers come back afterwards."""
    if not install or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise Terminated("SIGTERM")

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def signals_deferred(install: bool = True) -> Iterator[None]:
    """Ignore SIGINT/SIGTERM while cleaning up, so a second Ctrl-C can't leave objects behind."""
    if not install or threading.current_thread() is not threading.main_thread():
        yield
        return
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    old_term = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def _alive(pid_text: str | None) -> bool:
    try:
        pid = int(pid_text or "")
    except ValueError:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def project_scope(project_dir: Path, runner_config: Path | None, runner_name: str | None) -> str:
    """The cache scope of a project on one runner entry: GitLab Runner names its cache volumes by
    runner token and project (runner-<token>-project-<id>-...), so two projects, or one project on
    two runners, never share one."""
    import hashlib

    key = "\0".join(
        (str(project_dir.resolve()), str(runner_config.resolve()) if runner_config else "", runner_name or "")
    )
    return "p" + hashlib.sha1(key.encode()).hexdigest()[:12]


@contextlib.contextmanager
def cache_slot(scope: str, slots: int = 64) -> Iterator[str]:
    """``scope`` with the lowest concurrent slot no other process holds, held until the block ends.

    GitLab Runner gives each running job of a project the lowest slot free on that runner
    (ProjectRunnerID, commands/builds_helper.go) and names the cache volume after it, so two jobs
    running at once never share a dind or BuildKit store; a lock file per slot does that here.
    """
    import fcntl

    from buildrig.errors import InputError
    from buildrig.paths import state_dir

    locks = state_dir() / "cache-slots"
    try:
        locks.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{locks}: cannot hold a kept cache's slot: {exc.strerror or exc}") from None
    for n in range(slots):
        path = locks / f"{scope}-{n}.lock"
        try:
            fh = path.open("a")
        except OSError as exc:
            raise InputError(f"{path}: cannot hold a kept cache's slot: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            continue
        except OSError as exc:
            fh.close()
            raise InputError(f"{path}: cannot lock a kept cache's slot: {exc.strerror or exc}") from None
        try:
            yield f"{scope}-{n}"
        finally:
            fh.close()
        return
    raise InputError(f"{slots} runs of this project already hold a kept cache ({locks})")


def remove_cache(api: APIClient, scope: str) -> list[str]:
    """Remove the cache volumes kept for ``scope`` (RunOptions.cache_scope); returns one line per
    volume that could not be removed."""
    from docker.errors import APIError, NotFound

    problems: list[str] = []
    flt = {"label": f"{LABEL_CACHE_SCOPE}={scope}"}
    for v in api.volumes(filters=flt).get("Volumes") or []:
        try:
            api.remove_volume(v["Name"], force=True)
        except NotFound:
            pass
        except APIError as exc:
            problems.append(f"volume {v['Name']}: {exc}")
    return problems


@dataclass(frozen=True)
class GcItem:
    kind: str  # container | network | volume
    name: str
    run_id: str
    role: str
    removed: bool
    problem: str | None = None


def gc(
    api: APIClient, *, roles: tuple[str, ...] = RUN_ROLES, dry_run: bool = False, include_live: bool = False
) -> list[GcItem]:
    """Remove labelled objects whose creating process is gone (all of them with ``include_live``)."""
    from docker.errors import APIError, NotFound

    flt = {"label": LABEL}
    items: list[GcItem] = []

    def wanted(labels: dict[str, str] | None) -> bool:
        labels = labels or {}
        if labels.get(LABEL_ROLE, "") not in roles:
            return False
        if labels.get(LABEL_KEPT) == "1":
            return include_live  # kept for later runs on purpose, like the runner's cache volumes
        return include_live or not _alive(labels.get(LABEL_PID))

    def attempt(kind: str, name: str, labels: dict[str, str], fn: Any) -> None:
        run, role = labels.get(LABEL_RUN) or labels.get(LABEL_CACHE_SCOPE, "?"), labels.get(LABEL_ROLE, "?")
        if dry_run:
            items.append(GcItem(kind, name, run, role, False))
            return
        try:
            fn()
        except NotFound:
            pass
        except APIError as exc:
            items.append(GcItem(kind, name, run, role, False, str(exc).splitlines()[0][:200]))
            return
        items.append(GcItem(kind, name, run, role, True))

    for c in api.containers(all=True, filters=flt):
        if wanted(c.get("Labels")):
            name = (c.get("Names") or [c["Id"][:12]])[0].lstrip("/")
            attempt(
                "container",
                name,
                c.get("Labels") or {},
                lambda cid=c["Id"]: api.remove_container(cid, v=True, force=True),
            )
    for n in api.networks(filters=flt):
        if wanted(n.get("Labels")):
            attempt("network", n["Name"], n.get("Labels") or {}, lambda nid=n["Id"]: api.remove_network(nid))
    for v in api.volumes(filters=flt).get("Volumes") or []:
        if wanted(v.get("Labels")):
            attempt(
                "volume",
                v["Name"],
                v.get("Labels") or {},
                lambda name=v["Name"]: api.remove_volume(name, force=True),
            )
    return items
