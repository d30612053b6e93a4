"""One analysis per doctor run: answers are shared inside a run and nothing outlives it."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from buildrig.doctor import analysis, facts, kit
from buildrig.doctor.engine import Inputs, build_context, diagnose, run_rules
from buildrig.gitlab.ci import load_pipeline_text

CASES = Path(__file__).parent / "cases"
CI = """
build:
  image: gcr.io/kaniko-project/executor:v1.23.2-debug
  script:
    - docker info
    - /kaniko/executor --context . --destination registry.example.com/app:1
"""


def test_inside_a_run_each_answer_is_worked_out_once_and_shared() -> None:
    job = load_pipeline_text(CI, Path("/p/.gitlab-ci.yml")).jobs[0]
    with analysis.running() as run:
        assert facts.script_lines(job) is facts.script_lines(job)
        assert kit.docker_command_lines(job) is kit.docker_command_lines(job)
        with analysis.running() as inner:  # a nested step joins the run's analysis
            assert inner is run
        # each caller gets its own word lists (a rule may edit them), the lines are shared
        first, second = kit.kaniko_commands(job), kit.kaniko_commands(job)
        assert first == second and first[0][1] is not second[0][1] and first[0][0] is second[0][0]
        assert len(run) >= 3


def test_outside_a_run_nothing_is_remembered() -> None:
    job = load_pipeline_text(CI, Path("/p/.gitlab-ci.yml")).jobs[0]
    assert facts.script_lines(job) == facts.script_lines(job)
    assert facts.script_lines(job) is not facts.script_lines(job)


def test_a_run_keeps_nothing_alive_after_it_ends() -> None:
    report = diagnose(Inputs(directory=CASES / "b-kaniko-custom-ca-fail"))
    assert report.context.pipeline is not None and report.findings
    job = weakref.ref(report.context.pipeline.jobs[0])
    del report
    gc.collect()
    assert job() is None, "something outside the report still holds the run's jobs"


def test_build_context_and_run_rules_share_one_analysis_when_called_in_one_run() -> None:
    pipeline = load_pipeline_text(CI, Path("/p/.gitlab-ci.yml"))
    with analysis.running() as run:
        ctx = build_context(pipeline, None)
        after_views = len(run)
        run_rules(ctx, [])
        assert len(run) >= after_views > 0
