"""Fixture cases for the input (BR0xx), dind (BR1xx) and docker_host (BR3xx) rules.

Each ``cases/<name>/`` (not ``b-*``, which belong to test_rules_b_cases.py) holds the user's files
(``.gitlab-ci.yml``, ``config.toml``, ``daemon.json``, ``docker.service`` + ``docker.service.d/``,
a server certificate where needed) and ``expected.json``: ``source`` (the documented failure the
case reproduces, with the message users reported), ``scope`` (rule-ID prefixes compared),
``rules`` (ID -> severity of every finding in scope, exactly), optionally ``pass_for`` (rules this
healthy or near-miss set-up must not trigger) and ``ways`` (job -> detected way). Rewrite with
``pytest --update-golden``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildrig.doctor.base import Severity
from buildrig.doctor.engine import Inputs, diagnose, discover_rules

CASES = Path(__file__).parent / "cases"
MY_FAMILIES = ("BR0", "BR1", "BR3")
_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


def _mine(case: Path) -> bool:
    path = case / "expected.json"
    return path.is_file() and "scope" in json.loads(path.read_text())


MY_CASES = sorted(p for p in CASES.iterdir() if p.is_dir() and _mine(p))


def _found(case: Path, scope: list[str]) -> tuple[dict[str, str], dict[str, str | None], str]:
    report = diagnose(Inputs(directory=case))
    assert report.problems == (), report.problems
    worst: dict[str, Severity] = {}
    text = []
    for f in report.findings:
        text.append(f"{f.rule} {f.severity} {f.job} {f.loc}\n  {f.message}\n  fix: {f.fix}")
        if f.rule.startswith(tuple(scope)) and (
            f.rule not in worst or _RANK[f.severity] > _RANK[worst[f.rule]]
        ):
            worst[f.rule] = f.severity
    return {k: str(v) for k, v in sorted(worst.items())}, report.ways, "\n".join(text)


@pytest.mark.parametrize("case", MY_CASES, ids=[p.name for p in MY_CASES])
def test_case(case: Path, update_golden: bool) -> None:
    path = case / "expected.json"
    expected = json.loads(path.read_text())
    found, ways, text = _found(case, expected["scope"])
    if update_golden:
        expected["rules"] = found
        path.write_text(json.dumps(expected, indent=2) + "\n")
    want = expected["rules"]
    if isinstance(want, list):
        assert sorted(found) == sorted(want), text
    else:
        assert found == want, text
    for rule in expected.get("pass_for", []):
        assert rule not in found, f"{rule} fired on a set-up it must accept\n{text}"
    for job, way in expected.get("ways", {}).items():
        assert ways.get(job) == way, (job, ways)
    assert expected["source"], "every case names the documented failure it reproduces"


def test_every_rule_of_my_families_has_a_fail_and_a_pass_fixture() -> None:
    fired: set[str] = set()
    passed: set[str] = set()
    for case in MY_CASES:
        expected = json.loads((case / "expected.json").read_text())
        fired |= set(expected["rules"])
        passed |= set(expected.get("pass_for", []))
    mine = {r.ID for r in discover_rules() if r.ID.startswith(MY_FAMILIES)}
    live_only = {"BR310"}  # exercised in test_engine with injected LiveFacts
    assert mine - live_only <= fired, f"rules without a failing fixture: {sorted(mine - live_only - fired)}"
    without_pass = sorted(r for r in mine - live_only if r not in passed)
    assert not without_pass, f"rules without a pass fixture: {without_pass}"


def test_findings_name_the_place_quote_a_symptom_and_link_docs() -> None:
    for case in MY_CASES:
        report = diagnose(Inputs(directory=case))
        for f in report.findings:
            if not f.rule.startswith(MY_FAMILIES):
                continue
            assert f.loc is not None and f.loc.file and f.loc.line > 0, (case.name, f.rule)
            assert f.fix and f.docs and f.docs.startswith("https://"), (case.name, f.rule)
            assert '"' in f.message, (case.name, f.rule, "message quotes the symptom users see")
            if f.rule.startswith(("BR1", "BR3")) and f.job is not None:
                assert f"'{f.job}'" in f.message, (case.name, f.rule)
