"""The engine client against a TCP+TLS daemon (DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from buildrig import engine
from buildrig.doctor.live import gather
from buildrig.init import InitOptions, init_project
from buildrig.run.model import RegistryInfo
from buildrig.testbed import dockerhost

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def test_tls_engine_is_verified_with_its_own_ca_when_requests_ca_bundle_is_set(
    testbed: RegistryInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    # requests lets REQUESTS_CA_BUNDLE replace a session's CA: the daemon's certificate, signed by
    # init's own CA, would then be checked against the system bundle and refused.
    project = tmp_path / "project"
    init_project(InitOptions(strategy="docker_host", out=project, docker_host=dockerhost.address()))
    certs = project / "runner" / "host" / "certs"
    info = dockerhost.start(certs)
    client_dir = tmp_path / "client"
    client_dir.mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        shutil.copy(certs / name, client_dir / name)
    monkeypatch.setenv("DOCKER_HOST", info.url)
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(client_dir))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    remote = engine.client(timeout=30)
    try:
        assert remote.version()["ApiVersion"]
        # the daemon is the test bed's, not the local one
        assert remote.info()["Name"] != cli.info()["Name"]
    finally:
        remote.close()
    # doctor --live asks the same engine the same way
    facts = gather(timeout=10)
    assert facts.engine_version is not None
    assert not [n for n in facts.notes if "does not answer" in n or "did not answer" in n]
