"""The rule fixtures: every case runs every rule, so a finding of another family shows up too.

Each ``cases/<name>/`` holds the user's files (``.gitlab-ci.yml``, ``config.toml``, ``daemon.json``,
``docker.service`` + ``docker.service.d/``, a server certificate where needed), optionally
``live.json`` (facts ``--live`` would read) and ``symptom.txt`` (the error text the job printed, as
``--symptom`` gives it), ``SOURCE.md`` (the documented failure or report the
case reproduces, with the message users saw) and ``expected.json``:

- ``rules``: every rule that fires on the case, ID -> the worst severity it reports, exactly (a rule
  of another family firing on a case is a false positive unless it is listed here);
- ``pass_for`` (optional): rules this healthy or near-miss set-up is the pass fixture of;
- ``ways`` (optional): job -> the way doctor detects.

``<name>-fail`` cases reproduce a failure; a ``<name>-pass`` twin is the fixed set-up. Rewrite the
``rules`` of every case with ``pytest --update-golden``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from buildrig.doctor.base import LiveFacts, Severity
from buildrig.doctor.engine import Inputs, Report, diagnose, discover_rules

CASES = Path(__file__).parent / "cases"
ALL_CASES = sorted(p for p in CASES.iterdir() if p.is_dir())
_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}
# findings of these families also name their line and quote the symptom in the message
_QUOTING_FAMILIES = ("BR0", "BR1", "BR3")
LIVE_ONLY = {"BR310"}  # needs --live; exercised in test_engine with injected LiveFacts


def _expected(case: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((case / "expected.json").read_text())
    return data


def _live(case: Path) -> LiveFacts | None:
    path = case / "live.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return LiveFacts(**data)


def _symptom(case: Path) -> str | None:
    path = case / "symptom.txt"
    return path.read_text().strip() if path.is_file() else None


def _report(case: Path) -> Report:
    report = diagnose(Inputs(directory=case, symptom=_symptom(case)), live=_live(case))
    assert report.problems == (), report.problems
    return report


def _worst(report: Report) -> dict[str, str]:
    worst: dict[str, Severity] = {}
    for f in report.findings:
        if f.rule not in worst or _RANK[f.severity] > _RANK[worst[f.rule]]:
            worst[f.rule] = f.severity
    return {k: str(v) for k, v in sorted(worst.items())}


def _text(report: Report) -> str:
    return "\n".join(
        f"{f.rule} {f.severity} {f.job} {f.loc}\n  {f.message}\n  fix: {f.fix}" for f in report.findings
    )


@pytest.mark.parametrize("case", ALL_CASES, ids=[p.name for p in ALL_CASES])
def test_case(case: Path, update_golden: bool) -> None:
    expected = _expected(case)
    assert set(expected) <= {"rules", "pass_for", "ways"}, f"{case.name}: unknown keys {sorted(expected)}"
    report = _report(case)
    found = _worst(report)
    if update_golden:
        expected["rules"] = found
        (case / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    assert found == expected["rules"], _text(report)
    for rule in expected.get("pass_for", []):
        assert rule not in found, f"{rule} fired on a set-up it must accept\n{_text(report)}"
    for job, way in expected.get("ways", {}).items():
        assert report.ways.get(job) == way, (job, report.ways)
    assert (case / "SOURCE.md").is_file() and (case / "SOURCE.md").read_text().strip(), (
        "every case names the failure or report it reproduces"
    )


def test_every_rule_has_a_fail_and_a_pass_fixture() -> None:
    fired: set[str] = set()
    passed: set[str] = set()
    for case in ALL_CASES:
        expected = _expected(case)
        fired |= set(expected["rules"])
        passed |= set(expected.get("pass_for", []))
        twin = case.with_name(case.name.removesuffix("-fail") + "-pass")
        if case.name.endswith("-fail") and twin.is_dir():
            passed |= set(expected["rules"]) - set(_expected(twin)["rules"])
    rules = {r.ID for r in discover_rules()} - LIVE_ONLY
    assert not sorted(rules - fired), f"rules without a failing fixture: {sorted(rules - fired)}"
    assert not sorted(rules - passed), f"rules without a pass fixture: {sorted(rules - passed)}"


def test_every_fail_case_finds_something_and_its_pass_twin_is_quieter() -> None:
    fails = [p for p in ALL_CASES if p.name.endswith("-fail")]
    assert len(fails) >= 25
    for fail in fails:
        expected = _expected(fail)["rules"]
        assert expected, f"{fail.name} expects no finding"
        twin = fail.with_name(fail.name[: -len("-fail")] + "-pass")
        if twin.is_dir():
            fixed = _expected(twin)["rules"]
            assert not set(expected) <= set(fixed), f"{twin.name} still raises {set(expected)}"


def test_findings_name_the_place_and_job_and_link_docs() -> None:
    for case in ALL_CASES:
        for f in _report(case).findings:
            assert f.loc is not None and f.loc.file, (case.name, f.rule)
            assert f.fix and f.docs and f.docs.startswith("https://"), (case.name, f.rule)
            if f.job is not None and not f.rule.startswith("BR0"):
                assert f"'{f.job}'" in f.message, (case.name, f.rule, f.message)
            if f.rule.startswith(_QUOTING_FAMILIES):
                assert f.loc.line > 0, (case.name, f.rule)
                assert '"' in f.message, (case.name, f.rule, "message quotes the symptom users see")


def test_secrets_never_reach_findings() -> None:
    report = _report(CASES / "b-credentials-in-yaml-fail")
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
_B_FAMILIES = ("BR2", "BR4", "BR5", "BR6", "BR7")


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
            if not f.rule.startswith(_B_FAMILIES):
                continue
            assert f.severity is not Severity.ERROR, (name, f.rule, f.message)
            if f.severity is Severity.WARNING:
                assert f.rule in INHERENT.get(name, set()), (name, f.rule, f.message)
