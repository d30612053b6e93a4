"""The doctor engine, its output formats and the CLI (exit codes, options, bad input)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest

from buildrig.cli import main
from buildrig.doctor import derive, engine, output
from buildrig.doctor.base import Category, Context, Finding, Issue, LiveFacts, Severity, finding
from buildrig.doctor.engine import Inputs, build_context, diagnose, discover_rules, run_rules
from buildrig.gitlab.ci import load_pipeline_text
from buildrig.gitlab.runner_config import load_runner_config_text

HERE = Path(__file__).parent
CASES = HERE / "cases"
SARIF_SCHEMA = json.loads((HERE / "sarif-schema-2.1.0.json").read_text())

PIPELINE = """
variables:
  DOCKER_TLS_CERTDIR: "/certs"
dind:
  image: docker:29.7.2-cli
  services: [{name: "docker:29.7.2-dind"}]
  tags: [privileged]
  script: [docker build .]
sock:
  image: docker:29.7.2-cli
  script: [docker build .]
host:
  image: docker:29.7.2-cli
  variables: {DOCKER_HOST: "tcp://10.0.0.5:2376"}
  script: [docker build .]
kaniko:
  image: {name: "gcr.io/kaniko-project/executor:v1.23.2-debug", entrypoint: [""]}
  script: [/kaniko/executor --context . --destination x]
buildah:
  image: quay.io/buildah/stable
  script: [buildah build -t x .]
buildkit:
  image: {name: "moby/buildkit:rootless", entrypoint: [""]}
  script: [buildctl-daemonless.sh build --frontend dockerfile.v0]
tests:
  image: python:3.12
  script: [pytest]
"""
RUNNERS = """
[[runners]]
  name = "priv"
  executor = "docker"
  tags = ["privileged"]
  [runners.docker]
    privileged = true
    volumes = ["/certs/client", "/cache"]
[[runners]]
  name = "plain"
  executor = "docker"
  run_untagged = true
  tags = ["docker"]
  [runners.docker]
    volumes = ["/var/run/docker.sock:/var/run/docker.sock", "/cache"]
[[runners]]
  name = "k8s"
  executor = "kubernetes"
  tags = ["privileged"]
  [runners.kubernetes]
    privileged = true
"""


def _ctx(tmp_path: Path, pipeline: str = PIPELINE, runners: str | None = RUNNERS) -> Context:
    p = load_pipeline_text(pipeline, tmp_path / ".gitlab-ci.yml")
    r = load_runner_config_text(runners, tmp_path / "config.toml") if runners is not None else None
    return build_context(p, r)


def test_ways_runners_and_env(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ways = {jv.job.name: jv.way for jv in ctx.jobs}
    assert ways == {
        "dind": "dind",
        "sock": "docker_sock",
        "host": "docker_host",
        "kaniko": "kaniko",
        "buildah": "buildah",
        "buildkit": "buildkit",
        "tests": None,
    }
    views = {jv.job.name: jv for jv in ctx.jobs}
    assert [r.name for r in views["dind"].runners] == ["priv", "k8s"]
    assert [r.name for r in views["sock"].runners] == ["plain"]  # untagged: run_untagged runner only
    # the docker entrypoint runs on one candidate (docker) but not the other (kubernetes): not derived
    assert "DOCKER_HOST" not in views["dind"].env
    env = views["sock"].env
    assert env["DOCKER_HOST"].value == "unix:///var/run/docker.sock" and env["DOCKER_HOST"].loc is None
    assert views["dind"].service_env["docker"]["DOCKER_TLS_CERTDIR"].value == "/certs"


def test_entrypoint_derivation_follows_docker_entrypoint(tmp_path: Path) -> None:
    job = """
build:
  image: docker:29.7.2-cli
  services:
    - docker:29.7.2-dind
  script: [docker info]
