"""``buildrig run`` with no flags in a directory ``init`` prepared: the project's runner config and
CI/CD variables file are found and used, ``--var``/``--file-var`` still win, and a job that reads
an unset File variable gets a hint. No engine: everything up to starting the executor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildrig.cli import main
from buildrig.errors import Loc
from buildrig.gitlab.model import Job
from buildrig.run.api import _prepare, job_variables
from buildrig.run.hints import variable_hints
from buildrig.run.inputs import project_files
from buildrig.run.model import RunOptions


def _init(tmp_path: Path, *args: str) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "Dockerfile").write_text("FROM scratch\n")
    assert main(["init", "--out", str(project), *args]) == 0
    return project


def _opts(project: Path, **kw: object) -> RunOptions:
    return RunOptions(project_dir=project, **kw)  # type: ignore[arg-type]


def test_init_shell_then_run_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _init(tmp_path, "--strategy", "shell")
    capsys.readouterr()
    assert main(["run", str(project), "--list"]) == 0
    listed = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert listed == [["*", "build-image", "build", "on_success", "-"]]
    assert main(["run", str(project), "--list", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {
        "version": 1,
        "jobs": [
            {"name": "build-image", "stage": "build", "when": "on_success", "image": None, "selected": True}
        ],
    }


def test_run_without_flags_uses_the_projects_runner_config(tmp_path: Path) -> None:
    project = _init(tmp_path, "--strategy", "shell")
    found = project_files(_opts(project, project_defaults=True))
    assert found.runner_config == project / "runner" / "config.toml"
    assert found.variables_file == project / "runner" / "variables.toml"
    assert any("Using runner config" in n and str(found.runner_config) in n for n in found.notes)
    run = _prepare(_opts(project, project_defaults=True))
    # The shell way's runner says shell: without the config, run would pick the docker executor
    # and fail on the job's missing image.
    assert run.runner is not None and run.executor_name == "shell"
    assert run.notes == found.notes


def test_defaults_only_when_asked_and_never_over_explicit_files(tmp_path: Path) -> None:
    project = _init(tmp_path, "--strategy", "shell")
    assert project_files(_opts(project)).runner_config is None  # library callers opt in
    other = tmp_path / "other.toml"
    other.write_text('[[runners]]\nname = "mine"\nexecutor = "docker"\n')
    found = project_files(_opts(project, project_defaults=True, runner_config=other))
    assert found.runner_config == other
    assert not any("runner config" in n for n in found.notes)
    assert _prepare(_opts(project, project_defaults=True, runner_config=other)).executor_name == "docker"


def test_docker_host_certificates_reach_the_job_as_file_variables(tmp_path: Path) -> None:
    project = _init(tmp_path, "--strategy", "docker_host", "--docker-host", "10.20.30.40")
    run = _prepare(_opts(project, project_defaults=True))
    job = next(j for j in run.pipeline.jobs if j.name == "build-image")
    jv = job_variables(run, job, 0)
    certs = project / "runner" / "host" / "certs"
    for var, name in (
        ("DOCKER_CA_PEM", "ca.pem"),
        ("DOCKER_CERT_PEM", "cert.pem"),
        ("DOCKER_KEY_PEM", "key.pem"),
    ):
        assert jv.files[var] == (certs / name).read_bytes()
    # and the hint stays quiet when they are all set
    assert variable_hints(job, jv.as_dict(), run.variables_file) == ()


def test_project_variables_precedence(tmp_path: Path) -> None:
    project = _init(tmp_path, "--strategy", "shell")
    (project / ".gitlab-ci.yml").write_text(
        "variables:\n  A: yml\n  B: yml\n  C: yml\njob:\n  script: [env]\n"
    )
    (project / "runner" / "variables.toml").write_text(
        '[[variables]]\nkey = "B"\nvalue = "project"\n\n'
        '[[variables]]\nkey = "C"\nvalue = "project"\n\n'
        '[[variables]]\nkey = "S"\nvalue = "s3cr3t-value"\nmasked = true\n\n'
        '[[variables]]\nkey = "R"\nvalue = "$A-literal"\nraw = true\n'
    )
    pem = tmp_path / "c.pem"
    pem.write_text("from --file-var\n")
    run = _prepare(_opts(project, project_defaults=True, variables={"C": "cli"}, file_variables={"B": pem}))
    jv = job_variables(run, run.pipeline.jobs[0], 0)
    env = jv.as_dict()
    assert (env["A"], env["C"], env["R"]) == ("yml", "cli", "$A-literal")
    assert jv.files["B"] == b"from --file-var\n"  # --file-var beats the project's variable
    assert "s3cr3t-value" in jv.masked


def _job(*script: str, before: tuple[str, ...] = ()) -> Job:
    return Job(name="j", stage="build", loc=Loc("ci.yml", 1), before_script=before, script=script)


def test_hint_for_unset_file_like_variables_and_cp_of_empty_ones() -> None:
    job = _job(
        'cp "$DOCKER_CA_PEM" /tmp/ca.pem',
        "cp $SETTINGS /etc/app.conf",
        "echo $PLAIN_UNSET",
        "cat ${KUBE_CERT}",
        "export LOCAL_FILE=x; cat $LOCAL_FILE",
        "cat $CI_SERVER_TLS_CA_FILE",
    )
    hints = variable_hints(job, {"SETTINGS": ""}, Path("runner/variables.toml"))
    assert len(hints) == 3
    ca, settings, kube = hints
    assert "$DOCKER_CA_PEM, which is not set" in ca
    assert "Settings > CI/CD > Variables" in ca and "--file-var DOCKER_CA_PEM=PATH" in ca
    assert "runner/variables.toml" in ca
    assert "$SETTINGS, which is empty" in settings
    assert "$KUBE_CERT" in kube
    assert all("\n" not in h for h in hints)


def test_no_hint_when_set() -> None:
    job = _job('cp "$DOCKER_CA_PEM" /tmp/ca.pem')
    assert variable_hints(job, {"DOCKER_CA_PEM": "-----BEGIN"}) == ()
