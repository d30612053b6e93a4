"""Fixture cases for the docker_sock, kaniko, buildah/buildkit, shell/runner and security rules.

Each ``cases/b-*/`` directory holds the user's files (``.gitlab-ci.yml``, ``config.toml``,
optionally ``daemon.json``) plus ``live.json`` for facts ``--live`` would read, ``SOURCE.md`` naming
the real report the case comes from, and ``expected.json``: the rules of these families that must
fire, with their severity. ``-fail`` cases reproduce a reported failure; their ``-pass`` twin is
the fixed set-up. Rewrite expectations with ``pytest --update-golden``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildrig.doctor.base import LiveFacts, Severity
from buildrig.doctor.engine import Inputs, diagnose

CASES = Path(__file__).parent / "cases"
FAMILIES = ("BR2", "BR4", "BR5", "BR6", "BR7")
_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}
B_CASES = sorted(p for p in CASES.glob("b-*") if p.is_dir())


def _live(case: Path) -> LiveFacts | None:
    path = case / "live.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if "runner_user_groups" in data:
        data["runner_user_groups"] = tuple(data["runner_user_groups"])
    return LiveFacts(**data)


def _found(case: Path) -> tuple[dict[str, str], str]:
    report = diagnose(Inputs(directory=case), live=_live(case))
    assert report.problems == (), report.problems
    worst: dict[str, Severity] = {}
    text = []
    for f in report.findings:
        text.append(f"{f.rule} {f.severity} {f.job} {f.loc} {f.message} {f.fix}")
        if f.rule.startswith(FAMILIES) and (
            f.rule not in worst or _RANK[f.severity] > _RANK[worst[f.rule]]
        ):
            worst[f.rule] = f.severity
    return {k: str(v) for k, v in sorted(worst.items())}, "\n".join(text)


@pytest.mark.parametrize("case", B_CASES, ids=[p.name for p in B_CASES])
def test_case(case: Path, update_golden: bool) -> None:
    found, text = _found(case)
    expected_path = case / "expected.json"
    if update_golden:
        expected_path.write_text(json.dumps({"rules": found}, indent=2) + "\n")
    expected = json.loads(expected_path.read_text())["rules"]
    assert found == expected, text
    assert (case / "SOURCE.md").is_file()


def test_every_fail_case_finds_something_and_its_pass_twin_is_quieter() -> None:
    fails = [p for p in B_CASES if p.name.endswith("-fail")]
    assert len(fails) >= 25
    for fail in fails:
        expected = json.loads((fail / "expected.json").read_text())["rules"]
        assert expected, f"{fail.name} expects no finding"
        twin = fail.with_name(fail.name[: -len("-fail")] + "-pass")
        if twin.is_dir():
            fixed = json.loads((twin / "expected.json").read_text())["rules"]
            assert not set(expected) <= set(fixed), f"{twin.name} still raises {set(expected)}"


def test_findings_name_the_job_and_a_place() -> None:
    for case in B_CASES:
        report = diagnose(Inputs(directory=case), live=_live(case))
        for f in report.findings:
            if not f.rule.startswith(FAMILIES):
                continue
            assert f.loc is not None and f.loc.file, (case.name, f.rule)
            assert f.fix and f.docs and f.docs.startswith("https://"), (case.name, f.rule)
            if f.job is not None:
                assert f"'{f.job}'" in f.message, (case.name, f.rule, f.message)


def test_secrets_never_reach_findings() -> None:
    case = CASES / "b-credentials-in-yaml-fail"
    report = diagnose(Inputs(directory=case))
    blob = " ".join(f"{f.message} {f.fix}" for f in report.findings)
    ours = [f for f in report.findings if f.rule == "BR706"]
    assert len(ours) == 2
    assert "[MASKED]" in blob
    for secret in ("Sup3rS3cret-Registry-Pw", "Hunter2-Literal-Pw"):
        assert secret not in blob


INIT_CASES = Path(__file__).parents[1] / "init" / "cases"
# Warnings inherent to a variant (stated in its SETUP.md): binding the host's socket (root on the
# host: init does not declare the runner dedicated for the user), the node's socket on Kubernetes,
# a plain-TCP daemon the user asked for.
INHERENT = {
    "docker_sock-docker": {"BR703"},
    "docker_sock-docker-autoscaler": {"BR703"},
    "docker_sock-kubernetes": {"BR606", "BR703"},
    "docker_host-docker-insecure-plain": {"BR701"},
}


def test_init_generated_configs_get_no_error_and_only_inherent_warnings() -> None:
    generated = sorted(
        p / "expected" / "files" for p in INIT_CASES.iterdir() if (p / "expected" / "files").is_dir()
    )
    assert len(generated) >= 20
    for files in generated:
        report = diagnose(Inputs(directory=files))
        assert report.problems == (), report.problems
        name = files.parents[1].name
        for f in report.findings:
            if not f.rule.startswith(FAMILIES):
                continue
            assert f.severity is not Severity.ERROR, (name, f.rule, f.message)
            if f.severity is Severity.WARNING:
                assert f.rule in INHERENT.get(name, set()), (name, f.rule, f.message)