"""
    shared = '[[runners]]\n  executor = "docker"\n  [runners.docker]\n    volumes = ["/certs/client"]\n'
    env = _ctx(tmp_path, job, shared).jobs[0].env
    assert env["DOCKER_HOST"].value == "tcp://docker:2376"
    assert env["DOCKER_TLS_VERIFY"].value == "1" and env["DOCKER_CERT_PATH"].value == "/certs/client"
    unshared = '[[runners]]\n  executor = "docker"\n  [runners.docker]\n    volumes = ["/cache"]\n'
    env = _ctx(tmp_path, job, unshared).jobs[0].env
    assert env["DOCKER_HOST"].value == "tcp://docker:2375" and "DOCKER_TLS_VERIFY" not in env
    kube = '[[runners]]\n  executor = "kubernetes"\n'
    assert "DOCKER_HOST" not in _ctx(tmp_path, job, kube).jobs[0].env
    honour = (
        '[[runners]]\n  executor = "kubernetes"\n'
        "  [runners.feature_flags]\n    FF_KUBERNETES_HONOR_ENTRYPOINT = true\n"
    )
    assert _ctx(tmp_path, job, honour).jobs[0].env["DOCKER_HOST"].value == "tcp://docker:2375"


def test_runner_environment_below_job_variables(tmp_path: Path) -> None:
    job = "build:\n  image: alpine\n  variables: {A: job}\n  script: [x]\n"
    runner = '[[runners]]\n  executor = "docker"\n  environment = ["A=runner", "B=runner"]\n'
    env = _ctx(tmp_path, job, runner).jobs[0].env
    assert env["A"].value == "job" and env["B"].value == "runner"


def test_dind_mode_follows_dockerd_entrypoint() -> None:
    from buildrig.gitlab.model import ServiceSpec, Variable

    svc = ServiceSpec(name="docker:29.7.2-dind")
    tls = derive.dind_mode(svc, {"DOCKER_TLS_CERTDIR": Variable("DOCKER_TLS_CERTDIR", "/certs")})
    assert (tls.tls, tls.port) == (True, 2376)
    plain = derive.dind_mode(svc, {"DOCKER_TLS_CERTDIR": Variable("DOCKER_TLS_CERTDIR", "")})
    assert (plain.tls, plain.port) == (False, 2375)
    flags = ServiceSpec(name="docker:29.7.2-dind", command=("--mtu=1360",))
    assert (
        derive.dind_mode(flags, {"DOCKER_TLS_CERTDIR": Variable("DOCKER_TLS_CERTDIR", "/certs")}).port == 2376
    )
    custom = ServiceSpec(name="docker:29.7.2-dind", command=("dockerd", "--host=tcp://0.0.0.0:2375"))
    assert derive.dind_mode(custom, {}).port == 2375


def test_rules_are_discovered_with_unique_ids_and_docs() -> None:
    rules = discover_rules()
    ids = [r.ID for r in rules]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    mine = [r for r in rules if r.ID.startswith(("BR0", "BR1", "BR3"))]
    assert len(mine) >= 25
    for r in rules:
        assert isinstance(r.SEVERITY, Severity) and isinstance(r.CATEGORY, Category)
        assert (r.__doc__ or "").strip(), r.ID
        assert r.DOCS.startswith("https://"), r.ID


def test_select_and_ignore_take_prefixes() -> None:
    rules = discover_rules()
    assert {r.ID[:3] for r in engine.select_rules(rules, ["BR1"])} == {"BR1"}
    left = engine.select_rules(rules, ["BR1", "BR301"], ["BR108"])
    assert "BR108" not in {r.ID for r in left} and "BR301" in {r.ID for r in left}


def test_a_crashing_rule_is_reported_not_raised(tmp_path: Path) -> None:
    broken = ModuleType("broken")
    broken.ID, broken.TITLE, broken.SEVERITY = "BR999", "broken", Severity.ERROR  # type: ignore[attr-defined]
    broken.CATEGORY, broken.DOCS = Category.FAILURE, "https://example.invalid"  # type: ignore[attr-defined]

    def check(ctx: Context) -> list[Finding]:
        raise KeyError("boom")

    broken.check = check  # type: ignore[attr-defined]
    problems: list[str] = []
    assert run_rules(_ctx(tmp_path), [broken], problems) == ()  # type: ignore[list-item]
    assert problems and "BR999" in problems[0]


def test_live_facts_feed_rules() -> None:
    live = LiveFacts(docker_host="tcp://10.9.9.9:2376", docker_host_reachable=False)
    report = diagnose(Inputs(directory=CASES / "ok_docker_host_tls"), live=live)
    assert "BR310" in {f.rule for f in report.findings}
    quiet = diagnose(
        Inputs(directory=CASES / "ok_docker_host_tls"), live=LiveFacts(docker_host_reachable=True)
    )
    assert "BR310" not in {f.rule for f in quiet.findings}


def test_live_gather_is_read_only_and_typed() -> None:
    from buildrig.doctor.live import gather

    facts = gather(timeout=1.0)
    assert facts.socket_path == "/var/run/docker.sock"
    assert facts.socket_exists in (True, False, None)
    assert isinstance(facts.notes, tuple)


def test_missing_inputs_are_stated_as_limits(tmp_path: Path) -> None:
    report = diagnose(Inputs(directory=tmp_path))
    text = " ".join(report.context.limits)
    assert "no .gitlab-ci.yml" in text and "no config.toml" in text and "daemon.json" in text
    assert report.findings == ()


# --- output formats -------------------------------------------------------------------------------


def _report(case: str = "br102_certs_volume_missing") -> engine.Report:
    return diagnose(Inputs(directory=CASES / case))


def test_json_output_shape() -> None:
    doc = json.loads(output.render_json(_report(), CASES / "br102_certs_volume_missing"))
    assert doc["version"] == 1
    assert doc["ways"] == {"build-image": "dind"}
    f = next(f for f in doc["findings"] if f["rule"] == "BR102")
    assert set(f) >= {"rule", "severity", "category", "job", "file", "line", "message", "fix"}
    assert (f["severity"], f["category"], f["job"], f["file"]) == (
        "error",
        "failure",
        "build-image",
        "config.toml",
    )
    assert f["line"] == 10


def test_sarif_validates_against_the_2_1_0_schema() -> None:
    for case in ("br102_certs_volume_missing", "br305_hosts_unit_unknown", "ok_dind_tls_recommended"):
        doc = json.loads(output.render_sarif(_report(case), CASES / case))
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)
        run = doc["runs"][0]
        ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
        for result in run["results"]:
            assert ids[result["ruleIndex"]] == result["ruleId"]
    doc = json.loads(output.render_sarif(_report(), CASES / "br102_certs_volume_missing"))
    result = doc["runs"][0]["results"][0]
    assert result["level"] == "error"
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "config.toml" and loc["region"]["startLine"] == 10


def test_sarif_schema_rejects_a_broken_document() -> None:
    doc = json.loads(output.render_sarif(_report(), CASES / "br102_certs_volume_missing"))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)


CODE_QUALITY_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "pattern": "^BR[0-9]{3}$"},
            "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "not": {"pattern": "^/"}},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


def test_codequality_output() -> None:
    case = CASES / "br112_runner_env_docker_host"
    doc = json.loads(output.render_codequality(diagnose(Inputs(directory=case)), case))
    jsonschema.validate(doc, CODE_QUALITY_SCHEMA)
    by_rule = {d["check_name"]: d for d in doc}
    assert by_rule["BR101"]["severity"] == "critical" and by_rule["BR112"]["severity"] == "major"
    assert by_rule["BR112"]["location"] == {"path": "config.toml", "lines": {"begin": 7}}
    assert len({d["fingerprint"] for d in doc}) == len(doc)


def test_text_groups_by_job_with_fix_under_each_finding() -> None:
    text = output.render_text(_report("br112_runner_env_docker_host"))
    lines = text.splitlines()
    assert lines[0] == "job build-image  [way: dind]"
    i = next(i for i, ln in enumerate(lines) if "BR112" in ln)
    assert lines[i + 2].startswith("    fix: ")
    assert "error(s)" in text and "limit:" in text


def test_explain_prints_the_module_docstring() -> None:
    text = output.explain("br101")
    assert text is not None and text.startswith("BR101 (error, failure)")
    assert "Cannot connect to the Docker daemon at tcp://docker:2375" in text
    assert output.explain("BR000") is None


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", str(CASES / "ok_dind_tls_recommended"), "--select", "BR0,BR1,BR3"]) == 0
    assert main(["doctor", str(CASES / "br102_certs_volume_missing"), "--select", "BR1"]) == 1
    warn = str(CASES / "br109_runner_mtu")
    assert main(["doctor", warn, "--select", "BR1"]) == 0
    assert main(["doctor", warn, "--select", "BR1", "--strict"]) == 1
    assert main(["doctor", warn, "--select", "BR1", "--ignore", "BR109", "--strict"]) == 0
    capsys.readouterr()


def test_cli_formats_and_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = str(CASES / "br102_certs_volume_missing")
    assert main(["doctor", case, "--format", "json", "--select", "BR1"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in doc["findings"]] == ["BR102"]
    out = tmp_path / "gl-code-quality.json"
    assert main(["doctor", case, "-f", "codequality", "-o", str(out)]) == 1
    assert json.loads(out.read_text())[0]["check_name"]
    sarif = tmp_path / "doctor.sarif"
    main(["doctor", case, "-f", "sarif", "-o", str(sarif)])
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(sarif.read_text()))
    assert main(["doctor", "--explain", "BR305"]) == 0
    assert "hosts in daemon.json" in capsys.readouterr().out


def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("build:\n  script: [a, b\n  stage: test\n")
    assert main(["doctor", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ".gitlab-ci.yml:" in err and "invalid YAML" in err
    (tmp_path / ".gitlab-ci.yml").write_text("build:\n  script: [x]\n")
    (tmp_path / "config.toml").write_text("[[runners]]\n  executor = docker\n")
    assert main(["doctor", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "config.toml:2" in err and "Traceback" not in err
    assert main(["doctor", str(tmp_path), "--ci-file", str(tmp_path / "nope.yml")]) == 2
    assert "file not found" in capsys.readouterr().err
    assert main(["doctor", str(tmp_path), "--format", "xml"]) == 2
    assert main(["doctor", "--explain", "BR000"]) == 2


def test_variables_are_expanded_where_the_rules_read_them(tmp_path: Path) -> None:
    from buildrig.doctor.derive import expand
    from buildrig.doctor.kit import endpoint
    from buildrig.gitlab.model import Variable

    env = {
        "HOST": Variable("HOST", "10.0.0.5"),
        "DOCKER_HOST": Variable("DOCKER_HOST", "tcp://${HOST}:2376"),
        "RAW": Variable("RAW", "$HOST", expand=False),
    }
    ep = endpoint(env)
    assert ep is not None and (ep.host, ep.port) == ("10.0.0.5", 2376)
    assert expand("$RAW/x", env) == "$HOST/x" and expand("$NOPE", env) == "$NOPE"
    job = 'build:\n  image: docker:29.7.2-cli\n  variables:\n    IP: 10.0.0.5\n    DOCKER_HOST: "tcp://$IP:2376"\n'
    ctx = _ctx(tmp_path, job + "  script: [docker build .]\n", None)
    assert ctx.jobs[0].way == "docker_host"


def test_a_pipeline_using_most_of_gitlab_yaml_is_read_without_trouble() -> None:
    wild = HERE / "wild"
    report = diagnose(Inputs(directory=wild))
    assert report.problems == ()
    assert report.ways == {
        "lint": None,
        "build": "dind",
        "test": None,
        "release": None,
        "deploy": None,
        "pages": None,
    }
    assert [f.rule for f in report.findings if f.severity == Severity.ERROR] == []
    limits = "\n".join(report.context.limits)
    assert "template: Security/SAST.gitlab-ci.yml" in limits and "extends '.docker-template'" in limits
    build = next(jv for jv in report.context.jobs if jv.job.name == "build")
    assert build.job.script[0] == 'echo "common setup"'  # !reference into the local include
    assert build.env["DOCKER_HOST"].value == "tcp://docker:2376"  # derived: certs shared


def test_findings_without_a_place_still_render_everywhere() -> None:
    case = CASES / "ok_docker_host_tls"
    report = diagnose(
        Inputs(directory=case), live=LiveFacts(docker_host="tcp://10.9.9.9:2376", docker_host_reachable=False)
    )
    live = [f for f in report.findings if f.rule == "BR310"]
    assert live and live[0].loc is None
    sarif = json.loads(output.render_sarif(report, case))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    assert "locations" not in next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "BR310")
    cq = json.loads(output.render_codequality(report, case))
    jsonschema.validate(cq, CODE_QUALITY_SCHEMA)
    assert next(d for d in cq if d["check_name"] == "BR310")["location"]["path"] == ".gitlab-ci.yml"
    assert "live: no engine" in output.render_text(report)
    assert "BR310" in output.render_text(report)


def test_units_are_found_in_a_copied_host_layout(tmp_path: Path) -> None:
    (tmp_path / "lib/systemd/system/docker.service.d").mkdir(parents=True)
    (tmp_path / "etc/systemd/system/docker.service.d").mkdir(parents=True)
    (tmp_path / "lib/systemd/system/docker.service").write_text(
        "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n"
    )
    (tmp_path / "lib/systemd/system/docker.service.d/10-a.conf").write_text("[Service]\n")
    (tmp_path / "lib/systemd/system/docker.service.d/20-b.conf").write_text("[Service]\nExecStart=\n")
    (tmp_path / "etc/systemd/system/docker.service.d/20-b.conf").write_text(
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://10.0.0.5:2376 --tlsverify\n"
    )
    units = engine.find_units(tmp_path)
    assert [str(u.relative_to(tmp_path)) for u in units] == [
        "lib/systemd/system/docker.service",
        "lib/systemd/system/docker.service.d/10-a.conf",
        "etc/systemd/system/docker.service.d/20-b.conf",
    ]
    (tmp_path / "etc/docker").mkdir()
    (tmp_path / "etc/docker/daemon.json").write_text('{"hosts": ["unix:///var/run/docker.sock"]}\n')
    report = diagnose(Inputs(directory=tmp_path))
    assert report.context.daemon is not None and report.context.daemon.hosts_flags == ("tcp://10.0.0.5:2376",)
    assert "BR305" in {f.rule for f in report.findings}


def test_the_catalog_lists_every_rule_module_exactly_once() -> None:
    """Rules are listed, not looked up at run time: a new module in doctor/rules must be listed."""
    import importlib
    import pkgutil

    import buildrig.doctor.rules
    from buildrig.doctor.catalog import RULES

    on_disk = [
        importlib.import_module(f"buildrig.doctor.rules.{m.name}")
        for m in pkgutil.iter_modules(buildrig.doctor.rules.__path__)
    ]
    listed = [id(rule) for rule in RULES]
    for module in on_disk:
        assert listed.count(id(module)) == 1, f"{module.__name__} is listed {listed.count(id(module))} times"
    assert len(RULES) == len(on_disk)
    assert len(discover_rules()) == len(on_disk)


@pytest.mark.parametrize("attr, kind", [("ID", str), ("TITLE", str), ("SEVERITY", Severity),
                                        ("CATEGORY", Category), ("DOCS", str)])
def test_every_listed_rule_has_the_whole_contract(attr: str, kind: type) -> None:
    """A rule missing part of the contract fails here (and in mypy), it is never skipped."""
    from buildrig.doctor.catalog import RULES

    for rule in RULES:
        value = getattr(rule, attr, None)
        assert isinstance(value, kind) and value, (rule, attr)
        assert callable(getattr(rule, "check", None)) and (rule.__doc__ or "").strip(), rule
    assert len({rule.ID for rule in RULES}) == len(RULES)


def test_the_engine_stamps_id_category_docs_and_default_severity(tmp_path: Path) -> None:
    rule = ModuleType("stamped")
    rule.ID, rule.TITLE, rule.SEVERITY = "BR998", "stamped", Severity.ERROR  # type: ignore[attr-defined]
    rule.CATEGORY, rule.DOCS = Category.SECURITY, "https://example.invalid/998"  # type: ignore[attr-defined]

    def check(ctx: Context) -> Iterator[Issue]:
        yield finding("default", "fix it", job="a")
        yield finding("lowered", "fix it", job="b", severity=Severity.INFO)

    rule.check = check  # type: ignore[attr-defined]
    got = run_rules(_ctx(tmp_path), [rule])
    assert [(f.rule, f.category, f.docs, f.severity, f.message) for f in got] == [
        ("BR998", Category.SECURITY, "https://example.invalid/998", Severity.ERROR, "default"),
        ("BR998", Category.SECURITY, "https://example.invalid/998", Severity.INFO, "lowered"),
    ]
