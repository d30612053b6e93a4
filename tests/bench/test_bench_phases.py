from __future__ import annotations

import pytest

from buildrig.bench.phases import LogLine, ServiceSpan, classify, extract_phases, services_seconds, steps

DIND_LOG = [
    (100.0, "\x1b[0KRunning with buildrig"),
    (100.5, "Starting service docker:29.7.2-dind ..."),
    (102.0, "\x1b[32;1m$ i=0; until docker info >/dev/null 2>&1; do i=$((i+1)); sleep 1; done\x1b[0;m"),
    (
        104.0,
        '\x1b[32;1m$ printf \'%s\\n\' "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" '
        '--password-stdin "$CI_REGISTRY"\x1b[0;m',
    ),
    (104.2, "Login Succeeded"),
    (104.6, '$ docker pull "$BUILD_IMAGE:$CI_COMMIT_REF_SLUG" || true'),
    (105.6, "$ DOCKER_BUILDKIT=1 docker build --build-arg BUILDKIT_INLINE_CACHE=1 --cache-from x -t y ."),
    (106.0, "#1 [internal] load build definition"),
    (111.6, '$ docker push "$BUILD_IMAGE:$CI_COMMIT_SHORT_SHA"'),
    (113.1, '$ docker push "$BUILD_IMAGE:$CI_COMMIT_REF_SLUG"'),
    (113.6, '$ if [ -n "$CI_COMMIT_TAG" ]; then docker tag a b && docker push b; fi'),
    (113.7, '$ echo "BUILDRIG_DIGEST=$(docker image inspect --format x y | cut -d@ -f2)"'),
    (114.0, "BUILDRIG_DIGEST=sha256:abc"),
    (114.3, "Running after_script"),
    (114.4, "$ docker logout"),
    (115.0, "Job succeeded"),
]


def _lines(raw: list[tuple[float, str]]) -> list[LogLine]:
    return [LogLine(t, text) for t, text in raw]


@pytest.mark.parametrize(
    ("command", "phase"),
    [
        ("printf '%s\\n' \"$PW\" | docker login -u u --password-stdin r", "login"),
        ("docker login -u u -p p registry:5000", "login"),
        ("buildah login -u u --password-stdin r", "login"),
        ("/usr/bin/docker --tlsverify -H tcp://docker:2376 login r", "login"),
        ("printf '{\"auths\":{}}' > /kaniko/.docker/config.json", "login"),
        ('echo x > "$HOME/.docker/config.json"', "login"),
        ("docker build -t x .", "build"),
        ("DOCKER_BUILDKIT=1 docker build --cache-from a -t x .", "build"),
        ("docker buildx build --push -t x .", "build"),
        ("docker image build .", "build"),
        ("docker pull a:b || true", "build"),
        ("buildah bud --layers --cache-from r/c -t x .", "build"),
        ("buildah build --layers -t x .", "build"),
        ("/kaniko/executor --context . --destination x --cache=true", "build"),
        ("buildctl-daemonless.sh build --frontend dockerfile.v0 --local context=.", "build"),
        ("docker build -t x . && docker push x", "build"),
        ("docker push x", "push"),
        ("buildah push --digestfile d x", "push"),
        ("time docker push x", "push"),
        ("docker tag a b", "other"),
        ('echo "BUILDRIG_DIGEST=$(docker image inspect x)"', "other"),
        ("cd app", "other"),
        ("docker version", "other"),
        ("i=0; until docker info >/dev/null 2>&1; do sleep 1; done", "services"),
        ("until docker -H tcp://docker:2376 info; do sleep 1; done", "services"),
        ("$ collapsed", "other"),
        ("docker build . # collapsed multi-line command", "build"),
        ("buildah --storage-driver vfs bud -t x .", "build"),
        ("buildah --storage-driver=vfs push x", "push"),
    ],
)
def test_classify(command: str, phase: str) -> None:
    assert classify(command) == phase


def test_steps_run_from_one_echo_to_the_next_and_stop_at_after_script() -> None:
    got = steps(_lines(DIND_LOG))
    assert [s.phase for s in got] == ["services", "login", "build", "build", "push", "push", "push", "other"]
    assert got[0].seconds == pytest.approx(2.0)
    assert got[3].seconds == pytest.approx(6.0)
    # the last script command ends at "Running after_script", not at the job's end
    assert got[-1].end == pytest.approx(114.3)
    # after_script's own commands are not part of the script's phases
    assert all("logout" not in s.command for s in got)


def test_extract_phases_sums_commands_and_adds_service_start() -> None:
    ph = extract_phases(_lines(DIND_LOG), services=[ServiceSpan("docker", 100.5, 101.8)])
    assert ph.services == pytest.approx(1.3 + 2.0)
    assert ph.login == pytest.approx(0.6)
    assert ph.build == pytest.approx(1.0 + 6.0)
    assert ph.push == pytest.approx(1.5 + 0.5 + 0.1)


def test_shell_way_has_no_services_and_kaniko_no_push() -> None:
    shell = extract_phases(
        _lines([(0.0, "$ docker build -t x ."), (3.0, "$ docker push x"), (4.0, "Job succeeded")])
    )
    assert shell.services is None
    assert shell.login is None
    assert shell.build == pytest.approx(3.0)
    assert shell.push == pytest.approx(1.0)
    kaniko = extract_phases(
        _lines(
            [
                (0.0, "$ printf '{}' > /kaniko/.docker/config.json"),
                (0.1, "$ /kaniko/executor --destination x"),
            ]
        ),
        script_end=9.1,
    )
    assert kaniko.push is None
    assert kaniko.login == pytest.approx(0.1)
    assert kaniko.build == pytest.approx(9.0)


def test_failed_job_ends_its_last_command_at_the_failure_line() -> None:
    ph = extract_phases(
        _lines([(0.0, "$ docker build ."), (2.5, "error: x"), (2.6, "ERROR: Job failed: exit code 1")])
    )
    assert ph.build == pytest.approx(2.6)


def test_overlapping_services_count_once() -> None:
    spans = [ServiceSpan("a", 10.0, 12.0), ServiceSpan("b", 10.5, 13.0)]
    assert services_seconds(spans) == pytest.approx(3.0)
    assert services_seconds([]) is None


def test_no_commands_no_phases() -> None:
    ph = extract_phases(_lines([(0.0, "Running with buildrig"), (1.0, "Job succeeded")]))
    assert (ph.services, ph.login, ph.build, ph.push) == (None, None, None, None)
