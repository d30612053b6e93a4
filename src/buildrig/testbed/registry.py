"""The test bed's registry: a real OCI registry standing in for ``CI_REGISTRY``.

Two containers share one storage directory (the registry allows one listen address per process):

- ``buildrig-registry`` on ``<gateway>:5443``: TLS from the test bed CA, htpasswd (bcrypt, cost 4) basic
  auth, read-write — what jobs log in and push to;
- ``buildrig-registry-mirror`` on ``<gateway>:5444``: read-only and anonymous, used as the
  ``docker.io`` mirror by the stand-in daemons and buildah. dockerd refuses a mirror URL carrying
  a user or password, and the daemons have no docker.io login to offer it, so the mirror cannot
  ask for credentials; instead it sees only the public part of the storage: the ``library/`` repositories
  (the Docker Hub official-image names the base images are pushed under) and the blob store. The
  registry serves a blob or manifest only through a repository that links it, so what jobs push
  under their own project paths is not reachable through the mirror, even by digest.

The host daemon trusts the CA through ``/etc/docker/certs.d/<gateway>:<port>/ca.crt`` (read
without a restart); ``status`` says so and ``stop`` removes those files again.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildrig.engine import client as engine_client
from buildrig.engine import sdk_errors
from buildrig.errors import BuildrigError, EngineError
from buildrig.fsutil import atomic_write, ensure_mode
from buildrig.paths import state_dir
from buildrig.registryinfo import RegistryInfo
from buildrig.testbed import net

if TYPE_CHECKING:
    from docker import DockerClient

REGISTRY_NAME = "buildrig-registry"
MIRROR_NAME = "buildrig-registry-mirror"
USER = "buildrig"
HOST_CERTS_D = Path("/etc/docker/certs.d")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RegistryStatus:
    running: bool
    address: str
    mirror: str
    image: str | None
    user: str
    ca_path: Path
    host_trust: tuple[Path, ...]  # certs.d files written on this host
    storage: Path


LABEL_STATE = "buildrig.state"
# Which storage the mirror sees; a mirror started with another layout (the whole storage) is
# replaced on the next start.
LABEL_MIRROR_LAYOUT = "buildrig.mirror-layout"
MIRROR_LAYOUT = "library-only"
_V2 = Path("docker/registry/v2")
PUBLIC_REPOS = ("library",)


def registry_dir() -> Path:
    return state_dir() / "testbed" / "registry"


def _owner_dir(cli: DockerClient) -> Path | None:
    """The state directory of whoever started the running registry.

    The registry is one per engine (fixed names, address and host trust files) while buildrig's
    state directory follows $BUILDRIG_HOME: a second buildrig with another home adopts the running
    registry's credentials and CA instead of fighting over the address.
    """
    c = _container(cli, REGISTRY_NAME)
    if c is None or c.status != "running":
        return None
    label = (c.labels or {}).get(LABEL_STATE)
    if not label:
        return None
    d = Path(label)
    return d if (d / "password").exists() and (d.parent / "ca" / "ca.crt").exists() else None


def _info_from(d: Path) -> RegistryInfo:
    return RegistryInfo(host=address(), user=USER, password=(d / "password").read_text().strip(),
                        ca_path=d.parent / "ca" / "ca.crt")


def address() -> str:
    return f"{net.gateway()}:{net.REGISTRY_PORT}"


def mirror_address() -> str:
    return f"{net.gateway()}:{net.MIRROR_PORT}"


def _password_file() -> Path:
    return registry_dir() / "password"


def _credentials() -> tuple[str, str]:
    """The generated password (0600 in the state dir), created on first use."""
    path = _password_file()
    if path.exists():
        return USER, path.read_text().strip()
    password = secrets.token_urlsafe(24)
    atomic_write(path, password + "\n", mode=0o600)
    return USER, password


def _htpasswd(user: str, password: str) -> str:
    import bcrypt

    # The registry checks the hash on every request (basic auth has no session). GitLab's registry
    # checks a bearer token's signature instead, costing well under a millisecond; bcrypt's
    # default cost 10 took ~67 ms of CPU per request here, so a push of six layers paid ~0.4 s and
    # kaniko's sequential cache look-ups ~0.07 s each that no real registry charges. Cost 4 (the
    # minimum, ~1 ms) keeps bcrypt; the password is 24 random bytes, so the hash's cost guards
    # nothing a guess could reach.
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return f"{user}:{hashed}\n"


def _config(*, auth: bool, readonly: bool) -> str:
    lines = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        "    rootdirectory: /var/lib/registry",
        "  delete:",
        "    enabled: true",
        "  maintenance:",
        "    uploadpurging:",
        "      enabled: false",
        "    readonly:",
        f"      enabled: {'true' if readonly else 'false'}",
        "http:",
        "  addr: :5000",
        "  tls:",
        "    certificate: /etc/docker/registry/server.crt",
        "    key: /etc/docker/registry/server.key",
        "  headers:",
        "    X-Content-Type-Options: [nosniff]",
    ]
    if auth:
        lines += ["auth:", "  htpasswd:", "    realm: buildrig-testbed",
                  "    path: /etc/docker/registry/htpasswd"]
    return "\n".join(lines) + "\n"


def _write_files() -> tuple[Path, str, str]:
    # Here, not at the top: every `buildrig run` imports this module (to find a running registry),
    # and cryptography is the heaviest import of its start-up.
    from buildrig.testbed import tls

    d = registry_dir()
    ca = tls.ensure_ca(state_dir() / "testbed" / "ca")
    server = d / "server.crt"
    sans = ("localhost", REGISTRY_NAME, MIRROR_NAME)
    ips = (net.gateway(), "127.0.0.1")
    if not server.exists() or tls.cert_sans(server) != (sans, ips):
        tls.issue(ca, d, "server", common_name=net.gateway(), dns_names=sans, ip_addresses=ips)
    else:
        # Kept from an earlier start (or copied in): a key must not stay readable by others.
        ensure_mode(d / "server.key", 0o600)
    user, password = _credentials()
    ensure_mode(_password_file(), 0o600)
    # The registry runs as root in its container: nobody else needs to read the hashes.
    atomic_write(d / "htpasswd", _htpasswd(user, password), mode=0o600)
    atomic_write(d / "config.yml", _config(auth=True, readonly=False))
    atomic_write(d / "mirror-config.yml", _config(auth=False, readonly=True))
    _storage_dirs(d)
    return ca.cert, user, password


def _storage_dirs(d: Path) -> None:
    """The storage paths the mirror mounts must exist before it starts (the registry fills them)."""
    for sub in ("blobs", *(f"repositories/{r}" for r in PUBLIC_REPOS)):
        (d / "data" / _V2 / sub).mkdir(parents=True, exist_ok=True)


def _host_trust_paths() -> tuple[Path, ...]:
    return tuple(HOST_CERTS_D / a / "ca.crt" for a in (address(), mirror_address()))


def _trust_on_host(ca: Path) -> None:
    data = ca.read_bytes()
    for p in _host_trust_paths():
        atomic_write(p, data, mode=0o644)


def _mounts(config: str, d: Path, *, mirror: bool) -> list[Any]:
    """Bind mounts of the registry (``mirror=False``) or of the anonymous mirror."""
    from docker.types import Mount

    common = [
        Mount("/etc/docker/registry/config.yml", str(d / config), type="bind", read_only=True),
        Mount("/etc/docker/registry/server.crt", str(d / "server.crt"), type="bind", read_only=True),
        Mount("/etc/docker/registry/server.key", str(d / "server.key"), type="bind", read_only=True),
    ]
    if not mirror:
        return [
            *common,
            Mount("/etc/docker/registry/htpasswd", str(d / "htpasswd"), type="bind", read_only=True),
            Mount("/var/lib/registry", str(d / "data"), type="bind"),
        ]
    public = [f"repositories/{r}" for r in PUBLIC_REPOS]
    return [
        *common,
        *(
            Mount(f"/var/lib/registry/{_V2 / sub}", str(d / "data" / _V2 / sub), type="bind", read_only=True)
            for sub in ("blobs", *public)
        ),
    ]


def _container(cli: DockerClient, name: str) -> Any | None:
    from docker.errors import NotFound

    try:
        return cli.containers.get(name)
    except NotFound:
        return None


def _labels(d: Path, *, mirror: bool) -> dict[str, str]:
    labels = {**net.testbed_labels("registry"), LABEL_STATE: str(d)}
    if mirror:
        labels[LABEL_MIRROR_LAYOUT] = MIRROR_LAYOUT
    return labels


def _start_one(
    cli: DockerClient, name: str, image: str, config: str, port: int, d: Path | None = None
) -> None:
    d = d or registry_dir()
    mirror = name == MIRROR_NAME
    labels = _labels(d, mirror=mirror)
    c = _container(cli, name)
    have = (c.labels or {}) if c is not None else {}
    if (c is not None and c.status == "running" and c.image.tags and image in c.image.tags
            and all(have.get(k) == v for k, v in labels.items())):
        return
    if c is not None:
        c.remove(force=True, v=True)
    try:
        cli.containers.run(
            image, name=name, detach=True, labels=labels,
            mounts=_mounts(config, d, mirror=mirror), network=net.NETWORK,
            ports={"5000/tcp": (net.gateway(), port)},
        )
    except sdk_errors() as exc:
        raise EngineError(f"cannot start {name} from {image}: {exc}") from exc


def _wait_ready(info: RegistryInfo, timeout: float = 20.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            r = requests.get(f"https://{info.host}/v2/", auth=(info.user, info.password),
                             verify=str(info.ca_path), timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise EngineError(f"registry at {info.host} did not answer within {timeout:.0f} s ({last}); "
                      f"see `docker logs {REGISTRY_NAME}`")


def ensure_started(*, progress: Progress | None = None, docker_host: str | None = None) -> RegistryInfo:
    """Start the registry and its mirror unless they run; returns how jobs reach it."""
    from buildrig.testbed import images

    say: Progress = progress or (lambda _m: None)
    cli = engine_client(docker_host)
    owner = _owner_dir(cli)
    if owner is not None and _container(cli, MIRROR_NAME) is not None:
        info = _info_from(owner)
        mirror = _container(cli, MIRROR_NAME)
        if mirror is not None and (mirror.labels or {}).get(LABEL_MIRROR_LAYOUT) != MIRROR_LAYOUT:
            # A mirror from before it was limited to the public repositories: replace it.
            running = _container(cli, REGISTRY_NAME)
            image = running.image.tags[0] if running is not None and running.image.tags else None
            _storage_dirs(owner)
            _start_one(cli, MIRROR_NAME, image or images.registry_image(cli, say), "mirror-config.yml",
                       net.MIRROR_PORT, owner)
        _trust_on_host(Path(str(info.ca_path)))
        _wait_ready(info)
        return info
    ca, user, password = _write_files()
    image = images.registry_image(cli, say)
    net.ensure_network(cli)
    _start_one(cli, REGISTRY_NAME, image, "config.yml", net.REGISTRY_PORT)
    _start_one(cli, MIRROR_NAME, image, "mirror-config.yml", net.MIRROR_PORT)
    _trust_on_host(ca)
    info = RegistryInfo(host=address(), user=user, password=password, ca_path=ca)
    _wait_ready(info)
    atomic_write(registry_dir() / "registry.json",
                 json.dumps({"address": address(), "mirror": mirror_address(), "image": image}) + "\n")
    return info


def current(docker_host: str | None = None) -> RegistryInfo | None:
    """The running test bed registry, or None (no engine, not started, or stopped)."""
    try:
        cli = engine_client(docker_host, timeout=10)
    except EngineError:
        return None
    owner = _owner_dir(cli)
    return _info_from(owner) if owner is not None else None


def status(docker_host: str | None = None) -> RegistryStatus:
    cli = engine_client(docker_host, timeout=10)
    c = _container(cli, REGISTRY_NAME)
    running = c is not None and c.status == "running"
    image = (c.image.tags[0] if c.image.tags else c.image.id) if c is not None else None
    d = _owner_dir(cli) or registry_dir()
    return RegistryStatus(
        running=running, address=address(), mirror=mirror_address(), image=image, user=USER,
        ca_path=d.parent / "ca" / "ca.crt",
        host_trust=tuple(p for p in _host_trust_paths() if p.exists()),
        storage=d / "data",
    )


def stop(*, purge: bool = False, docker_host: str | None = None) -> list[str]:
    """Remove both containers and the host trust files; ``purge`` also drops the stored images.

    Returns what was removed (one line each).
    """
    cli = engine_client(docker_host)
    done: list[str] = []
    for name in (REGISTRY_NAME, MIRROR_NAME):
        c = _container(cli, name)
        if c is not None:
            c.remove(force=True, v=True)
            done.append(f"container {name}")
    for p in _host_trust_paths():
        if p.exists():
            p.unlink()
            with contextlib.suppress(OSError):
                p.parent.rmdir()
            done.append(str(p))
    if net.remove_network_if_unused(cli):
        done.append(f"network {net.NETWORK} (if it existed)")
    if purge:
        shutil.rmtree(registry_dir() / "data", ignore_errors=True)
        done.append(f"storage {registry_dir() / 'data'}")
    return done


# --- registry HTTP API (tests, trial, prepare) --------------------------------------------------

MANIFEST_TYPES = ", ".join((
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
))


def manifest_digest(info: RegistryInfo, repo: str, ref: str) -> str | None:
    """The registry's digest (``Docker-Content-Digest``) of ``repo:ref``, or None if absent."""
    import requests

    try:
        r = requests.head(f"https://{info.host}/v2/{repo}/manifests/{ref}", auth=(info.user, info.password),
                          verify=str(info.ca_path), headers={"Accept": MANIFEST_TYPES}, timeout=10)
    except requests.RequestException as exc:
        raise EngineError(f"registry {info.host} unreachable: {exc}") from exc
    if r.status_code == 404:
        return None
    if r.status_code != 200:
        raise EngineError(f"registry {info.host}: HEAD {repo}:{ref} gave HTTP {r.status_code}")
    return r.headers.get("Docker-Content-Digest")


