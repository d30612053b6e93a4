"""The cached-step counter and the build-time split, on excerpts of real job logs that
``buildrig bench examples/hello`` wrote (tests/bench/buildlogs/, one per builder and scenario)."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildrig.bench.buildlog import build_times, cached_steps, docker_builder
from buildrig.bench.orchestrate import JobRun, build_lines, execution_from
from buildrig.bench.phases import LogLine

LOGS = Path(__file__).parent / "buildlogs"


def load(name: str) -> tuple[LogLine, ...]:
    """A bench job log (``<seconds>  <text>`` per line) as the timestamped lines it came from."""
    out = []
    for raw in (LOGS / name).read_text(encoding="utf-8").splitlines():
        out.append(LogLine(float(raw[:8]), raw[10:]))
    return tuple(out)


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        # Docker's classic builder (the shell executor's host CLI): " ---> Using cache" per step
        ("classic-warm.log", 9),
        ("classic-cold.log", 0),
        # BuildKit through `docker build` (docker_sock): "#7 CACHED"; "[1/6] FROM" is the base image
        ("buildkit-docker-warm.log", 5),
        # BuildKit in dind with --cache-from: the cached layers are pulled, then CACHED
        ("buildkit-dind-warm.log", 5),
        # kaniko: "Using caching version of cmd" then "Found cached layer" for the same RUN: one step
        ("kaniko-warm.log", 1),
        ("kaniko-cold.log", 0),
        # buildah --layers: "--> Using cache <id>" per step
        ("buildah-warm.log", 9),
        ("buildah-cold.log", 0),
        # buildctl (BuildKit rootless) with a registry cache
        ("buildctl-warm.log", 5),
        ("buildctl-cold.log", 0),
    ],
)
def test_cached_steps_on_real_logs(log: str, expected: int) -> None:
    assert cached_steps(load(log)) == expected


def test_a_step_named_like_a_cache_hit_is_not_one() -> None:
    lines = [
        LogLine(0, "Step 3/6 : RUN echo Using cache"),
        LogLine(0, "INFO[0001] RUN echo Using caching version of cmd"),
        LogLine(0, "STEP 2/4: RUN echo '--> Using cache'"),
        LogLine(0, "#9 [2/4] RUN echo CACHED"),
        LogLine(0, "#5 [stage-1 1/3] FROM docker.io/library/alpine:3.20"),
        LogLine(0, "#5 CACHED"),
        LogLine(0, " => CACHED [1/6] FROM docker.io/library/python:3.11-slim"),
        LogLine(0, " => CACHED [2/6] WORKDIR /app"),
        LogLine(0, "\x1b[36mINFO\x1b[0m[0002] Using caching version of cmd: RUN make"),
    ]
    # only the tty-drawn WORKDIR and kaniko's (coloured) RUN are steps from a cache
    assert cached_steps(lines) == 2


def test_build_lines_are_the_build_commands_output_only() -> None:
    lines = (
        LogLine(0.0, "$ docker build -t x ."),
        LogLine(0.5, " ---> Using cache"),
        LogLine(1.0, "$ docker push x"),
        LogLine(1.5, " ---> Using cache"),  # not the build's (a made-up line after the push)
        LogLine(2.0, "Job succeeded"),
    )
    assert [ln.t for ln in build_lines(lines)] == [0.5]


def test_dind_warm_spends_its_build_pulling_cached_layers() -> None:
    times = build_times(build_lines(load("buildkit-dind-warm.log")))
    # importing the cache manifest (7.67 → its DONE at 8.24) + first pull of #12 at 8.66 s to its
    # CACHED at 17.08 s
    assert times.cache_meta == pytest.approx((8.24 - 7.67) + (17.08 - 8.66))
    assert times.push == 0.0  # dind pushes with `docker push`, outside the build command


def test_kaniko_cache_lookups_and_pushes_from_the_build_command() -> None:
    warm = build_times(build_lines(load("kaniko-warm.log")))
    # the cache look-up (2.08 → 3.38) and the extraction of the cached RUN layer (7.39 → 7.53)
    assert warm.cache_meta == pytest.approx((3.38 - 2.08) + (7.53 - 7.39))
    # two destinations: "Pushing image to" → "Pushed" → next "Pushing image to" → "Pushed" (last line)
    assert warm.push == pytest.approx(9.84 - 7.54)
    cold = build_times(build_lines(load("kaniko-cold.log")))
    assert cold.cache_meta > 0 and cold.push > 0  # the cache repository is filled on a cold run


def test_kaniko_base_image_unpack_counts_apart_from_the_build_steps() -> None:
    """kaniko unpacks the base image into its root before a COPY it has to run ("Unpacking rootfs
    as cmd COPY ... requires it." until the next line): the floor shows it as its own part."""
    assert build_times(build_lines(load("kaniko-warm.log"))).unpack == pytest.approx(7.37 - 3.38)
    assert build_times(build_lines(load("kaniko-cold.log"))).unpack == pytest.approx(3.97 - 1.44)
    # the other builders never unpack a base image: their stores keep it as layers
    for log in ("buildah-warm.log", "buildctl-warm.log", "buildkit-docker-warm.log", "classic-warm.log"):
        assert build_times(build_lines(load(log))).unpack == 0.0


def _job(lines: tuple[LogLine, ...], ok: bool = True) -> JobRun:
    return JobRun(ok, lines[0].t, lines[-1].t + 0.1, 1.8e9, lines)


def test_a_cold_run_that_took_cached_steps_fails_loudly() -> None:
    warm_log = load("classic-warm.log")
    cold = execution_from(_job(warm_log), "shell", "cold", 1, "registry")
    assert cold.ok is False and cold.cached_steps == 9
    assert cold.error is not None
    assert cold.error.startswith("not cold: 9 build step(s) came from a layer cache")
    # the same log as a warm run is what a warm run should look like
    warm = execution_from(_job(warm_log), "shell", "warm", 1, "registry")
    assert warm.ok is True and warm.cached_steps == 9 and warm.error is None
    honest = execution_from(_job(load("classic-cold.log")), "shell", "cold", 1, "registry")
    assert honest.ok is True and honest.cached_steps == 0
    # a failed job keeps its own reason beside the cache one
    failed = execution_from(
        JobRun(False, 0.0, 9.0, 1.8e9, warm_log, error="exit code 1"), "shell", "cold", 1, "registry"
    )
    assert failed.error is not None and failed.error.endswith("; also: exit code 1")


def test_buildah_cache_pulls_and_pushes() -> None:
    warm = build_times(build_lines(load("buildah-warm.log")))
    # nine "Cache pulled from remote" lines, each since the line before: STEP 2 (15.52 → 18.02) ...
    assert warm.cache_meta == pytest.approx(
        (18.02 - 15.52) + (18.42 - 18.08) + (19.42 - 18.52) + (20.65 - 19.51) + (21.50 - 20.71)
        + (22.76 - 21.57) + (23.20 - 22.82) + (23.64 - 23.26) + (24.19 - 23.79)
    )
    cold = build_times(build_lines(load("buildah-cold.log")))
    # --cache-to pushes every step's layer as it builds: "Pushing cache" lasts until the next line
    assert cold.cache_meta == pytest.approx(
        (24.56 - 13.56) + (25.79 - 25.07) + (33.01 - 29.24) + (40.76 - 37.61) + (46.30 - 43.89)
        + (53.46 - 51.06) + (56.43 - 53.66) + (58.12 - 56.54) + (60.71 - 58.32)
    )
    assert warm.push == cold.push == 0.0  # buildah pushes with `buildah push`, outside the build


def test_buildctl_push_and_cache_export_count_once() -> None:
    warm = build_times(build_lines(load("buildctl-warm.log")))
    # the image push: first "pushing layers" (2.10) to #13 DONE (4.67); BuildKit says the cache
    # export took 2.8 s, but it ran beside the push: only its own wall time counts (4.67 → 4.78),
    # with the import of the cache manifest (1.39 → 1.56)
    assert warm.push == pytest.approx(4.67 - 2.10)
    assert warm.cache_meta == pytest.approx((1.56 - 1.39) + (4.78 - 4.67))
    cold = build_times(build_lines(load("buildctl-cold.log")))
    assert cold.push == pytest.approx(24.74 - 17.93)
    assert cold.cache_meta > 0


def test_job_start_and_end_from_a_real_dind_job() -> None:
    from buildrig.bench.backend import services_from_log
    from buildrig.bench.stats import floor, summarize

    lines = load("dind-warm-job.log")
    job = JobRun(True, 0.0, 43.03, 1.8e9, lines, services_from_log(lines))
    ex = execution_from(job, "dind", "warm", 1, "registry")
    # services 0.10 → 2.64 ("Executing step_script"); the first command at 3.78
    assert ex.setup_s == pytest.approx(3.78 - (2.64 - 0.10))
    # the last line the script printed is at 21.05; "Job succeeded" at 43.03: 22 s of clean-up
    assert ex.teardown_s == pytest.approx(43.03 - 21.05)
    assert ex.cached_steps == 5
    (summary,) = summarize([ex])
    parts = dict(floor(summary))
    assert parts["job end"] == pytest.approx(21.98)
    assert parts["other"] == pytest.approx(ex.other_s - ex.setup_s - ex.teardown_s)
    assert sum(v or 0.0 for v in parts.values()) == pytest.approx(43.03)


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        ("classic-warm.log", "legacy"),
        ("classic-cold.log", "legacy"),
        ("buildkit-docker-warm.log", "BuildKit"),
        ("buildkit-dind-warm.log", "BuildKit"),
        # not `docker build`: neither builder's progress
        ("kaniko-warm.log", None),
        ("buildah-warm.log", None),
    ],
)
def test_which_builder_docker_build_used(log: str, expected: str | None) -> None:
    assert docker_builder(load(log)) == expected


def test_builders_note_names_the_ways_on_each_builder() -> None:
    from buildrig.bench.backend import builders_note

    note = builders_note({"shell": "legacy", "docker_sock": "BuildKit", "dind": "BuildKit"})
    assert "the legacy builder in shell" in note and "BuildKit in docker_sock, dind" in note
    assert "includes the difference between the two builders" in note
