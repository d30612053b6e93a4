"""The shell executor on this host, and the ``buildrig run`` / ``gc`` commands."""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable
from pathlib import Path

import pytest

from buildrig.cli import main
from buildrig.run import RunResult

Runfn = Callable[..., RunResult]

SHELL_YAML = (
    "variables:\n  G: global\njob:\n  script:\n    - echo dir=$CI_PROJECT_DIR\n    - pwd\n"
    "    - cat data.txt\n"
    "    - echo G=$G V=$V file=$(cat $F) ci=$CI\n    - id -un\n    - sh -c 'exit 9'\n    - echo never\n"
    "  after_script:\n    - echo after=$CI_JOB_STATUS\n"
)


def test_shell_executor_semantics(run_yaml: Runfn, builds: Path, tmp_path: Path) -> None:
    secret = tmp_path / "f"
    secret.write_text("from-file")
    res = run_yaml(
        SHELL_YAML,
        files={"data.txt": "project-data\n"},
        executor="shell",
        builds_dir=builds,
        variables={"V": "cli"},
        file_variables={"F": secret},
        namespace="ns",
    )
    job = res.jobs[0]
    lines = job.text.splitlines()
    project = builds / "ns" / "proj"
    assert (job.status, job.exit_code) == ("failed", 9)
    assert f"dir={project}" in lines and str(project) in lines
    assert "project-data" in lines and "G=global V=cli file=from-file ci=true" in lines
    assert pwd.getpwuid(os.getuid()).pw_name in lines
    assert "never" not in lines and "after=failed" in lines
    assert not (builds / "ns" / "proj.tmp").exists()  # file variables don't outlive the job


@pytest.mark.skipif(os.getuid() != 0, reason="running as another user needs root")
def test_shell_executor_as_another_user(run_yaml: Runfn, builds: Path) -> None:
    res = run_yaml(
        "job:\n  script:\n    - id -un\n    - touch made-here && echo wrote\n",
        executor="shell",
        builds_dir=builds,
        user="nobody",
    )
    job = res.jobs[0]
    assert job.status == "success", job.text
    lines = job.text.splitlines()
    assert "nobody" in lines and "wrote" in lines
    made = next(builds.rglob("made-here"))
    assert made.stat().st_uid == pwd.getpwnam("nobody").pw_uid


def test_cli_run_exit_code_and_list(
    tmp_path: Path, images: dict[str, str], capsys: pytest.CaptureFixture[str], no_leftovers: None
) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(
        f"ok:\n  image: {images['plain']}\n  script: [echo fine]\n"
        f"bad:\n  image: {images['plain']}\n  variables:\n    PW: hunter2-secret\n"
        "  script: [echo pw=$PW, exit 3]\n"
    )
    assert main(["run", str(tmp_path), "--list"]) == 0
    listed = capsys.readouterr().out
    assert "ok" in listed and "bad" in listed
    code = main(["run", str(tmp_path), "--job", "bad", "--mask", "PW", "--no-testbed"])
    cap = capsys.readouterr()
    assert code == 3
    assert "pw=[MASKED]" in cap.out and "hunter2-secret" not in cap.out + cap.err
    assert "$ exit 3" in cap.out
    assert main(["run", str(tmp_path), "--job", "ok", "--no-testbed", "-q"]) == 0
    assert "fine" not in capsys.readouterr().out
    assert main(["run", str(tmp_path), "--job", "nope"]) == 2
    assert "no job named 'nope'" in capsys.readouterr().err


def test_cli_gc_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gc", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip()


def test_shell_job_timeout(run_yaml: Runfn, builds: Path) -> None:
    res = run_yaml("job:\n  timeout: 2s\n  script:\n    - sleep 60\n", executor="shell", builds_dir=builds)
    job = res.jobs[0]
    assert job.status == "failed" and job.reason == "execution took longer than 0h0m2s seconds"
    assert job.duration < 20


def test_shell_artifacts(run_yaml: Runfn, builds: Path) -> None:
    res = run_yaml(
        "stages: [a, b]\nmake:\n  stage: a\n  script: [mkdir -p out, echo made > out/f]\n"
        "  artifacts:\n    paths: [out/]\nread:\n  stage: b\n  script: [cat out/f]\n",
        executor="shell",
        builds_dir=builds,
    )
    assert res.exit_code == 0
    assert "made" in res.job("read").text.splitlines()  # type: ignore[union-attr]


