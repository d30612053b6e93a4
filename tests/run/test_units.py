"""Pure parts of ``buildrig run``: variable resolution, masking, scripts, job selection (service names,
volumes and expansion are gitlab/'s, tested in tests/gitlab)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from buildrig.errors import InputError, Loc
from buildrig.gitlab.model import Job, Pipeline, Variable
from buildrig.run import select_jobs
from buildrig.run.capabilities import missing_caps
from buildrig.run.executor import job_timeout
from buildrig.run.script import render
from buildrig.run.variables import Masker, resolve, slug


def test_resolve_precedence_recursion_cycles_and_raw() -> None:
    jv = resolve(
        [
            [Variable("X", "pre"), Variable("HOST", "reg:5000")],
            [Variable("IMG", "$HOST/app"), Variable("X", "global"), Variable("LOOP", "$LOOP!")],
            [
                Variable("TAG", "$IMG:$X"),
                Variable("RAW", "$IMG", expand=False),
                Variable("S", "pw", masked=True),
            ],
            [Variable("X", "cli")],
        ],
        always_masked=("HOST",),
    )
    env = jv.as_dict()
    assert env["TAG"] == "reg:5000/app:cli"
    assert env["RAW"] == "$IMG"
    assert env["LOOP"] == "$LOOP!!"  # a self-reference stops at the raw text
    assert set(jv.masked) == {"pw", "reg:5000"}


def test_resolve_gives_a_file_variable_reference_its_path() -> None:
    # The runner expands $FILE_VAR to the file's path (common/variables.go:88-89 at v17.9.3).
    jv = resolve(
        [[Variable("CA", "-----BEGIN", file=True, expand=False), Variable("OPTS", "--cacert $CA")]],
        file_path=lambda name: f"/builds/p.tmp/{name}",
    )
    assert jv.as_dict()["OPTS"] == "--cacert /builds/p.tmp/CA"
    assert jv.files["CA"] == b"-----BEGIN"


def test_masker_replaces_every_occurrence_longest_first() -> None:
    mask = Masker(["abc", "abcdef"])
    assert mask("x abcdef abc abcabc") == "x [MASKED] [MASKED] [MASKED][MASKED]"
    assert Masker([])("same") == "same"


def test_slug() -> None:
    assert slug("Feature/Big_Thing") == "feature-big-thing"
    assert slug("-" + "a" * 80) == "a" * 62


def test_render_script_runs_in_sh(tmp_path: Path) -> None:
    text = render(
        ["echo 'one'", "x=$((1+1)); echo $x", "if true; then\n  echo multi\nfi", "exit 5", "echo no"],
        workdir=str(tmp_path),
    )
    proc = subprocess.run(["sh", "-c", text], capture_output=True, text=True, check=False)
    assert proc.returncode == 5
    lines = proc.stdout.splitlines()
    assert lines == [
        "\x1b[32;1m$ echo 'one'\x1b[0;m",
        "one",
        "\x1b[32;1m$ x=$((1+1)); echo $x\x1b[0;m",
        "2",
        "\x1b[32;1m$ if true; then # collapsed multi-line command\x1b[0;m",
        "multi",
        "\x1b[32;1m$ exit 5\x1b[0;m",
    ]


def _pipeline(*jobs: tuple[str, str, str]) -> Pipeline:
    return Pipeline(
        Path(".gitlab-ci.yml"),
        ("build", "test", "deploy"),
        (),
        tuple(Job(n, s, Loc("x", i), when=w, script=("true",)) for i, (n, s, w) in enumerate(jobs)),
    )


def test_select_jobs() -> None:
    p = _pipeline(
        ("d", "deploy", "on_success"),
        ("b", "build", "on_success"),
        ("m", "test", "manual"),
        ("t", "test", "on_success"),
    )
    assert [j.name for j in select_jobs(p)] == ["b", "t", "d"]
    assert [j.name for j in select_jobs(p, ("m", "d"))] == ["m", "d"]
    assert [j.name for j in select_jobs(p, stages=("test",))] == ["m", "t"]
    with pytest.raises(InputError, match="no job named 'zz'"):
        select_jobs(p, ("zz",))
    with pytest.raises(InputError, match="no stage named 'qa'"):
        select_jobs(p, stages=("qa",))


def test_missing_caps_reads_the_bounding_set(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapBnd:\t000001fffeffffff\n")
    assert missing_caps(str(status)) == ["SYS_RESOURCE"]
    status.write_text("CapBnd:\t000001ffffffffff\n")
    assert missing_caps(str(status)) == []


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [(None, 3600.0), ("90", 90.0), ("1h 30m", 5400.0), ("10 minutes", 600.0), ("2 days", 172800.0)],
)
def test_job_timeout_parsing(raw: str | None, seconds: float) -> None:
    job = Job("j", "test", Loc("x", 1), raw={} if raw is None else {"timeout": raw})
    assert job_timeout(job) == seconds


def test_artifact_globs() -> None:
    from buildrig.run.artifacts import matches, prefix

    assert prefix("dist/") == "dist" and prefix("dist/*.whl") == "dist" and prefix("*.txt") == ""
    assert prefix("a/b/**/c") == "a/b"
    assert matches("dist/sub/x", "dist/") and matches("dist/a.whl", "dist/*.whl")
    assert matches("a/b/x/y/c", "a/b/**/c") and matches("notes.txt", "*.txt")
    assert not matches("logs/l.log", "dist/") and not matches("distx/a", "dist")


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('$CI_COMMIT_BRANCH == "main"', True),
        ("$CI_COMMIT_BRANCH == 'dev'", False),
        ("$CI_COMMIT_TAG", False),
        ("$CI_COMMIT_TAG == null", True),
        ("$EMPTY", False),
        ("$CI_COMMIT_BRANCH =~ /^ma/", True),
        ("$CI_COMMIT_BRANCH !~ /^MA/i", False),
        ('$CI_COMMIT_TAG || ($CI_COMMIT_BRANCH == "main" && $CI_PIPELINE_SOURCE == "push")', True),
        ("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", True),
        ("$CI_COMMIT_BRANCH =~ $PATTERN", True),
    ],
)
def test_rules_if(expr: str, expected: bool) -> None:
    from buildrig.run.rules import evaluate_if

    env = {
        "CI_COMMIT_BRANCH": "main",
        "CI_DEFAULT_BRANCH": "main",
        "CI_PIPELINE_SOURCE": "push",
        "EMPTY": "",
        "PATTERN": "/ai/",
    }
    assert evaluate_if(expr, env) is expected


def test_rules_decide(tmp_path: Path) -> None:
    from buildrig.run.rules import decide

    (tmp_path / "Dockerfile").write_text("FROM x\n")
    env = {"CI_COMMIT_BRANCH": "feat", "CI_COMMIT_REF_NAME": "feat"}

    def job(**raw: object) -> Job:
        return Job("j", "test", Loc("x", 1), raw=raw)

    d = decide(
        job(
            rules=[
                {"if": '$CI_COMMIT_BRANCH == "main"'},
                {"exists": ["Dockerfile"], "when": "manual", "variables": {"X": "1"}},
            ]
        ),
        env,
        tmp_path,
    )
    assert (d.include, d.when, d.variables[0].value) == (True, "manual", "1")
    assert not decide(job(rules=[{"if": "$CI_COMMIT_TAG"}]), env, tmp_path).include
    assert not decide(job(rules=[{"when": "never"}]), env, tmp_path).include
    assert decide(job(only=["branches"]), env, tmp_path).include
    assert not decide(job(only=["tags"]), env, tmp_path).include
    assert not decide(job(**{"except": ["/^fe/"]}), env, tmp_path).include
    assert decide(job(), env, tmp_path).include


def test_parallel_and_matrix_expand() -> None:
    from buildrig.run.inputs import expand_parallel

    three = expand_parallel(Job("t", "test", Loc("x", 1), raw={"parallel": 3}))
    assert [j.name for j in three] == ["t 1/3", "t 2/3", "t 3/3"]
    assert {(v.name, v.value) for v in three[1].variables} == {("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")}
    matrix = {"parallel": {"matrix": [{"ARCH": ["amd64", "arm64"], "OS": "linux"}, {"ARCH": "s390x"}]}}
    jobs = expand_parallel(Job("b", "build", Loc("x", 1), raw=matrix, variables=(Variable("K", "v"),)))
    assert [j.name for j in jobs] == ["b: [amd64, linux]", "b: [arm64, linux]", "b: [s390x]"]
    assert ("ARCH", "arm64") in {(v.name, v.value) for v in jobs[1].variables}
    assert jobs[2].variables[0] == Variable("K", "v")
    p = Pipeline(Path(".gitlab-ci.yml"), ("build",), (), (Job("b", "build", Loc("x", 1), raw=matrix),))
    assert len(select_jobs(p, ("b",))) == 3
    assert [j.name for j in select_jobs(p, ("b: [s390x]",))] == ["b: [s390x]"]


def test_the_registry_ca_reaches_jobs_as_a_file_variable_unless_set(tmp_path: Path) -> None:
    from buildrig.run.api import _registry_ca_variable
    from buildrig.run.model import RegistryInfo

    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    reg = RegistryInfo(host="10.0.0.1:5443", user="u", password="p", ca_path=ca)
    var = _registry_ca_variable(reg, [], {})
    assert var is not None and var.name == "BUILD_REGISTRY_CA" and var.file and var.value == ca.read_text()
    # the user's own value wins, also an empty one (a project without the variable)
    assert _registry_ca_variable(reg, [], {"BUILD_REGISTRY_CA": ""}) is None
    assert _registry_ca_variable(reg, [Variable("BUILD_REGISTRY_CA", "x", file=True)], {}) is None
    # a registry with a public certificate has no CA to hand on
    assert _registry_ca_variable(RegistryInfo(host="r", user="u", password="p"), [], {}) is None
    missing = "file not found (the registry's CA, for BUILD_REGISTRY_CA)"
    with pytest.raises(InputError, match=re.escape(missing)):
        _registry_ca_variable(RegistryInfo(host="r", user="u", password="p", ca_path=tmp_path / "no"), [], {})


def test_masker_masks_each_line_of_a_multi_line_value() -> None:
    key = "-----BEGIN KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n\n-----END KEY-----\n"
    mask = Masker([key])
    # The log arrives line by line: no line of the value may pass in clear.
    for line in ("-----BEGIN KEY-----", "x MIIEvQIBADANBgkqhkiG9w0BAQEFAASC y", "-----END KEY-----"):
        assert "KEY" not in mask(line) and "MIIE" not in mask(line)
    assert mask("") == "" and mask("unrelated") == "unrelated"


def test_file_variables_are_read_as_bounded_regular_files(tmp_path: Path) -> None:
    from buildrig.run.api import _prepare
    from buildrig.run.model import RunOptions

    (tmp_path / ".gitlab-ci.yml").write_text("job:\n  script: [echo]\n")
    with pytest.raises(InputError, match=re.escape("not a regular file (file variable K)")):
        _prepare(RunOptions(project_dir=tmp_path, file_variables={"K": Path("/dev/zero")}))
