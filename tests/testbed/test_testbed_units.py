"""Test bed pieces that need no engine: certificates, registry files, recipes, rootfs, entrypoint."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import bcrypt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from buildrig.testbed import gotools, images, net, registry, rootfs, tls


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BUILDRIG_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_server_cert_is_signed_by_ca_and_names_its_addresses(tmp_path: Path) -> None:
    ca = tls.ensure_ca(tmp_path / "ca")
    assert oct(ca.key.stat().st_mode & 0o777) == "0o600"
    leaf = tls.issue(ca, tmp_path, "server", common_name="x", dns_names=("reg",), ip_addresses=("10.1.2.3",))
    assert tls.cert_sans(leaf.cert) == (("reg",), ("10.1.2.3",))
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    cert = x509.load_pem_x509_certificate(leaf.cert.read_bytes())
    assert cert.issuer == ca_cert.subject
    pub = ca_cert.public_key()
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    cert.verify_directly_issued_by(ca_cert)
    # openssl agrees (what Go and dockerd do is the same chain check)
    proc = subprocess.run(["openssl", "verify", "-CAfile", str(ca.cert), str(leaf.cert)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ca_is_reused_not_regenerated(tmp_path: Path) -> None:
    first = tls.ensure_ca(tmp_path)
    before = first.cert.read_bytes()
    assert tls.ensure_ca(tmp_path).cert.read_bytes() == before


def test_registry_files_password_mode_and_bcrypt(home: Path) -> None:
    _ca, user, password = registry._write_files()
    d = registry.registry_dir()
    assert oct((d / "password").stat().st_mode & 0o777) == "0o600"
    assert len(password) >= 24
    line = (d / "htpasswd").read_text().strip()
    name, hashed = line.split(":", 1)
    assert name == user and hashed.startswith("$2")
    assert bcrypt.checkpw(password.encode(), hashed.encode())
    assert not bcrypt.checkpw(b"wrong", hashed.encode())
    # cost 4: the registry checks it on every request, where GitLab's checks a token signature
    assert hashed.split("$")[2] == "04"
    # the server certificate names the address every builder uses
    _dns, ips = tls.cert_sans(d / "server.crt")
    assert net.gateway() in ips
    # a second call keeps the same credentials (stand-ins and jobs depend on them)
    assert registry._write_files()[2] == password
    assert "htpasswd" in (d / "config.yml").read_text()
    mirror = (d / "mirror-config.yml").read_text()
    assert "htpasswd" not in mirror and "readonly:\n      enabled: true" in mirror


def test_gateway_follows_subnet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILDRIG_TESTBED_SUBNET", "10.99.7.0/24")
    assert net.gateway() == "10.99.7.1"
    assert registry.address() == "10.99.7.1:5443"


def _tools(tmp_path: Path, marker: bytes = b"v1") -> dict[str, gotools.BuiltTool]:
    """Output directories shaped like gotools.build's, holding small files in place of the binaries
    (these tests hash and lay out files; the real binaries are exercised by the e2e suite)."""
    out: dict[str, gotools.BuiltTool] = {}
    names = {"kaniko": ("executor", "warmer"), "buildx": ("buildx",),
             "buildkit": ("buildkitd", "buildctl", "buildctl-daemonless.sh")}
    for tool in gotools.TOOLS:
        d = tmp_path / tool.name
        d.mkdir(exist_ok=True)
        for name in names[tool.name]:
            (d / name).write_bytes(marker + name.encode())
        out[tool.name] = gotools.BuiltTool(tool, d, True, 0.0)
    return out


def test_recipe_key_changes_with_content_and_not_otherwise(tmp_path: Path) -> None:
    tools = _tools(tmp_path)
    a = images.recipes(b"CA-1", tools)
    b = images.recipes(b"CA-1", tools)
    c = images.recipes(b"CA-2", tools)
    keys = {r.role: r.key for r in a}
    assert keys == {r.role: r.key for r in b}
    changed = {r.role for r in c if r.key != keys[r.role]}
    # only images that bake the CA are rebuilt when it changes; root trees stay cached
    assert changed == {"dind", "buildah", "buildkit"}
    roots = {r.role: r.root_key for r in a}
    assert roots == {r.role: r.root_key for r in c}
    assert all(r.tag.startswith("buildrig-standin/") for r in a)
    # a rebuilt binary is a new root tree for the images that carry it, and only for those
    (tmp_path / "kaniko" / "executor").write_bytes(b"v2executor")
    after = {r.role: r.root_key for r in images.recipes(b"CA-1", tools)}
    assert {role for role, key in after.items() if key != roots[role]} == {"kaniko", "kaniko-plain"}


def test_stand_ins_replace_the_names_init_generates(tmp_path: Path) -> None:
    from buildrig import versions

    replaced = {name for r in images.recipes(b"x", _tools(tmp_path)) for name in r.replaces}
    assert {versions.DOCKER_CLI_IMAGE, versions.DOCKER_DIND_IMAGE, versions.BUILDAH_IMAGE,
            versions.KANIKO_IMAGE, versions.KANIKO_PLAIN_IMAGE, versions.BUILDKIT_IMAGE} <= replaced
    # without the Go-built tools there is no kaniko or BuildKit stand-in, and no buildx plugin
    bare = images.recipes(b"x")
    replaced = {name for r in bare for name in r.replaces}
    assert versions.KANIKO_IMAGE not in replaced and versions.BUILDKIT_IMAGE not in replaced
    cli = next(r for r in bare if r.role == "docker-cli")
    assert cli.root.files == () and "root/.docker/config.json" not in cli.files


def test_docker_cli_stand_in_routes_docker_build_to_buildx(tmp_path: Path) -> None:
    cli = next(r for r in images.recipes(b"x", _tools(tmp_path)) if r.role == "docker-cli")
    assert [f[0] for f in cli.root.files] == ["usr/libexec/docker/cli-plugins/docker-buildx"]
    assert json.loads(cli.files["root/.docker/config.json"]) == {"aliases": {"builder": "buildx"}}


def test_kaniko_stand_in_has_the_debug_image_layout(tmp_path: Path) -> None:
    debug = next(r for r in images.recipes(b"x", _tools(tmp_path)) if r.role == "kaniko")
    tar_path = rootfs.scratch_tar(debug.root)
    try:
        with tarfile.open(tar_path) as tar:
            m = {t.name: t for t in tar.getmembers()}
    finally:
        tar_path.unlink()
    assert m["kaniko"].isdir() and m["kaniko"].mode == 0o777 and m["kaniko/.docker"].mode == 0o777
    assert m["kaniko/executor"].isfile() and m["kaniko/executor"].mode == 0o755
    assert m["kaniko/ssl/certs/ca-certificates.crt"].isfile()
    assert m["busybox/busybox"].isfile() and m["busybox/sh"].issym() and m["busybox/sh"].linkname == "busybox"
    assert m["bin/sh"].linkname == "/busybox/sh" and m["workspace"].isdir()
    assert "tmp" not in m and "etc/passwd" not in m  # FROM scratch: nothing else
    for line in ("PATH=/usr/local/bin:/kaniko:/busybox", "SSL_CERT_DIR=/kaniko/ssl/certs",
                 "DOCKER_CONFIG=/kaniko/.docker/", "VOLUME /busybox", "WORKDIR /workspace",
                 'ENTRYPOINT ["/kaniko/executor"]'):
        assert line in debug.dockerfile
    plain = next(r for r in images.recipes(b"x", _tools(tmp_path)) if r.role == "kaniko-plain")
    assert not plain.root.busybox_dir and "/busybox" not in plain.dockerfile


def test_without_go_the_go_built_images_are_skipped_with_what_to_install(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from buildrig import versions

    monkeypatch.setattr(gotools, "go_binary", lambda: None)
    reason = gotools.missing_go_reason()
    assert reason is not None and "Go is not installed" in reason and "install Go 1.21" in reason
    built, skipped = images.build_go_tools(lambda _m: None)
    assert built == {}
    assert {name for name, _ in skipped} == {versions.KANIKO_IMAGE, versions.KANIKO_PLAIN_IMAGE,
                                              versions.BUILDKIT_IMAGE, "docker-buildx plugin"}
    assert all(why == reason for _, why in skipped)


def test_an_old_go_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gotools, "go_binary", lambda: "/opt/go/bin/go")
    monkeypatch.setattr(gotools, "go_version", lambda _go: "go1.19.8")
    assert gotools.missing_go_reason() == (
        "/opt/go/bin/go is go1.19.8; kaniko, BuildKit and buildx need Go 1.21 or newer to build "
        "(https://go.dev/doc/install)")


def test_go_tool_output_is_keyed_by_module_version_and_go(tmp_path: Path) -> None:
    k = gotools.KANIKO
    assert k.key("go1.26.8") == k.key("go1.26.8") != k.key("go1.27.0")
    assert gotools.BUILDKIT.key("go1.26.8") != k.key("go1.26.8")
    # BuildKit's daemonless script comes out of the module, at build time
    assert gotools.BUILDKIT.module_files == (
        ("examples/buildctl-daemonless/buildctl-daemonless.sh", "buildctl-daemonless.sh"),)


def test_skipped_reads_prepare_output(home: Path) -> None:
    assert images.skipped() == {}
    p = home / "testbed" / "images.json"
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"skipped": [["moby/buildkit:v0-rootless", "no Go"]]}))
    assert images.skipped() == {"moby/buildkit:v0-rootless": "no Go"}


def test_overrides_reads_prepare_output(home: Path) -> None:
    assert images.overrides() == {}
    p = home / "testbed" / "images.json"
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"overrides": {"docker:cli": "buildrig-standin/docker-cli:abc"}}))
    assert images.overrides() == {"docker:cli": "buildrig-standin/docker-cli:abc"}


def test_busybox_rootfs_has_applets_and_binary_libraries() -> None:
    data = rootfs.busybox_tar(rootfs.RootSpec("busybox", binaries=("/usr/bin/docker",)))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = {m.name: m for m in tar.getmembers()}
    assert names["bin/busybox"].isfile() and names["bin/busybox"].mode & 0o111
    assert names["bin/sh"].issym() and names["bin/sh"].linkname == "/bin/busybox"
    assert names["usr/bin/docker"].isfile()
    for lib in rootfs.linked_libraries(Path("/usr/bin/docker")):
        assert str(lib).lstrip("/") in names, lib
    assert names["tmp"].mode == 0o1777


def test_cli_entrypoint_picks_tls_when_client_certs_exist(tmp_path: Path) -> None:
    script = Path(images.__file__).parent / "assets" / "docker-entrypoint.sh"
    certs = tmp_path / "certs"
    env = {"PATH": os.environ["PATH"], "DOCKER_TLS_CERTDIR": str(certs)}

    def run(extra: dict[str, str]) -> dict[str, str]:
        out = subprocess.run(["sh", str(script), "env"], env={**env, **extra}, capture_output=True,
                             text=True, check=True).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    socket = Path("/var/run/docker.sock").is_socket()
    plain = run({})
    # a local socket wins over the "docker" service, as in the official image
    assert plain.get("DOCKER_HOST") == (None if socket else "tcp://docker:2375")
    assert "DOCKER_TLS_VERIFY" not in plain
    assert "DOCKER_TLS_VERIFY" not in run({"DOCKER_HOST": "tcp://docker:2376"})
    (certs / "client").mkdir(parents=True)
    for f in ("ca.pem", "cert.pem", "key.pem"):
        (certs / "client" / f).write_text("x")
    with_tls = run({})
    if not socket:
        assert with_tls["DOCKER_HOST"] == "tcp://docker:2376"
    # an explicit DOCKER_HOST is kept, and TLS still follows the certificates (the 2375-vs-TLS trap)
    explicit = run({"DOCKER_HOST": "tcp://docker:2375"})
    assert explicit["DOCKER_HOST"] == "tcp://docker:2375" and explicit["DOCKER_TLS_VERIFY"] == "1"
    assert explicit["DOCKER_CERT_PATH"] == f"{certs}/client"
    # arguments starting with "-" go to docker
    proc = subprocess.run(["sh", str(script), "--definitely-not-a-flag"], env=env, capture_output=True,
                          text=True, check=False)
    assert proc.returncode != 0 and "definitely-not-a-flag" in proc.stderr
