"""The cold run of the host-daemon ways: ``--no-cache`` forced on the scratch pipeline's builds for
that run only (no engine needed: the pipeline is what ``init`` generates)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from buildrig.bench.backend import NO_CACHE, cold_pipeline, force_no_cache

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"


@pytest.mark.parametrize("strategy", ["shell", "docker_sock"])
def test_the_generated_pipeline_builds_without_cache(tmp_path: Path, strategy: str) -> None:
    from buildrig.init import InitOptions, init_project

    project = tmp_path / "p"
    shutil.copytree(HELLO, project)
    init_project(InitOptions(strategy=strategy, out=project, cache="registry"))
    ci = project / ".gitlab-ci.yml"
    before = ci.read_text()
    builds = [ln for ln in before.splitlines() if "docker build" in ln and not ln.lstrip().startswith("#")]
    assert builds, "the generated job builds with docker build"
    with cold_pipeline(ci) as forced:
        during = ci.read_text()
        assert forced == len(builds)
        changed = [ln for ln in during.splitlines() if NO_CACHE in ln]
        assert len(changed) == len(builds)
        assert all(f"docker build {NO_CACHE} " in ln for ln in changed)
        # nothing else moved: removing the flag gives the pipeline back
        assert during.replace(f" {NO_CACHE}", "") == before
    assert ci.read_text() == before  # warm and change build with the cache again


def test_cold_pipeline_restores_the_file_when_the_run_fails(tmp_path: Path) -> None:
    ci = tmp_path / ".gitlab-ci.yml"
    ci.write_text("job:\n  script:\n    - docker build -t x .\n")
    with pytest.raises(RuntimeError), cold_pipeline(ci):
        raise RuntimeError("job crashed")
    assert ci.read_text() == "job:\n  script:\n    - docker build -t x .\n"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("- docker build -t x .", "- docker build --no-cache -t x ."),
        ("- DOCKER_BUILDKIT=1 docker build -t x .", "- DOCKER_BUILDKIT=1 docker build --no-cache -t x ."),
        (
            "- docker -H tcp://h:2376 --tlsverify build .",
            "- docker -H tcp://h:2376 --tlsverify build --no-cache .",
        ),
        ("- docker buildx build --load .", "- docker buildx build --no-cache --load ."),
        ("- docker image build .", "- docker image build --no-cache ."),
        ("- /usr/bin/docker build .", "- /usr/bin/docker build --no-cache ."),
        ("- docker build --no-cache -t x .", "- docker build --no-cache -t x ."),  # already cold
        ("- docker buildx bake", "- docker buildx bake"),
        ("- my-docker build .", "- my-docker build ."),
        ("- docker push x", "- docker push x"),
    ],
)
def test_force_no_cache_lines(line: str, expected: str) -> None:
    text, count = force_no_cache(line + "\n")
    assert text == expected + "\n"
    assert count == (1 if NO_CACHE in expected else 0)
