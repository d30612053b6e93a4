from __future__ import annotations

import pytest
from bench_factory import results, run, sample

from buildrig.bench.stats import Rank, check_targets, ranking, summarize, summarize_group


def _by(summaries: tuple, way: str, scenario: str, cache: str = "registry"):  # type: ignore[no-untyped-def]
    return next(s for s in summaries if (s.way, s.scenario, s.cache) == (way, scenario, cache))


def test_median_min_max_over_successful_repeats_only() -> None:
    sums = summarize(sample().runs)
    cold = _by(sums, "dind", "cold")
    assert (cold.runs, cold.ok) == (4, 3)
    assert cold.median_s == pytest.approx(18.5)
    assert cold.min_s == pytest.approx(17.5)
    assert cold.max_s == pytest.approx(19.5)
    assert cold.phase("services") == pytest.approx(2.0)
    assert cold.phase("build") == pytest.approx(14.0)
    assert cold.phase("other") == pytest.approx(1.0)


def test_ratio_to_shell_same_scenario() -> None:
    sums = summarize(sample().runs)
    assert _by(sums, "shell", "warm").ratio_to_shell == pytest.approx(1.0)
    assert _by(sums, "dind", "cold").ratio_to_shell == pytest.approx(18.5 / 13.5)
    assert _by(sums, "dind", "warm").ratio_to_shell == pytest.approx(8.6 / 3.6)
    assert _by(sums, "docker_sock", "change").ratio_to_shell == pytest.approx(4.7 / 4.6)


def test_ratio_falls_back_to_shell_in_the_other_cache_mode() -> None:
    runs = [run("shell", "warm", 1, 1.0), run("dind", "warm", 1, 3.0, cache="none")]
    sums = summarize(runs)
    assert _by(sums, "dind", "warm", "none").ratio_to_shell == pytest.approx(5.5 / 3.5)


def test_no_shell_no_ratio_and_all_failed_no_median() -> None:
    sums = summarize([run("dind", "warm", 1, 3.0, ok=False)])
    assert sums[0].ratio_to_shell is None
    assert sums[0].median_s is None
    assert sums[0].ok == 0


def test_summarize_group_refuses_mixed_groups() -> None:
    with pytest.raises(ValueError):
        summarize_group([run("shell", "warm", 1, 1.0), run("dind", "warm", 1, 1.0)])


def test_ranking_beside_theory_lists_unrun_seed_ways() -> None:
    ranks = ranking(summarize(sample().runs), "cold", "registry")
    assert ranks == (
        Rank("shell", 1, 1, 13.5),
        Rank("docker_sock", 2, 2, 14.0),
        Rank("dind", 4, 3, 18.5),
        Rank("docker_host", 3, None, None),
        Rank("kaniko", 5, None, None),
    )


def test_ranking_when_measured_order_differs_and_ties_share_a_rank() -> None:
    runs = [run("shell", "cold", 1, 5.0), run("buildah", "cold", 1, 2.0), run("dind", "cold", 1, 5.0)]
    ranks = {r.way: r for r in ranking(summarize(runs), "cold", "registry")}
    assert ranks["buildah"].measured == 1 and ranks["buildah"].theoretical is None
    assert ranks["shell"].measured == ranks["dind"].measured == 2


def test_failed_way_is_listed_unranked() -> None:
    runs = [run("shell", "warm", 1, 1.0), run("dind", "warm", 1, 1.0, ok=False)]
    ranks = {r.way: r for r in ranking(summarize(runs), "warm", "registry")}
    assert ranks["dind"].measured is None


def test_targets() -> None:
    checks = {(c.way, c.scenario): c for c in check_targets(summarize(sample().runs))}
    assert checks[("docker_sock", "warm")].met is True
    assert checks[("dind", "warm")].met is False
    assert checks[("dind", "warm")].limit == 2.0
    assert checks[("dind", "change")].met is True  # 9.6 s / 4.6 s = 2.09×: within 2.5×
    assert checks[("dind", "change")].limit == 2.5
    assert ("shell", "warm") not in checks
    assert ("dind", "cold") not in checks
    assert check_targets(summarize(results([run("dind", "warm", 1, 1.0)]).runs))[0].met is None


def test_build_push_ratio_leaves_out_per_job_costs() -> None:
    # dind's total carries service start and clean-up; build + push compares the image work alone.
    runs = [
        run("shell", "warm", 1, 0.2, push=1.0, other=0.2),
        run("dind", "warm", 1, 1.0, push=1.4, services=2.0, other=4.0),
        run("dind", "warm", 2, 3.0, push=1.0, services=2.0, other=4.0, ok=False),
    ]
    sums = summarize(runs)
    dind = _by(sums, "dind", "warm")
    assert dind.build_push_s == pytest.approx(2.4)  # the failed repeat is left out
    assert dind.build_ratio_to_shell == pytest.approx(2.4 / 1.2)
    assert dind.ratio_to_shell == pytest.approx((2.0 + 0.5 + 2.4 + 4.0) / (0.5 + 1.2 + 0.2))
    check = next(c for c in check_targets(sums) if c.way == "dind")
    assert check.met is False and check.build_ratio == pytest.approx(2.0)
    # a green run that logged no push command pushed inside its build (kaniko, buildctl): the build
    # command is the image work; a run with no build phase has no figure
    no_push = summarize([run("shell", "warm", 1, 0.2), run("kaniko", "warm", 1, 1.0, push=None)])
    assert _by(no_push, "kaniko", "warm").build_push_s == pytest.approx(1.0)
    no_build = summarize([run("shell", "warm", 1, 0.2), run("kaniko", "warm", 1, None, push=None)])
    assert _by(no_build, "kaniko", "warm").build_push_s is None


def test_kaniko_base_unpack_is_a_part_of_the_floor_of_its_own() -> None:
    import dataclasses

    from buildrig.bench.stats import floor, floor_note

    shell = [run("shell", "change", r, 1.0, push=0.5, login=0.1, other=0.2) for r in (1, 2, 3)]
    kaniko = [
        dataclasses.replace(run("kaniko", "change", r, 8.0, push=None, login=None, other=1.2),
                            unpack_s=7.0, inner_push_s=0.2, cache_meta_s=0.1)
        for r in (1, 2, 3)
    ]
    sums = {(s.way, s.scenario): s for s in summarize([*shell, *kaniko])}
    parts = dict(floor(sums[("kaniko", "change")]))
    assert parts["base unpack"] == pytest.approx(7.0)
    assert parts["build steps"] == pytest.approx(8.0 - 7.0 - 0.2 - 0.1)
    check = next(c for c in check_targets(sums.values()) if c.way == "kaniko")
    note = floor_note(check, sums[("kaniko", "change")])
    assert note is not None and "base unpack 7.0" in note and "largest: base unpack 7.0 s" in note
    assert "The base unpack (7.0 s) is kaniko fetching the base image's layers" in note
    assert "extract it only when they pull it" in note
    # a builder that unpacks nothing shows no such part
    assert dict(floor(sums[("shell", "change")]))["base unpack"] is None
