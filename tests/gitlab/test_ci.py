from __future__ import annotations

from pathlib import Path

import pytest

from buildrig.errors import InputError
from buildrig.gitlab.ci import job_variables, load_pipeline, load_pipeline_text

FIX = Path(__file__).parent / "fixtures"


def _load(text: str, tmp_path: Path) -> object:
    return load_pipeline_text(text, tmp_path / ".gitlab-ci.yml")


def test_includes_extends_reference_default(tmp_path: Path) -> None:
    p = load_pipeline(FIX / "includes" / ".gitlab-ci.yml")
    assert [j.name for j in p.jobs] == ["test", "build"]  # included jobs come first, in merge order
    assert [f.name for f in p.files] == [".gitlab-ci.yml", "base.yml", "jobs.yml"]
    build = p.job("build")
    assert build is not None
    assert build.image is not None and build.image.name == "docker:29.7.2-cli"
    assert build.image.entrypoint == ("",)
    assert build.image.loc is not None and build.image.loc.file.endswith("base.yml")
    assert build.image.loc.line == 13
    svc = build.services[0]
    assert (svc.name, svc.alias, svc.command) == ("docker:29.7.2-dind", "docker", ("--mtu=1360",))
    assert [(v.name, v.value) for v in svc.variables] == [("HEALTHCHECK_TCP_PORT", "2376")]
    # extends deep-merges variables: the job's EXTRA wins, BASE comes from .docker
    assert {v.name: v.value for v in build.variables} == {"BASE": "base", "EXTRA": "1"}
    extra = next(v for v in build.variables if v.name == "EXTRA")
    assert extra.loc is not None and extra.loc.file.endswith(".gitlab-ci.yml") and extra.loc.line == 12
    # !reference resolved and nested script lists flattened
    assert build.script == (
        "echo setup",
        "nested one",
        "nested two",
        'docker build -t "$CI_REGISTRY_IMAGE" .',
    )
    assert build.before_script == ("echo default",)  # from default:
    assert build.tags == ("dind",)
    assert build.extends == (".docker",)
    assert build.loc.line == 9
    # the main file's global variables override the included file's
    glob = {v.name: v.value for v in p.variables}
    assert glob == {"GLOBAL": "main", "INCLUDED": "yes", "DOCKER_TLS_CERTDIR": "/certs"}
    assert set(job_variables(p, build)) >= {"GLOBAL", "BASE"}


def test_inherit_default_list_and_variables_false() -> None:
    p = load_pipeline(FIX / "includes" / ".gitlab-ci.yml")
    test = p.job("test")
    assert test is not None
    assert test.image is not None and test.image.name == "alpine:3.20"
    assert test.before_script == ()  # inherit: default: [image] only
    assert test.inherit_variables is False
    assert job_variables(p, test) == {}
    assert test.script == ("echo test",)


def test_include_cycle_is_reported() -> None:
    with pytest.raises(InputError, match="include cycle") as info:
        load_pipeline(FIX / "cycle" / ".gitlab-ci.yml")
    assert info.value.loc is not None and info.value.loc.file.endswith("b.yml")


def test_missing_include(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as info:
        _load("include: nothere.yml\njob:\n  script: x\n", tmp_path)
    assert str(info.value).startswith(f"{tmp_path}/.gitlab-ci.yml:1:")


def test_remote_includes_are_skipped_not_fatal(tmp_path: Path) -> None:
    p = load_pipeline_text(
        "include:\n  - remote: https://example.com/x.yml\n  - template: Docker.gitlab-ci.yml\n"
        "job:\n  script: x\n",
        tmp_path / ".gitlab-ci.yml",
    )
    assert [s for s, _ in p.skipped_includes] == [
        "remote: https://example.com/x.yml",
        "template: Docker.gitlab-ci.yml",
    ]
    assert p.skipped_includes[1][1].line == 3


def test_multilevel_extends_and_arrays_replaced(tmp_path: Path) -> None:
    p = load_pipeline_text(
        """
.a:
  script: [a1, a2]
  variables: {A: a, SHARED: a}
  tags: [x]
.b:
  extends: .a
  variables: {B: b, SHARED: b}
  tags: [y, z]
job:
  extends: [.b]
  variables:
    SHARED:
      value: job
      description: the job's
      expand: false
""",
        tmp_path / ".gitlab-ci.yml",
    )
    job = p.jobs[0]
    assert job.script == ("a1", "a2")
    assert job.tags == ("y", "z")
    vs = {v.name: v for v in job.variables}
    assert {k: v.value for k, v in vs.items()} == {"A": "a", "SHARED": "job", "B": "b"}
    assert vs["SHARED"].expand is False and vs["SHARED"].description == "the job's"
    assert vs["A"].loc is not None and vs["A"].loc.line == 4


def test_extends_unknown_base(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"extends unknown job '\.nope'") as info:
        _load("job:\n  extends: .nope\n  script: x\n", tmp_path)
    assert info.value.loc is not None and info.value.loc.line == 2


def test_extends_cycle(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="circular dependency"):
        _load(".a:\n  extends: .b\n.b:\n  extends: .a\njob:\n  extends: .a\n  script: x\n", tmp_path)


def test_reference_unknown_and_nested(tmp_path: Path) -> None:
    p = _load(
        ".x:\n  script: [one]\n.y:\n  script: [!reference [.x, script], two]\n"
        "job:\n  script: [!reference [.y, script], three]\n",
        tmp_path,
    )
    assert p.jobs[0].script == ("one", "two", "three")
    with pytest.raises(InputError, match="could not be found") as info:
        _load("job:\n  script:\n    - !reference [.x, script]\n", tmp_path)
    assert info.value.loc is not None and info.value.loc.line == 3


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="invalid YAML") as info:
        _load("job:\n  script: [a, b\n  stage: test\n", tmp_path)
    assert info.value.loc is not None and info.value.loc.line in (2, 3)


