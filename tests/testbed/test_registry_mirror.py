"""The anonymous mirror sees only the public repositories: checked on its generated mounts and
config, and end to end with the registry binary the stand-in image is built from, on loopback."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from buildrig.testbed import registry, tls

REGISTRY_BIN = shutil.which("docker-registry")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BUILDRIG_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _by_target(mounts: list[object]) -> dict[str, dict[str, object]]:
    return {str(m["Target"]): dict(m) for m in mounts}  # type: ignore[index]


def test_mirror_mounts_only_public_storage_read_only(home: Path) -> None:
    registry._write_files()
    d = registry.registry_dir()
    mirror = _by_target(registry._mounts("mirror-config.yml", d, mirror=True))
    data = [t for t in mirror if t.startswith("/var/lib/registry")]
    assert sorted(data) == [
        "/var/lib/registry/docker/registry/v2/blobs",
        "/var/lib/registry/docker/registry/v2/repositories/library",
    ]
    assert all(mirror[t]["ReadOnly"] for t in mirror)
    assert "/etc/docker/registry/htpasswd" not in mirror
    for t in data:
        assert Path(str(mirror[t]["Source"])).is_dir()  # bind sources must exist before the start
    main = _by_target(registry._mounts("config.yml", d, mirror=False))
    assert main["/var/lib/registry"]["Source"] == str(d / "data")
    assert "/etc/docker/registry/htpasswd" in main


def test_htpasswd_and_reused_keys_are_private(home: Path) -> None:
    registry._write_files()
    d = registry.registry_dir()
    (d / "htpasswd").chmod(0o644)
    (d / "server.key").chmod(0o644)
    ca_key = home / "testbed" / "ca" / "ca.key"
    ca_key.chmod(0o644)
    registry._write_files()  # reuses the CA and the server certificate
    for path in (d / "htpasswd", d / "server.key", d / "password", ca_key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(config: str, conf_dir: Path, root: Path, port: int, name: str) -> subprocess.Popen[bytes]:
    text = (
        config.replace("/etc/docker/registry/", f"{conf_dir}/")
        .replace("/var/lib/registry", str(root))
        .replace("addr: :5000", f"addr: 127.0.0.1:{port}")
    )
    path = conf_dir / f"{name}.yml"
    path.write_text(text)
    assert REGISTRY_BIN is not None
    return subprocess.Popen(
        [REGISTRY_BIN, "serve", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait(url: str, ca: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url, verify=str(ca), timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def _push(base: str, ca: Path, repo: str, payload: bytes) -> tuple[str, str]:
    """A one-layer image; (manifest digest, layer digest)."""
    digests = []
    for blob in (b"{}", payload):
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        r = requests.post(f"{base}/v2/{repo}/blobs/uploads/", verify=str(ca), timeout=5)
        loc = r.headers["Location"]
        loc = loc if loc.startswith("http") else base + loc
        sep = "&" if "?" in loc else "?"
        r = requests.put(
            f"{loc}{sep}digest={digest}",
            data=blob,
            verify=str(ca),
            timeout=5,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 201, r.text
        digests.append((digest, len(blob)))
    mtype = "application/vnd.docker.distribution.manifest.v2+json"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mtype,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": digests[0][0],
                "size": digests[0][1],
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": digests[1][0],
                    "size": digests[1][1],
                }
            ],
        }
    ).encode()
    r = requests.put(
        f"{base}/v2/{repo}/manifests/v1",
        data=manifest,
        verify=str(ca),
        timeout=5,
        headers={"Content-Type": mtype},
    )
    assert r.status_code == 201, r.text
    return "sha256:" + hashlib.sha256(manifest).hexdigest(), digests[1][0]


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        p.terminate()
        p.wait(10)


@pytest.mark.skipif(
    REGISTRY_BIN is None, reason="Debian's docker-registry (the stand-in's binary) is missing"
)
def test_mirror_serves_library_images_but_not_pushed_projects(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    ca = tls.ensure_ca(tmp_path / "ca")
    conf = tmp_path / "conf"
    conf.mkdir()
    tls.issue(ca, conf, "server", common_name="127.0.0.1", ip_addresses=("127.0.0.1",))
    data = tmp_path / "data"
    registry._storage_dirs(tmp_path)
    # The writable registry (auth left out: not what is tested here) with the whole storage.
    port = _free_port()
    processes.append(_serve(registry._config(auth=False, readonly=False), conf, data, port, "main"))
    base = f"https://127.0.0.1:{port}"
    _wait(f"{base}/v2/", ca.cert)
    _push(base, ca.cert, "library/python", b"public layer")
    private, private_layer = _push(base, ca.cert, "team/app", b"private layer")

    # The mirror's storage as its bind mounts lay it out (symlinks stand in for the mounts).
    root = tmp_path / "mirror-root"
    for m in registry._mounts("mirror-config.yml", tmp_path, mirror=True):
        target = str(m["Target"])
        if target.startswith("/var/lib/registry/"):
            link = root / target.removeprefix("/var/lib/registry/")
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(str(m["Source"]))
    mport = _free_port()
    processes.append(_serve(registry._config(auth=False, readonly=True), conf, root, mport, "mirror"))
    mirror = f"https://127.0.0.1:{mport}"
    _wait(f"{mirror}/v2/", ca.cert)

    def get(path: str) -> int:
        accept = "application/vnd.docker.distribution.manifest.v2+json"
        return requests.get(
            f"{mirror}{path}", verify=str(ca.cert), timeout=5, headers={"Accept": accept}
        ).status_code

    assert get("/v2/library/python/manifests/v1") == 200
    assert get("/v2/team/app/manifests/v1") == 404
    assert get(f"/v2/team/app/manifests/{private}") == 404
    # Not even through a public repository, by digest.
    assert get(f"/v2/library/python/manifests/{private}") == 404
    assert get(f"/v2/library/python/blobs/{private_layer}") == 404
    # Read-only: nothing can be pushed to it.
    r = requests.post(f"{mirror}/v2/library/python/blobs/uploads/", verify=str(ca.cert), timeout=5)
    assert r.status_code >= 400
    assert os.path.islink(root / "docker/registry/v2/blobs")
