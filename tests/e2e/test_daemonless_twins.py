"""The daemonless ways' classic mistakes, reproduced with the real tools (kaniko and BuildKit built
from their Go modules): each twin changes one thing in what ``init`` generated and asserts the
error text the real tool prints, and that doctor names the same cause."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from ruamel.yaml import YAML

from buildrig import versions
from buildrig.doctor.engine import Inputs, diagnose
from buildrig.init import InitOptions, init_project
from buildrig.run.api import run_jobs
from buildrig.run.model import RegistryInfo, RunOptions, RunResult
from buildrig.strategies.base import REGISTRY_CA_VARIABLE
from buildrig.testbed import images
from buildrig.trial import scratch_copy

pytestmark = [pytest.mark.engine, pytest.mark.slow]

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"


def _project(tmp_path: Path, strategy: str) -> Path:
    scratch = scratch_copy(HELLO, tmp_path, f"{strategy}-twin")
    init_project(InitOptions(strategy=strategy, out=scratch))
    return scratch


def _edit_job(scratch: Path, change: Callable[[dict[str, Any]], None]) -> None:
    yaml = YAML()
    path = scratch / ".gitlab-ci.yml"
    doc = yaml.load(path.read_text())
    change(doc["build-image"])
    with path.open("w") as fh:
        yaml.dump(doc, fh)


def _edit_runner(scratch: Path, change: Callable[[Any], None]) -> None:
    cfg = scratch / "runner" / "config.toml"
    doc = tomlkit.parse(cfg.read_text())
    change(doc["runners"][0]["docker"])  # type: ignore[index]
    cfg.write_text(tomlkit.dumps(doc))


def _run(scratch: Path, testbed: RegistryInfo, runs: Any, *, ca: bool = True) -> RunResult:
    # run gives the job the registry's CA as BUILD_REGISTRY_CA unless the variable is set: set
    # empty, it is what a project without the variable has.
    unset = {} if ca else {REGISTRY_CA_VARIABLE: ""}
    result = run_jobs(RunOptions(project_dir=scratch, runner_config=scratch / "runner" / "config.toml",
                                 registry=testbed, image_overrides=images.overrides(), namespace="e2e",
                                 project_name=_repo_name(scratch),
                                 variables=unset))
    runs.ids.append(result.run_id)
    return result


def _repo_name(scratch: Path) -> str:
    """A registry path component from the scratch directory: mkdtemp's suffix may put two
    separators together ("twin-_x"), which is no valid image reference."""
    return "twin-" + re.sub(r"[^a-z0-9]+", "-", scratch.name.lower()).strip("-")


def _failed_text(result: RunResult) -> str:
    job = result.jobs[0]
    assert job.status == "failed" and result.exit_code != 0, job.text[-2000:]
    assert "BUILDRIG_DIGEST=" not in job.text
    return job.text


def _doctor_quotes(scratch: Path, rule: str, real: str) -> None:
    """doctor flags the twin's files with ``rule`` and quotes the real tool's text in its message."""
    report = diagnose(Inputs(directory=scratch, runner_config=scratch / "runner" / "config.toml"))
    messages = [f.message for f in report.findings if f.rule == rule]
    assert messages, f"{rule} not reported; got {[f.rule for f in report.findings]}"
    assert any(real in m for m in messages), messages


def test_kaniko_without_entrypoint_override(testbed: RegistryInfo, tmp_path: Path, runs: Any) -> None:
    scratch = _project(tmp_path, "kaniko")
    _edit_job(scratch, lambda job: job.__setitem__("image", job["image"]["name"]))
    text = _failed_text(_run(scratch, testbed, runs))
    # The runner hands its shell-detection command to the image's entrypoint, the executor.
    real = 'Error: unknown command "sh" for "executor"'
    assert real in text
    _doctor_quotes(scratch, "BR401", real)


def test_kaniko_image_without_debug_has_no_shell(testbed: RegistryInfo, tmp_path: Path, runs: Any) -> None:
    scratch = _project(tmp_path, "kaniko")
    _edit_job(scratch, lambda job: job["image"].__setitem__("name", versions.KANIKO_PLAIN_IMAGE))
    text = _failed_text(_run(scratch, testbed, runs))
    real = 'exec: "sh": executable file not found in $PATH'
    assert real in text
    _doctor_quotes(scratch, "BR402", real)


def test_kaniko_without_the_registry_ca(testbed: RegistryInfo, tmp_path: Path, runs: Any) -> None:
    scratch = _project(tmp_path, "kaniko")
    text = _failed_text(_run(scratch, testbed, runs, ca=False))
    assert "x509: certificate signed by unknown authority" in text


def test_rootless_buildkit_without_unconfined_seccomp(testbed: RegistryInfo, tmp_path: Path,
                                                      runs: Any) -> None:
    scratch = _project(tmp_path, "buildkit")
    _edit_runner(scratch, lambda docker: docker.remove("security_opt"))
    text = _failed_text(_run(scratch, testbed, runs))
    real = ("[rootlesskit:parent] error: failed to start the child: fork/exec /proc/self/exe: "
            "operation not permitted")
    assert real in text
    _doctor_quotes(scratch, "BR501", real)


def test_rootless_buildkit_without_no_process_sandbox(testbed: RegistryInfo, tmp_path: Path,
                                                      runs: Any) -> None:
    scratch = _project(tmp_path, "buildkit")
    _edit_job(scratch, lambda job: job["variables"].pop("BUILDKITD_FLAGS"))
    text = _failed_text(_run(scratch, testbed, runs))
    real = "mount proc:/proc (via /proc/self/fd/6), flags: 0xe: operation not permitted"
    assert real in text
    _doctor_quotes(scratch, "BR504", real)


def test_buildkit_without_the_registry_ca(testbed: RegistryInfo, tmp_path: Path, runs: Any) -> None:
    scratch = _project(tmp_path, "buildkit")
    text = _failed_text(_run(scratch, testbed, runs, ca=False))
    assert "x509: certificate signed by unknown authority" in text


def test_kaniko_multi_stage_keeps_the_project(testbed: RegistryInfo, tmp_path: Path, runs: Any) -> None:
    # kaniko empties the root file system between stages but keeps mounts: the project survives
    # because the builds directory is a volume, as on GitLab Runner's docker executor.
    scratch = _project(tmp_path, "kaniko")
    dockerfile = scratch / "Dockerfile"
    base = next(
        line.split()[1] for line in dockerfile.read_text().splitlines() if line.upper().startswith("FROM ")
    )
    dockerfile.write_text(
        f"FROM {base} AS first\nCOPY requirements.txt /src/requirements.txt\n"
        f"FROM {base}\nCOPY --from=first /src/requirements.txt /r.txt\nCOPY requirements.txt /again.txt\n"
    )
    result = _run(scratch, testbed, runs)
    job = result.jobs[0]
    assert job.status == "success", job.text[-2000:]
    assert "BUILDRIG_DIGEST=sha256:" in job.text
