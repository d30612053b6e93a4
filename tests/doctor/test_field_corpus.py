"""The field corpus (``tests/doctor/field/<case>/``) is well-formed.

The corpus holds real set-ups from public threads and docs, graded by
``benchmarks/doctor_field_report.py``; this test checks its shape only (sources, expectations,
input files), never doctor's score on it.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from buildrig.doctor.engine import discover_rules

FIELD = Path(__file__).parent / "field"
CASES = sorted(p for p in FIELD.iterdir() if p.is_dir())

WAYS = {"shell", "docker_sock", "docker_host", "dind", "kaniko", "buildah", "buildkit"}
VERDICTS = {"broken", "healthy", "risk"}
SEVERITIES = {"error", "warning", "info"}
INPUTS = {".gitlab-ci.yml", "config.toml", "daemon.json", "docker.service"}
ALLOWED_FILES = INPUTS | {"SOURCE.md", "expected.toml", "Dockerfile"}
KEYS = {
    "way",
    "verdict",
    "cause",
    "severity",
    "host_fact",
    "accept_rules",
    "declared_risks",
    "expected_warnings",
}
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
URL = re.compile(r"^Source: (https?://\S+)$", re.MULTILINE)


def _expected(case: Path) -> dict[str, object]:
    return tomllib.loads((case / "expected.toml").read_text())


def _ids(value: object) -> list[str]:
    assert isinstance(value, list), value
    assert all(isinstance(v, str) for v in value), value
    return [str(v) for v in value]


@pytest.fixture(scope="module")
def rule_ids() -> set[str]:
    return {r.ID for r in discover_rules()}


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_case_is_well_formed(case: Path, rule_ids: set[str]) -> None:
    assert SLUG.match(case.name), f"{case.name}: folder names are lower-case slugs"
    files = {p.name for p in case.iterdir()}
    assert files <= ALLOWED_FILES, f"unexpected files {sorted(files - ALLOWED_FILES)}"
    assert files & INPUTS, "at least one of the user's files (.gitlab-ci.yml, config.toml, ...)"

    source = (case / "SOURCE.md").read_text()
    assert URL.search(source), "SOURCE.md names the public source on a 'Source: <URL>' line"
    quote = source.split("What users saw:", 1)
    assert len(quote) == 2 and re.search(r"^> \S", quote[1], re.MULTILINE), (
        "SOURCE.md quotes what users saw (or, for a healthy set-up, what the source shows)"
    )

    exp = _expected(case)
    assert set(exp) <= KEYS, f"unknown keys {sorted(set(exp) - KEYS)}"
    assert exp["way"] in WAYS
    assert exp["verdict"] in VERDICTS
    for key in ("accept_rules", "declared_risks", "expected_warnings"):
        unknown = set(_ids(exp.get(key, []))) - rule_ids
        assert not unknown, f"{key} names rules doctor does not have: {sorted(unknown)}"
    if exp["verdict"] == "healthy":
        assert not {"cause", "severity", "host_fact", "accept_rules"} & set(exp), (
            "a healthy case has no cause, severity or accept_rules"
        )
    else:
        assert isinstance(exp.get("cause"), str) and SLUG.match(str(exp["cause"])), "cause slug"
        assert exp.get("severity") in SEVERITIES
        assert "accept_rules" in exp, "accept_rules (may be empty when no rule expresses the cause)"
        assert not set(exp) & {"declared_risks", "expected_warnings"}
    if "host_fact" in exp:
        assert exp["verdict"] == "broken" and str(exp["host_fact"]).strip()


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_input_files_parse(case: Path) -> None:
    ci = case / ".gitlab-ci.yml"
    if ci.is_file():
        doc = YAML(typ="safe").load(ci.read_text())
        assert isinstance(doc, dict) and doc, ".gitlab-ci.yml is a non-empty mapping"
    toml = case / "config.toml"
    if toml.is_file():
        assert "runners" in tomllib.loads(toml.read_text()), "config.toml has [[runners]]"
    daemon = case / "daemon.json"
    if daemon.is_file():
        assert isinstance(json.loads(daemon.read_text()), dict)
    unit = case / "docker.service"
    if unit.is_file():
        assert "ExecStart=" in unit.read_text()


def test_corpus_covers_every_category() -> None:
    by_verdict: dict[str, int] = {}
    host_facts = 0
    for case in CASES:
        exp = _expected(case)
        by_verdict[str(exp["verdict"])] = by_verdict.get(str(exp["verdict"]), 0) + 1
        host_facts += "host_fact" in exp
    assert by_verdict.get("healthy", 0) >= 12, by_verdict
    assert by_verdict.get("risk", 0) >= 1 and by_verdict.get("broken", 0) >= 1, by_verdict
    assert 0 < host_facts < by_verdict["broken"], "both broken categories are present"