def test_duplicate_key(tmp_path: Path) -> None:
    with pytest.raises(InputError, match='duplicate key "script"') as info:
        _load("job:\n  script: a\n  script: b\n", tmp_path)
    assert info.value.loc is not None and info.value.loc.line == 3


def test_job_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a keyword and not a job"):
        _load("job: echo hi\n", tmp_path)


def test_legacy_globals_stages_hidden_and_anchors(tmp_path: Path) -> None:
    p = _load(
        """
stages: [lint, build]
image: docker:cli
services:
  - docker:dind
.tmpl: &tmpl
  stage: build
  variables: {X: "1"}
job:
  <<: *tmpl
  script:
    - |
      echo one
      echo two
other:
  image: {name: alpine, docker: {user: "1000", platform: linux/arm64}}
  script: ok
""",
        tmp_path,
    )
    assert p.stages == (".pre", "lint", "build", ".post")
    assert [j.name for j in p.jobs] == ["job", "other"]
    job = p.jobs[0]
    assert job.stage == "build"
    assert job.image is not None and job.image.name == "docker:cli" and job.image.loc is not None
    assert job.image.loc.line == 3
    assert job.variables[0].name == "X"
    assert job.services[0].name == "docker:dind"
    assert job.script == ("echo one\necho two\n",)
    other = p.jobs[1]
    assert other.stage == "test"
    assert other.image is not None and (other.image.user, other.image.platform) == ("1000", "linux/arm64")


def test_default_stages_and_empty_file(tmp_path: Path) -> None:
    p = _load("", tmp_path)
    assert p.stages == (".pre", "build", "test", "deploy", ".post")
    assert p.jobs == ()


def test_spec_header_document(tmp_path: Path) -> None:
    p = _load("spec:\n  inputs:\n    a: {default: x}\n---\njob:\n  script: x\n", tmp_path)
    assert p.jobs[0].loc.line == 5


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_pipeline(tmp_path / "nope.yml")


def test_extends_and_reference_into_skipped_includes_degrade(tmp_path: Path) -> None:
    p = load_pipeline_text(
        "include:\n  - project: group/templates\n    file: docker.yml\n"
        "build:\n  extends: .docker-template\n  script:\n    - !reference [.setup, script]\n    - make\n",
        tmp_path / ".gitlab-ci.yml",
    )
    assert p.jobs[0].script == ("make",)
    assert [w for w, _ in p.unresolved] == [
        "!reference ['.setup', 'script']",
        "build: extends '.docker-template'",
    ]


def test_include_globs_diamonds_and_values(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "a.yml").write_text("include: ci/shared.yml\na:\n  script: [a]\n")
    (tmp_path / "ci" / "b.yml").write_text("include: ci/shared.yml\nb:\n  script: [b]\n")
    (tmp_path / "ci" / "shared.yml").write_text(".shared:\n  variables: {N: 1, F: 1.5, B: true, E: null}\n")
    p = load_pipeline_text(
        "include:\n  - local: 'ci/[ab].yml'\njob:\n  extends: .shared\n  when: manual\n"
        "  allow_failure: {exit_codes: [3]}\n  script: [x]\n",
        tmp_path / ".gitlab-ci.yml",
    )
    assert [j.name for j in p.jobs] == ["a", "b", "job"]
    assert sorted(f.name for f in p.files) == [".gitlab-ci.yml", "a.yml", "b.yml", "shared.yml"]
    job = p.jobs[2]
    assert {v.name: v.value for v in job.variables} == {"N": "1", "F": "1.5", "B": "true", "E": ""}
    assert job.when == "manual" and job.allow_failure is True
    with pytest.raises(InputError, match="matches no file"):
        load_pipeline_text("include: 'nope/*.yml'\n", tmp_path / ".gitlab-ci.yml")


def test_pure_python_composer_gives_the_same_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    import buildrig.gitlab.yamlnodes as yamlnodes

    fast = load_pipeline(FIX / "includes" / ".gitlab-ci.yml")
    monkeypatch.setattr(yamlnodes, "_CLoader", None)
    slow = load_pipeline(FIX / "includes" / ".gitlab-ci.yml")
    assert slow == fast
