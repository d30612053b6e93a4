"""A private CA and the leaf certificates the test bed's servers present (registry, test daemon).

Go's TLS stack ignores the subject CN, so every server certificate carries its names and IP
addresses as SANs.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from buildrig.errors import BuildrigError
from buildrig.fsutil import atomic_write, ensure_mode


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def ensure_ca(directory: Path, common_name: str = "buildrig test bed CA") -> CertPair:
    """The CA in ``directory`` (``ca.crt``/``ca.key``), created on first use and then reused.

    Reusing it matters: stand-in images bake its certificate, so a new CA would invalidate them.
    """
    pair = CertPair(directory / "ca.crt", directory / "ca.key")
    if pair.cert.exists() and pair.key.exists():
        # Reused, maybe from a copy or an older buildrig: the key must not be readable by others.
        ensure_mode(pair.key, 0o600)
        return pair
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - _dt.timedelta(minutes=5))
        .not_valid_after(_now() + _dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    atomic_write(pair.key, _key_pem(key), mode=0o600)
    atomic_write(pair.cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return pair


def _load_ca(ca: CertPair) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
        key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise BuildrigError(f"{ca.cert}: cannot load the test bed CA: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise BuildrigError(f"{ca.key}: not an EC key; remove {ca.cert.parent} to start over")
    return cert, key


def issue(
    ca: CertPair,
    out_dir: Path,
    stem: str,
    *,
    common_name: str,
    dns_names: tuple[str, ...] = (),
    ip_addresses: tuple[str, ...] = (),
    client: bool = False,
) -> CertPair:
    """Sign a server (default) or client certificate with ``ca``; writes ``<stem>.crt/.key``."""
    ca_cert, ca_key = _load_ca(ca)
    key = _key()
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - _dt.timedelta(minutes=5))
        .not_valid_after(_now() + _dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    pair = CertPair(out_dir / f"{stem}.crt", out_dir / f"{stem}.key")
    atomic_write(pair.key, _key_pem(key), mode=0o600)
    atomic_write(pair.cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return pair


def cert_sans(path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(DNS names, IP addresses) a certificate is valid for."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return (), ()
    return (
        tuple(ext.get_values_for_type(x509.DNSName)),
        tuple(str(a) for a in ext.get_values_for_type(x509.IPAddress)),
    )


def fingerprint(path: Path) -> str:
    """SHA-256 of a PEM certificate's DER form (hex), for cache keys."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex()
