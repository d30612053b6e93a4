"""docker_host certificates: properties, modes, chain, a real mutual-TLS handshake, reuse."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from buildrig.init import InitOptions, init_project
from buildrig.init.certs import generate

ADDR = "10.20.30.40"


@pytest.fixture
def certs_dir(tmp_path: Path) -> Path:
    init_project(InitOptions(strategy="docker_host", docker_host=ADDR, out=tmp_path))
    return tmp_path / "runner" / "host" / "certs"


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_files_and_modes(certs_dir: Path) -> None:
    modes = {p.name: p.stat().st_mode & 0o777 for p in certs_dir.iterdir()}
    assert modes == {
        "ca.pem": 0o644,
        "server-cert.pem": 0o644,
        "server-key.pem": 0o600,
        "cert.pem": 0o644,
        "key.pem": 0o600,
    }


def test_server_san_usage_and_chain(certs_dir: Path) -> None:
    ca = _cert(certs_dir / "ca.pem")
    server = _cert(certs_dir / "server-cert.pem")
    client = _cert(certs_dir / "cert.pem")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(ADDR)]
    assert server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH]
    )
    assert client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    for leaf in (server, client):
        leaf.verify_directly_issued_by(ca)
        assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    other_ca = x509.load_pem_x509_certificate(generate(ADDR).ca_cert)
    with pytest.raises((ValueError, Exception)):
        server.verify_directly_issued_by(other_ca)


def test_key_material_is_fresh_per_project(tmp_path: Path) -> None:
    a = generate(ADDR)
    b = generate(ADDR)
    assert a.client_key != b.client_key and a.ca_cert != b.ca_cert


def test_rerun_reuses_certs_for_same_address_and_replaces_for_new(certs_dir: Path) -> None:
    out = certs_dir.parents[2]
    before = (certs_dir / "key.pem").read_bytes()
    res = init_project(InitOptions(strategy="docker_host", docker_host=ADDR, out=out, force=True))
    assert (certs_dir / "key.pem").read_bytes() == before
    assert any("kept the existing certificates" in n for n in res.notes)
    assert not any(p.name.endswith(".pem") for p in res.written)
    res = init_project(InitOptions(strategy="docker_host", docker_host="10.20.30.41", out=out, force=True))
    assert (certs_dir / "key.pem").read_bytes() != before
    assert any("replaced certificates" in n for n in res.notes)


def test_mutual_tls_handshake(tmp_path: Path) -> None:
    # The same material, issued for loopback, must complete a client-authenticated TLS handshake.
    bundle = generate("127.0.0.1")
    for name, data, _ in bundle.files():
        (tmp_path / name).write_bytes(data)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "ca.pem"))
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_cert_chain(tmp_path / "server-cert.pem", tmp_path / "server-key.pem")
    client_ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    client_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    peer: list[str] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            cert = tls.getpeercert()
            peer.append(dict(x[0] for x in cert["subject"])["commonName"])
            tls.sendall(b"ok")

    t = threading.Thread(target=serve)
    t.start()
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.recv(2) == b"ok"
    t.join(5)
    listener.close()
    assert peer == ["gitlab-ci-job"]