def test_retry_reruns_a_failed_job(run_yaml: Runfn, builds: Path, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    counter.write_text("")
    # Fails on the first attempt only: the retry must run the script again and succeed.
    res = run_yaml(
        f"job:\n  retry: 2\n  script:\n    - echo x >> {counter}\n    - test $(wc -l < {counter}) -ge 2\n"
        f"no-retry:\n  retry:\n    max: 2\n    exit_codes: [42]\n  script: [exit 1]\n",
        executor="shell",
        builds_dir=builds,
    )
    job, other = res.job("job"), res.job("no-retry")
    assert job is not None and other is not None
    assert job.status == "success" and "Retrying the job (attempt 2 of 3)" in job.text
    assert counter.read_text().count("x") == 2
    assert other.status == "failed" and "Retrying" not in other.text


def test_cli_value_parsing(tmp_path: Path) -> None:
    from buildrig.cli.run_cmd import _image_map, _pairs
    from buildrig.errors import InputError

    assert _pairs(["A=1", "B=x=y", "C="], "--var") == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(InputError, match="expected KEY=VALUE"):
        _pairs(["novalue"], "--var")
    lines = tmp_path / "map.txt"
    lines.write_text("# stand-ins\ndocker:29-cli = local/cli:1\n\n")
    assert _image_map(lines) == {"docker:29-cli": "local/cli:1"}
    js = tmp_path / "map.json"
    js.write_text('{"docker:29-dind": "local/dind:1"}')
    assert _image_map(js) == {"docker:29-dind": "local/dind:1"}
    js.write_text('{"a": 1}')
    with pytest.raises(InputError, match="must map image names"):
        _image_map(js)


def test_dotenv_report_feeds_later_jobs(run_yaml: Runfn, builds: Path) -> None:
    res = run_yaml(
        "stages: [a, b]\nvariables:\n  TAG: from-yaml\n"
        "make:\n  stage: a\n  script: [echo TAG=v1.2.3 > build.env, echo OTHER=x >> build.env]\n"
        "  artifacts:\n    reports:\n      dotenv: build.env\n"
        "use:\n  stage: b\n  script: [echo tag=$TAG other=$OTHER, test ! -e build.env && echo no-file]\n",
        executor="shell",
        builds_dir=builds,
    )
    use = res.job("use")
    assert use is not None and use.status == "success", use.text if use else res
    lines = use.text.splitlines()
    assert "tag=v1.2.3 other=x" in lines and "no-file" in lines


@pytest.mark.parametrize("no_testbed", [False, True])
def test_run_cli_passes_the_test_beds_registry_and_stand_ins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_testbed: bool
) -> None:
    """``run`` knows nothing of the test bed: the command resolves both and hands them in;
    ``--image-map`` entries win over the stand-ins, ``--no-testbed`` drops both."""
    import buildrig.run
    from buildrig.registryinfo import RegistryInfo
    from buildrig.run import RunOptions
    from buildrig.testbed import images, registry

    info = RegistryInfo(host="10.0.0.1:5443", user="u", password="p")
    seen: list[RunOptions] = []

    def fake_run(opts: RunOptions) -> RunResult:
        seen.append(opts)
        return RunResult(run_id="r", jobs=(), started=0.0, finished=0.0)

    monkeypatch.setattr(registry, "current", lambda docker_host=None: info)
    monkeypatch.setattr(images, "overrides", lambda: {"docker:cli": "standin/cli", "kaniko": "standin/k"})
    monkeypatch.setattr(buildrig.run, "run_jobs", fake_run)
    (tmp_path / ".gitlab-ci.yml").write_text("job:\n  script: [echo]\n")
    (tmp_path / "map.txt").write_text("kaniko=mine/kaniko\n")
    args = ["run", str(tmp_path), "--image-map", str(tmp_path / "map.txt"), "-q"]
    assert main([*args, "--no-testbed"] if no_testbed else args) == 0
    (opts,) = seen
    if no_testbed:
        assert (opts.registry, dict(opts.image_overrides)) == (None, {"kaniko": "mine/kaniko"})
    else:
        assert opts.registry == info
        assert dict(opts.image_overrides) == {"docker:cli": "standin/cli", "kaniko": "mine/kaniko"}


def test_cli_keep_cache_keeps_cache_volumes_for_the_projects_next_run(
    tmp_path: Path, images: dict[str, str], api: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run --keep-cache` keeps a runner cache volume (a volumes entry without a host path) past the
    process, as GitLab Runner keeps it between jobs; `gc` leaves it until `gc --all`."""
    from buildrig.engine import LABEL_CACHE_SCOPE, LABEL_KEPT
    from buildrig.run.cleanup import gc, project_scope, remove_cache

    (tmp_path / ".gitlab-ci.yml").write_text(
        f"job:\n  image: {images['plain']}\n  script:\n    - cat /keep/note || true\n"
        "    - echo run-$RUN > /keep/note\n"
    )
    (tmp_path / "runner").mkdir()
    (tmp_path / "runner" / "config.toml").write_text(
        f'[[runners]]\nname = "t"\nexecutor = "docker"\n[runners.docker]\nimage = "{images["plain"]}"\n'
        'volumes = ["/keep"]\npull_policy = ["if-not-present"]\n'
    )
    # the runner entry the run found and used, on the lowest free concurrent slot
    scope = project_scope(tmp_path, tmp_path / "runner" / "config.toml", "t") + "-0"
    flt = {"label": f"{LABEL_CACHE_SCOPE}={scope}"}
    try:
        assert main(["run", str(tmp_path), "--no-testbed", "--keep-cache", "--var", "RUN=first"]) == 0
        assert not _said(capsys.readouterr().out, "run-first")
        kept = api.volumes(filters=flt)["Volumes"]  # type: ignore[attr-defined]
        assert len(kept) == 1 and kept[0]["Labels"].get(LABEL_KEPT) == "1"
        name = kept[0]["Name"]
        assert name not in [i.name for i in gc(api, dry_run=True)]  # type: ignore[arg-type]
        assert name in [i.name for i in gc(api, dry_run=True, include_live=True)]  # type: ignore[arg-type]
        assert main(["run", str(tmp_path), "--no-testbed", "--keep-cache", "--var", "RUN=second"]) == 0
        assert _said(capsys.readouterr().out, "run-first")
        # without the flag the run's cache volume is its own, as before
        assert main(["run", str(tmp_path), "--no-testbed", "--var", "RUN=third"]) == 0
        assert not _said(capsys.readouterr().out, "run-second")
    finally:
        assert remove_cache(api, scope) == []  # type: ignore[arg-type]
    assert api.volumes(filters=flt)["Volumes"] in (None, [])  # type: ignore[attr-defined]


def _said(out: str, text: str) -> bool:
    """Whether the job printed ``text`` as a line (the CLI prefixes its time and the job's name)."""
    return any(line.rstrip().endswith(f" job {text}") for line in out.splitlines())
