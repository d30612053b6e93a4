"""The cold run of the host-daemon ways: every stage of the scratch Dockerfile starts with a copy of
a file unique to the workspace, so no step can match the host daemon's build cache (no engine
needed: these are the scratch copy's files)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from buildrig.bench.backend import NONCE_FILE, chain_after_from, isolate_build_cache
from buildrig.bench.orchestrate import _dockerfile_instructions

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"
NONCE_COPY = f"COPY {NONCE_FILE} /{NONCE_FILE}"


def test_examples_hello_gets_one_unique_first_step(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    shutil.copytree(HELLO, scratch)
    before = (scratch / "Dockerfile").read_text()
    assert isolate_build_cache(scratch, "run1-shell-registry-r1-abc") == 1
    after = (scratch / "Dockerfile").read_text()
    steps = [instr for _, instr in _dockerfile_instructions(after)]
    assert steps[0] == "FROM python:3.11-slim-bookworm"
    assert steps[1] == NONCE_COPY  # before WORKDIR: the first step the cache could match
    assert after.replace(NONCE_COPY + "\n", "", 1) == before  # nothing else moved
    assert (scratch / NONCE_FILE).read_text() == "run1-shell-registry-r1-abc\n"
    assert not (HELLO / NONCE_FILE).exists()  # the user's project is untouched


def test_every_stage_and_continued_from_lines() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=alpine:3.20\n"
        "FROM ${BASE} \\\n"
        "    AS build\n"
        "RUN make\n"
        "from scratch\n"
        "COPY --from=build /out /out"
    )
    out, stages = chain_after_from(text)
    assert stages == 2
    assert out.splitlines() == [
        "# syntax=docker/dockerfile:1",
        "ARG BASE=alpine:3.20",
        "FROM ${BASE} \\",
        "    AS build",
        NONCE_COPY,
        "RUN make",
        "from scratch",
        NONCE_COPY,
        "COPY --from=build /out /out",
    ]


def test_dockerignore_cannot_drop_the_nonce(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\nCOPY app/ /app/\n")
    (tmp_path / ".dockerignore").write_text("*\n!app/")
    isolate_build_cache(tmp_path, "n")
    assert (tmp_path / ".dockerignore").read_text() == f"*\n!app/\n!{NONCE_FILE}\n"


@pytest.mark.parametrize("text", ["", "# no stage\n"])
def test_no_from_no_change(text: str) -> None:
    assert chain_after_from(text) == (text, 0)


def test_dind_keygen_is_measured_here_and_named_in_the_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in dind service makes P-256 keys; the official entrypoint makes two RSA-4096 keys
    per new service container. bench times `openssl genrsa 4096` on the machine and says so."""
    from buildrig.bench import machine

    assert shutil.which("openssl"), "scripts/setup.sh installs openssl"
    took = machine.rsa4096_seconds(tries=1)
    assert len(took) == 1 and took[0] > 0
    note = machine.dind_keygen_note((1.25, 3.5))
    assert "two RSA-4096 keys" in note and "took 1.2, 3.5 s here" in note
    from buildrig.bench.backend import RealBackend

    backend = RealBackend(Path("."))
    assert not any("RSA-4096" in n for n in backend.notes())  # no dind run, no note
    backend.dind_keygen = (1.25, 3.5)
    assert note in backend.notes()
    monkeypatch.setattr(machine.shutil, "which", lambda name: None)
    assert machine.rsa4096_seconds() == ()


def test_bare_container_floor_is_timed_in_a_job_image_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `docker run --rm` costs on the engine, the floor of every way but shell, timed in the
    docker CLI stand-in the docker ways' jobs run in; every probe container is removed."""
    from buildrig import engine, versions
    from buildrig.bench.backend import RealBackend
    from buildrig.testbed import images

    backend = RealBackend(Path("."))
    assert not any("container floor" in n for n in backend.notes())  # nothing probed, nothing said
    took, error = backend._probe_container("docker_sock")
    assert error is None and len(took) == 3 and all(0 < t < 60 for t in took)
    left = backend.cli.api.containers(all=True, filters={"label": f"{engine.LABEL_RUN}={backend.run_id}"})
    assert left == []
    backend.bare_container_s = (0.312, 0.298)
    assert backend.bare_container() == (0.312, 0.298)
    assert any("container floor" in n and "took 0.31, 0.30 s on this engine" in n for n in backend.notes())
    # an engine that refuses (no such image) gives no figure, and the notes say why
    absent = "buildrig-test/absent:none"
    monkeypatch.setattr(images, "overrides", lambda: {versions.DOCKER_CLI_IMAGE: absent})
    took, error = backend._probe_container("docker_sock")
    assert took == () and error is not None and error.startswith(absent)
    backend.bare_container_s, backend.bare_container_error = took, error
    assert any(n.startswith(f"container floor: not measured ({absent}") for n in backend.notes())


def test_builders_are_named_only_when_the_docker_ways_used_different_ones() -> None:
    from buildrig.bench.backend import RealBackend

    backend = RealBackend(Path("."))
    backend.builders = {"shell": "BuildKit", "docker_sock": "BuildKit"}
    assert not any(n.startswith("builders:") for n in backend.notes())
    backend.builders = {"shell": "legacy", "docker_sock": "BuildKit"}
    said = "builders: `docker build` used the legacy builder in shell"
    assert any(n.startswith(said) for n in backend.notes())
