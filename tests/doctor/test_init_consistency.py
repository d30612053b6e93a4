"""Every configuration ``buildrig init`` generates passes ``buildrig doctor``.

For each way x executor it supports (dind with and without TLS, docker_host with a private
address), init writes into a scratch directory and doctor reads that directory the way a user
would run it (``buildrig doctor DIR``: ``.gitlab-ci.yml``, ``runner/config.toml`` and the host
drop-in and certificates under ``runner/host/``). No errors are allowed; the only warnings allowed
are the ones inherent to the way, and each of those must be stated in the generated SETUP.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from buildrig import strategies
from buildrig.doctor.base import Severity
from buildrig.doctor.engine import Inputs, diagnose
from buildrig.init import InitOptions, init_project

# (way, executor or "*") -> {rule: words SETUP.md must contain to state it}
INHERENT: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("dind", "*"): {"BR702": ("privileged",)},
    ("docker_sock", "*"): {"BR703": ("socket",)},
    ("docker_sock", "kubernetes"): {"BR606": ("containerd",), "BR703": ("socket",)},
    ("dind", "kubernetes-plain"): {"BR702": ("privileged",), "BR705": ("tls", "disabled")},
}


def _configs() -> list[tuple[str, str, bool]]:
    out = []
    for s in strategies.ALL:
        for executor in s.executors:
            for tls in (True, False) if s.name == "dind" else (True,):
                out.append((s.name, executor, tls))
    return out


CONFIGS = _configs()


def _allowed(way: str, executor: str, tls: bool) -> dict[str, tuple[str, ...]]:
    allowed = dict(INHERENT.get((way, "*"), {}))
    allowed.update(INHERENT.get((way, executor), {}))
    if not tls:
        allowed.update(INHERENT.get((way, f"{executor}-plain"), {}))
    return allowed


@pytest.mark.parametrize(
    ("way", "executor", "tls"),
    CONFIGS,
    ids=[f"{w}-{e}-{'tls' if t else 'plain'}" for w, e, t in CONFIGS],
)
def test_init_output_is_clean_for_doctor(tmp_path: Path, way: str, executor: str, tls: bool) -> None:
    init_project(
        InitOptions(
            strategy=way,
            executor=executor,
            out=tmp_path,
            tls=tls,
            docker_host="10.0.0.5" if way == "docker_host" else None,
        )
    )
    report = diagnose(Inputs(directory=tmp_path))
    assert report.problems == ()
    assert report.ways == {"build-image": way}
    assert report.context.runner_config is not None, "doctor finds runner/config.toml in DIR"
    if way == "docker_host":
        assert report.context.daemon is not None and report.context.daemon.hosts_flags
        assert report.context.daemon.tlscert_sans, "doctor reads the SANs of the generated certificate"
    shown = [f"{f.rule} {f.severity} {f.loc}: {f.message}" for f in report.findings]
    errors = [f for f in report.findings if f.severity == Severity.ERROR]
    assert not errors, "\n".join(shown)
    allowed = _allowed(way, executor, tls)
    warnings = {f.rule for f in report.findings if f.severity == Severity.WARNING}
    assert warnings <= set(allowed), "\n".join(shown)
    setup = (tmp_path / "runner" / "SETUP.md").read_text().lower()
    for rule in warnings:
        for word in allowed[rule]:
            assert word in setup, f"SETUP.md does not state {rule} ({word!r})"


def test_doctor_still_catches_a_broken_init_config(tmp_path: Path) -> None:
    """The clean result above is not vacuous: unsharing the certs volume is caught."""
    init_project(InitOptions(strategy="dind", executor="docker", out=tmp_path))
    config = tmp_path / "runner" / "config.toml"
    config.write_text(config.read_text().replace('"/certs/client", ', ""))
    report = diagnose(Inputs(directory=tmp_path))
    assert "BR102" in {f.rule for f in report.findings if f.severity == Severity.ERROR}
