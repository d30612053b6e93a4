"""The docker_host TLS material: a CA, a server certificate for the daemon, a client certificate.

ECDSA P-256 keys (small, fast, accepted by dockerd and the docker CLI). The server certificate
names the listen address as an IP SAN (plus any DNS names given); the client certificate carries
``clientAuth`` only. Key files must be written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 825
# Each file's mode: private keys 0600, certificates 0644.
MODES: dict[str, int] = {
    "ca.pem": 0o644,
    "server-cert.pem": 0o644,
    "server-key.pem": 0o600,
    "cert.pem": 0o644,
    "key.pem": 0o600,
}


@dataclass(frozen=True)
class CertBundle:
    ca_cert: bytes
    server_cert: bytes
    server_key: bytes
    client_cert: bytes
    client_key: bytes

    def files(self) -> tuple[tuple[str, bytes, int], ...]:
        """(file name, PEM, mode) in the layout dockerd and the docker CLI expect."""
        data = {
            "ca.pem": self.ca_cert,
            "server-cert.pem": self.server_cert,
            "server-key.pem": self.server_key,
            "cert.pem": self.client_cert,
            "key.pem": self.client_key,
        }
        return tuple((name, data[name], mode) for name, mode in MODES.items())


FILE_NAMES: tuple[str, ...] = tuple(MODES)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "buildrig"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def generate(address: str, dns_names: tuple[str, ...] = (), *, now: dt.datetime | None = None) -> CertBundle:
    """A fresh CA, server certificate for ``address`` and client certificate."""
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    end = start + dt.timedelta(days=VALID_DAYS)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("buildrig docker_host CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(
        cn: str, usage: x509.ObjectIdentifier, san: list[x509.GeneralName] | None
    ) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)

    sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(address))]
    sans += [x509.DNSName(n) for n in dns_names]
    server_cert, server_key = leaf(address, ExtendedKeyUsageOID.SERVER_AUTH, sans)
    client_cert, client_key = leaf("gitlab-ci-job", ExtendedKeyUsageOID.CLIENT_AUTH, None)
    return CertBundle(
        ca_cert=ca_cert.public_bytes(serialization.Encoding.PEM),
        server_cert=server_cert,
        server_key=server_key,
        client_cert=client_cert,
        client_key=client_key,
    )


def server_cert_names_ip(pem: bytes, address: str) -> bool:
    """Whether an existing server certificate is valid for ``address`` (for reuse on re-runs)."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    return ipaddress.ip_address(address) in san.get_values_for_type(x509.IPAddress)
