"""Machine facts recorded next to every benchmark: figures mean little without them."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import time
from typing import Any

from buildrig import __version__
from buildrig.bench.model import Machine


def machine_facts(engine: Any) -> Machine:
    """Facts about the engine that builds (``engine.info()``/``version()``) and this host.

    With ``DOCKER_HOST`` pointing elsewhere the engine's CPU count and kernel are the ones
    that matter, so they come from the engine, not from this process.
    """
    info: dict[str, Any] = engine.info()
    version: dict[str, Any] = engine.version()
    return Machine(
        cpu_count=int(info.get("NCPU") or os.cpu_count() or 0),
        engine_version=str(version.get("Version") or info.get("ServerVersion") or ""),
        engine_api_version=str(version.get("ApiVersion") or ""),
        storage_driver=str(info.get("Driver") or ""),
        cgroup_version=str(info.get("CgroupVersion") or ""),
        kernel=str(info.get("KernelVersion") or platform.release()),
        os=_os_release() or platform.platform(),
        engine_os=str(info.get("OperatingSystem") or ""),
        memory_bytes=int(info.get("MemTotal") or 0),
        docker_host=os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock",
        python=platform.python_version(),
        buildrig_version=__version__,
    )


def _os_release() -> str:
    try:
        with open("/etc/os-release", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        return ""
    return ""


def rsa4096_seconds(tries: int = 2) -> tuple[float, ...]:
    """How long ``openssl genrsa 4096`` takes here, ``tries`` times (empty without openssl): what
    the official docker:dind entrypoint spends on each key it makes."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return ()
    took: list[float] = []
    for _ in range(tries):
        t0 = time.monotonic()
        try:
            subprocess.run([openssl, "genrsa", "4096"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return ()
        took.append(time.monotonic() - t0)
    return tuple(took)


def dind_keygen_note(took: tuple[float, ...]) -> str:
    """What the stand-in dind service leaves out of the dind figures, with this machine's cost."""
    each = ", ".join(f"{t:.1f}" for t in took)
    return (
        "dind: the official docker:dind entrypoint makes two RSA-4096 keys in every new service "
        "container (its CA's and its server's; three when the runner's /certs/client volume does "
        "not keep the client's); the test bed's stand-in makes P-256 keys in milliseconds, so a "
        "job with the official image takes about two keys' time more than these figures: "
        f"`openssl genrsa 4096` took {each} s here."
    )


def bare_container_seconds(
    api: Any, image: str, run_id: str, tries: int = 3
) -> tuple[tuple[float, ...], str | None]:
    """Seconds of ``tries`` bare containers in ``image``, each created, started, waited for and
    removed as ``docker run --rm`` does, on the default bridge like a job: the engine's own cost
    for any job that runs in a container. On a refusal: no figures and why (a container that did
    start is still removed; one that cannot be carries a job's labels, so ``buildrig gc`` removes
    it once this process has ended)."""
    from buildrig import engine

    took: list[float] = []
    for _ in range(tries):
        cid: str | None = None
        t0 = time.monotonic()
        try:
            cid = api.create_container(
                image, entrypoint=["sh", "-c", "exit 0"], command=[],
                labels=engine.labels(run_id, "job", probe="1"), host_config=api.create_host_config(),
            )["Id"]
            api.start(cid)
            code = api.wait(cid).get("StatusCode")
            api.remove_container(cid, force=True)
            cid = None
            if code != 0:
                return (), f"`sh -c 'exit 0'` in {image} exited with {code}"
            took.append(time.monotonic() - t0)
        except engine.sdk_errors() as exc:
            text = str(getattr(exc, "explanation", None) or exc).strip().splitlines()
            return (), f"{image}: {text[0][:200] if text else type(exc).__name__}"
        finally:
            if cid is not None:
                with contextlib.suppress(*engine.sdk_errors()):
                    api.remove_container(cid, force=True)
    return tuple(took), None


def bare_container_note(took: tuple[float, ...], error: str | None = None) -> str:
    if not took:
        return f"container floor: not measured ({error or 'no container way ran'})."
    each = ", ".join(f"{t:.2f}" for t in took)
    return (
        "container floor: a bare container (created, started, waited for and removed, what "
        f"`docker run --rm` does) took {each} s on this engine before the first container way's "
        "first job. Every way but shell runs its job in a container and pays at least this once; "
        "the shell way pays nothing of it."
    )
