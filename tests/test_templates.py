"""The GitLab CI/CD component ``templates/doctor/template.yml``: valid against GitLab's CI schema
(the copy check-jsonschema vendors), inputs declared and used, and its script, run here with the
installed buildrig, writes the Code Quality report it uploads and fails on errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from check_jsonschema.builtin_schemas import get_builtin_schema
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "doctor" / "template.yml"
_INPUT = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")


def _documents() -> tuple[dict[str, Any], str]:
    header, body = TEMPLATE.read_text().split("\n---\n", 1)
    return YAML(typ="safe").load(header), body


def _interpolate(body: str, inputs: dict[str, Any]) -> dict[str, Any]:
    def value(m: re.Match[str]) -> str:
        v = inputs[m.group(1)]
        return json.dumps(v) if isinstance(v, bool) else str(v)

    data: dict[str, Any] = YAML(typ="safe").load(_INPUT.sub(value, body))
    return data


def _defaults(header: dict[str, Any]) -> dict[str, Any]:
    return {name: spec.get("default") for name, spec in header["spec"]["inputs"].items()}


def _errors(doc: object) -> list[str]:
    schema = get_builtin_schema("vendor.gitlab-ci")
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{list(e.absolute_path)}: {e.message[:300]}" for e in validator.iter_errors(doc)]


def test_header_and_interpolated_job_match_gitlabs_schema() -> None:
    header, body = _documents()
    assert _errors(header) == []
    assert set(header) == {"spec"}
    defaults = _defaults(header)
    assert set(_INPUT.findall(body)) == set(defaults)  # every input used, none undeclared
    for inputs in (defaults, {**defaults, "allow_failure": True, "args": "--strict", "stage": "lint"}):
        pipeline = _interpolate(body, inputs)
        assert _errors(pipeline) == [], inputs
        job = pipeline["buildrig-doctor"]
        assert job["artifacts"]["reports"]["codequality"] == inputs["report"]
        assert job["artifacts"]["when"] == "always"
        assert job["allow_failure"] is inputs["allow_failure"]


@pytest.mark.parametrize(
    ("ci", "code"), [("DOCKER_HOST: tcp://docker:2375", 1), ('DOCKER_TLS_CERTDIR: ""', 0)]
)
def test_script_writes_the_report_and_fails_on_errors(tmp_path: Path, ci: str, code: int) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(
        "build:\n  image: docker:29.7.2-cli\n  services:\n    - docker:29.7.2-dind\n"
        f"  variables:\n    {ci}\n  script:\n    - docker build -t x .\n"
    )
    header, body = _documents()
    job = _interpolate(body, _defaults(header))["buildrig-doctor"]
    script = [line for line in job["script"] if "pip install" not in line]  # buildrig is installed here
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        ["sh", "-ec", "\n".join(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    report = json.loads((tmp_path / job["artifacts"]["reports"]["codequality"]).read_text())
    assert isinstance(report, list)
    assert [issue["check_name"] for issue in report] == (["BR101"] if code else [])
