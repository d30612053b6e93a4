"""``parallel`` stays within GitLab's 1..200 jobs (issue 14: 100,000,000 never finished)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from buildrig.errors import InputError, Loc
from buildrig.gitlab.model import Job
from buildrig.run.inputs import expand_parallel


def _job(parallel: Any) -> Job:
    return Job(
        "t",
        "test",
        Loc("ci.yml", 1),
        raw={"parallel": parallel},
        key_locs=MappingProxyType({"parallel": Loc("ci.yml", 3)}),
    )


@pytest.mark.parametrize("value", [0, -1, 201, 100_000_000])
def test_parallel_out_of_range(value: int) -> None:
    with pytest.raises(InputError, match=r"^ci\.yml:3: t: parallel must be between 1 and 200$"):
        expand_parallel(_job(value))


def test_parallel_limits_inclusive() -> None:
    assert len(expand_parallel(_job(200))) == 200
    assert [j.name for j in expand_parallel(_job(1))] == ["t"]


def test_matrix_over_200_jobs_is_refused_before_it_is_built() -> None:
    values = [str(i) for i in range(10)]
    big = {"matrix": [{f"V{k}": values for k in range(9)}]}  # 10**9 combinations
    with pytest.raises(InputError, match=r"ci\.yml:3: t: parallel: matrix makes more than 200 jobs"):
        expand_parallel(_job(big))
    two = {"matrix": [{"A": [str(i) for i in range(100)]}, {"B": [str(i) for i in range(101)]}]}
    with pytest.raises(InputError, match="more than 200"):
        expand_parallel(_job(two))
    assert len(expand_parallel(_job({"matrix": [{"A": values, "B": values[:2]}]}))) == 20


@pytest.mark.parametrize("value", ["3", 1.5, True, {"matrix": 1}, [1]])
def test_parallel_of_the_wrong_type(value: Any) -> None:
    with pytest.raises(InputError, match="parallel must be a number or a mapping with matrix"):
        expand_parallel(_job(value))