def manifest(info: RegistryInfo, repo: str, ref: str) -> dict[str, Any] | None:
    import requests

    r = requests.get(f"https://{info.host}/v2/{repo}/manifests/{ref}", auth=(info.user, info.password),
                     verify=str(info.ca_path), headers={"Accept": MANIFEST_TYPES}, timeout=10)
    if r.status_code == 404:
        return None
    if r.status_code != 200:
        raise EngineError(f"registry {info.host}: GET {repo}:{ref} gave HTTP {r.status_code}")
    data = r.json()
    return data if isinstance(data, dict) else None


def tags(info: RegistryInfo, repo: str) -> list[str]:
    import requests

    r = requests.get(f"https://{info.host}/v2/{repo}/tags/list", auth=(info.user, info.password),
                     verify=str(info.ca_path), timeout=10)
    if r.status_code == 404:
        return []
    if r.status_code != 200:
        raise EngineError(f"registry {info.host}: tags of {repo} gave HTTP {r.status_code}")
    return list(r.json().get("tags") or [])


def push_local_image(cli: DockerClient, local: str, repo_tag: str, info: RegistryInfo) -> str:
    """Push a host-daemon image to ``<registry>/<repo_tag>`` unless it is there already; digest."""
    repo, ref = repo_tag.rsplit(":", 1)
    image = cli.images.get(local)
    existing = manifest(info, repo, ref)
    if existing is not None and (existing.get("config") or {}).get("digest") == image.id:
        digest = manifest_digest(info, repo, ref)
        if digest:
            return digest
    target = f"{info.host}/{repo}"
    image.tag(target, ref)
    try:
        errors = [
            str(chunk["error"]) for chunk in
            cli.images.push(target, ref, auth_config={"username": info.user, "password": info.password},
                            stream=True, decode=True)
            if "error" in chunk
        ]
    finally:
        with contextlib.suppress(*sdk_errors()):
            cli.images.remove(f"{target}:{ref}")
    if errors:
        raise EngineError(f"push of {local} to {target}:{ref} failed: {errors[0]}")
    digest = manifest_digest(info, repo, ref)
    if digest is None:
        raise BuildrigError(f"pushed {target}:{ref} but the registry does not list it")
    return digest


def remove_local_images(cli: DockerClient, prefixes: tuple[str, ...]) -> int:
    """Remove from the engine every image tagged under one of ``prefixes`` (repositories of the
    test registry that buildrig itself pushes to), and the ones a rebuild left with only a digest
    there; returns how many removals were made. Images with any other tag or digest stay.
    """
    from docker.errors import APIError, NotFound

    removed = 0
    try:
        listed = cli.images.list()
    except APIError as exc:
        raise EngineError(f"cannot list images: {exc}") from exc
    for image in listed:
        for ref in image.tags:
            if ref.startswith(prefixes):
                with contextlib.suppress(NotFound, APIError):
                    cli.api.remove_image(ref, noprune=False)
                    removed += 1
        digests = image.attrs.get("RepoDigests") or []
        # A rebuild that took over the tags leaves the older image with only its digest.
        if image.id and not image.tags and digests and all(d.startswith(prefixes) for d in digests):
            with contextlib.suppress(NotFound, APIError):
                cli.api.remove_image(image.id, noprune=False)
                removed += 1
    return removed
