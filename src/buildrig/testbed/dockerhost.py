"""The docker_host way's remote daemon, for the test bed.

A user deploys dockerd with a TCP+TLS listener on a private address (``buildrig init`` generates
the certificates and a systemd drop-in). Here the same certificates go to a dind stand-in
container whose port 2376 is published on the test bed gateway address: jobs reach it at
``tcp://<gateway>:2376`` exactly as they would reach a private IP, and everything is labelled and
removable. The host's own daemon is never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildrig.engine import client as engine_client
from buildrig.engine import sdk_errors
from buildrig.errors import BuildrigError, EngineError
from buildrig.fsutil import atomic_write
from buildrig.paths import state_dir
from buildrig.testbed import net

if TYPE_CHECKING:
    from docker import APIClient, DockerClient

NAME = "buildrig-dockerhost"
LABEL_CERTS = "buildrig.certs"
# init's file names → where the dind entrypoint contract expects them (it generates nothing
# when all are present).
_LAYOUT = (
    ("ca.pem", "server/ca.pem"),
    ("server-cert.pem", "server/cert.pem"),
    ("server-key.pem", "server/key.pem"),
    ("ca.pem", "client/ca.pem"),
    ("cert.pem", "client/cert.pem"),
    ("key.pem", "client/key.pem"),
)


@dataclass(frozen=True)
class DockerHostInfo:
    url: str  # tcp://<gateway>:2376
    address: str  # the IP jobs use (give it to `buildrig init --docker-host`)
    cert_dir: Path  # copy of the certificates the daemon uses
    container: str


def address() -> str:
    return net.gateway()


def url() -> str:
    return f"tcp://{address()}:{net.DOCKER_HOST_PORT}"


def host_has_full_caps() -> bool:
    """Whether the runtime can grant real ``--privileged`` (CAP_SYS_RESOURCE in the bounding set)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapBnd:"):
                return bool(int(line.split()[1], 16) & (1 << 24))
    except OSError:
        pass
    return True


def host_config(api: APIClient, **kwargs: Any) -> Any:
    """A host config for a daemon-in-a-container: privileged, or the closest thing.

    Where the runtime refuses ``--privileged`` (a capability missing from the bounding set), every
    other capability with seccomp/AppArmor unconfined, no masked or read-only /proc paths (what the
    CLI calls ``systempaths=unconfined``) and a private cgroup namespace (the entrypoint then
    remounts the cgroup hierarchies read-write).
    """
    if host_has_full_caps():
        return api.create_host_config(privileged=True, **kwargs)
    hc = api.create_host_config(
        cap_add=["ALL"], cap_drop=["SYS_RESOURCE"],
        security_opt=["seccomp=unconfined", "apparmor=unconfined"], cgroupns="private", **kwargs,
    )
    hc["MaskedPaths"] = []
    hc["ReadonlyPaths"] = []
    return hc


def _certs_key(src: Path) -> str:
    h = hashlib.sha256()
    for name, _ in _LAYOUT:
        try:
            h.update(name.encode() + (src / name).read_bytes())
        except OSError as exc:
            raise BuildrigError(f"{src / name}: missing docker_host certificate ({exc.strerror}); "
                                f"run `buildrig init --strategy docker_host` first") from exc
    return h.hexdigest()


def _container(cli: DockerClient) -> Any | None:
    from docker.errors import NotFound

    try:
        return cli.containers.get(NAME)
    except NotFound:
        return None


def start(cert_src: Path, *, docker_host: str | None = None, timeout: float = 60.0) -> DockerHostInfo:
    """Run the daemon with the certificates ``buildrig init`` wrote to ``cert_src``.

    Reuses a running daemon started with the same certificates (its layer cache survives).
    """
    from docker.types import Mount

    from buildrig.testbed import images

    cli = engine_client(docker_host)
    key = _certs_key(cert_src)
    dest = state_dir() / "testbed" / "dockerhost" / "certs"
    info = DockerHostInfo(url(), address(), dest, NAME)
    c = _container(cli)
    if c is not None and c.status == "running" and (c.labels or {}).get(LABEL_CERTS) == key[:32]:
        return info
    if c is not None:
        c.remove(force=True, v=True)
    for name, rel in _LAYOUT:
        data = (cert_src / name).read_bytes()
        atomic_write(dest / rel, data, mode=0o600 if name.endswith("key.pem") else 0o644)
    dind = images.overrides().get(_dind_name())
    if not dind:
        raise BuildrigError("no dind stand-in image: run `buildrig images prepare --offline`")
    net.ensure_network(cli)
    api = cli.api
    try:
        hc = host_config(
            api, mounts=[Mount("/certs", str(dest), type="bind", read_only=True)],
            network_mode=net.NETWORK, port_bindings={2376: (address(), net.DOCKER_HOST_PORT)},
        )
        cid = api.create_container(
            dind, name=NAME, detach=True, ports=[2376], host_config=hc,
            labels={**net.testbed_labels("dockerhost"), LABEL_CERTS: key[:32]},
            environment={"DOCKER_TLS_CERTDIR": "/certs"},
        )["Id"]
        api.start(cid)
    except sdk_errors() as exc:
        with contextlib.suppress(*sdk_errors()):
            api.remove_container(NAME, v=True, force=True)
        raise EngineError(f"cannot start the docker_host test daemon: {exc}") from exc
    _wait(cli, dest, timeout)
    return info


def _dind_name() -> str:
    from buildrig import versions

    return versions.DOCKER_DIND_IMAGE


def _wait(cli: DockerClient, certs: Path, timeout: float) -> None:
    # Plain requests with an explicit CA: the Docker SDK's TLS session loses its CA to
    # $REQUESTS_CA_BUNDLE when that is set (requests merges the environment over the session).
    import requests

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        c = _container(cli)
        if c is None or c.status == "exited":
            logs = c.logs(tail=5).decode(errors="replace").strip() if c is not None else ""
            raise EngineError(f"the docker_host test daemon exited: {logs.splitlines()[-1] if logs else '?'}")
        try:
            r = requests.get(f"https://{address()}:{net.DOCKER_HOST_PORT}/_ping", timeout=5,
                             cert=(str(certs / "client/cert.pem"), str(certs / "client/key.pem")),
                             verify=str(certs / "client/ca.pem"))
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            last = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        time.sleep(0.3)
    raise EngineError(f"the docker_host test daemon did not answer on {url()} within {timeout:.0f} s: {last}")


def stop(*, docker_host: str | None = None) -> bool:
    """Remove the daemon with its data volume; False when it was not running."""
    cli = engine_client(docker_host)
    c = _container(cli)
    if c is None:
        return False
    c.remove(force=True, v=True)
    net.remove_network_if_unused(cli)
    return True


def status(*, docker_host: str | None = None) -> str | None:
    cli = engine_client(docker_host, timeout=10)
    c = _container(cli)
    return None if c is None else str(c.status)
