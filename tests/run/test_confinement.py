"""Artifacts and cache stay inside the project: ``../`` paths are skipped with GitLab Runner's
warning, symlinks are neither collected through nor restored through, and the shell executor's file
work for a job is done as the job's user (File variables 0600 in a 0700 directory)."""

from __future__ import annotations

import io
import os
import pwd
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest

from buildrig.errors import Loc
from buildrig.gitlab.model import Job
from buildrig.run import RunOptions, RunResult, run_jobs
from buildrig.run import artifacts as arts


def _run(project: Path, yaml: str, builds: Path, **kw: Any) -> RunResult:
    project.mkdir(exist_ok=True)
    (project / ".gitlab-ci.yml").write_text(yaml)
    return run_jobs(
        RunOptions(
            project_dir=project,
            executor="shell",
            builds_dir=builds,
            install_signal_handlers=False,
            **kw,
        )
    )


def _job(raw: dict[str, Any]) -> Job:
    return Job(name="j", stage="build", loc=Loc("x", 1), raw=raw)


def test_confine_and_spec() -> None:
    assert arts.confine("./dist/") == "dist" and arts.confine("/abs/x") == "abs/x"
    assert arts.confine(".") == "" and arts.confine("a/../b") == "b"
    for bad in ("..", "../x", "a/../../x", "./../etc/passwd", "*/../../x"):
        assert arts.confine(bad) is None, bad
    job = _job(
        {"artifacts": {"paths": ["dist/", "../secret", "a/../../b"], "reports": {"dotenv": "../e.env"}}}
    )
    assert arts.spec(job) == (("dist",), "on_success")
    assert arts.outside_paths(job) == ("../secret", "a/../../b", "../e.env")


def test_cache_paths_and_key_files_stay_inside(tmp_path: Path) -> None:
    (tmp_path / "lock").write_text("v1")
    job = _job({"cache": {"key": {"files": ["lock", "../../../etc/hostname"]}, "paths": ["../x", "deps/"]}})
    spec = arts.cache_specs(job, lambda v: v, tmp_path)[0]
    assert spec.paths == ("deps",) and spec.outside == ("../x",)
    other = tmp_path / "other"
    other.mkdir()
    (other / "lock").write_text("v1")
    # The key hashes the outside name only: the same whatever that host file holds.
    assert arts.cache_specs(job, lambda v: v, other)[0].key == spec.key


def test_stored_archives_with_escaping_names_are_ignored(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in ("../../evil", "ok/file"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "c.tar").write_bytes(buf.getvalue())
    assert [f.path for f in arts.load_cache(tmp_path / "c.tar")] == ["ok/file"]


def test_artifacts_outside_the_project_are_not_collected(builds: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host secret\n")
    res = _run(
        tmp_path / "proj",
        "stages: [a, b]\n"
        f"make:\n  stage: a\n  script: [ln -s {outside} out, echo x > ../sibling.txt]\n"
        "  artifacts:\n    paths: [out/, out/secret.txt, ../sibling.txt]\n"
        "use:\n  stage: b\n  script: ['ls -R', 'test -e out/secret.txt && echo LEAKED || echo clean']\n",
        builds,
    )
    make, use = res.job("make"), res.job("use")
    assert make is not None and use is not None
    assert "../sibling.txt: not supported: outside build directory" in make.text
    assert use.status == "success", use.text
    assert "clean" in use.text.splitlines() and "LEAKED" not in use.text.splitlines()


def test_restore_does_not_write_through_a_checkout_symlink(builds: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    project = tmp_path / "proj"
    project.mkdir()
    (project / "dist").symlink_to(outside)  # committed symlink, present in every job's copy
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    res = _run(
        project,
        "stages: [a, b]\n"
        "make:\n  stage: a\n  script: [rm dist, mkdir dist, echo made > dist/x]\n"
        "  artifacts:\n    paths: [dist/]\n"
        "use:\n  stage: b\n  script: ['test -L dist && echo still-a-link']\n",
        builds,
    )
    use = res.job("use")
    assert use is not None and use.status == "success", use.text
    assert "WARNING: dist/x: not restored: dist is a symlink in the project" in use.text
    assert "still-a-link" in use.text.splitlines()
    assert list(outside.iterdir()) == []


def test_file_variables_are_private_from_the_start(builds: Path, tmp_path: Path) -> None:
    secret = tmp_path / "f"
    secret.write_text("s3cret")
    res = _run(
        tmp_path / "proj",
        'job:\n  script: [\'stat -c file=%a "$F"\', \'stat -c dir=%a "$(dirname "$F")"\']\n',
        builds,
        file_variables={"F": secret},
    )
    job = res.jobs[0]
    assert job.status == "success", job.text
    lines = job.text.splitlines()
    assert "file=600" in lines and "dir=700" in lines


@pytest.mark.skipif(os.getuid() != 0, reason="running as another user needs root")
def test_file_work_for_another_user_is_done_as_that_user(builds: Path, tmp_path: Path) -> None:
    # A root-only file the job (as nobody) points a symlink at: collecting through it as root
    # would hand it to the next job; as the job's user it cannot even be read.
    vault = Path(tempfile.mkdtemp(prefix="buildrig-vault-"))
    try:
        (vault / "secret.txt").write_text("root only\n")
        (vault / "secret.txt").chmod(0o600)
        project = tmp_path / "proj"
        project.mkdir()
        (project / "data.txt").write_text("project-data\n")
        res = _run(
            project,
            "stages: [a, b]\n"
            f"make:\n  stage: a\n  script: [ln -s {vault} out, mkdir -p own, echo made > own/f]\n"
            "  artifacts:\n    paths: [out/, out/secret.txt, own/]\n"
            "use:\n  stage: b\n  script: [cat data.txt, cat own/f, 'cat out/secret.txt || echo clean']\n",
            builds,
            user="nobody",
        )
        assert res.exit_code == 0, [j.text for j in res.jobs]
        use = res.job("use")
        assert use is not None
        lines = use.text.splitlines()
        assert "made" in lines and "clean" in lines and "root only" not in lines
        nobody = pwd.getpwnam("nobody").pw_uid
        for name in ("data.txt", "own/f"):
            made = next(builds.rglob(name))
            assert made.stat().st_uid == nobody, name
    finally:
        shutil.rmtree(vault, ignore_errors=True)


def test_cache_paths_outside_the_project_are_warned_about_and_skipped(
    builds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("BUILDRIG_HOME", str(home))
    res = _run(
        tmp_path / "proj",
        "job:\n  script: [mkdir -p deps, echo d > deps/x, echo s > ../secret]\n"
        "  cache:\n    - key: one\n      paths: [deps/, ../secret]\n"
        "    - key: two\n      paths: [../../etc]\n",
        builds,
    )
    job = res.jobs[0]
    assert job.status == "success", job.text
    assert "WARNING: ../secret: not supported: outside build directory" in job.text
    assert "WARNING: ../../etc: not supported: outside build directory" in job.text
    assert "Created cache (1 files)" in job.text
    (stored,) = home.rglob("one.tar")
    assert [f.path for f in arts.load_cache(stored)] == ["deps/x"]
    assert not list(home.rglob("two.tar"))


def test_project_copy_holds_files_dirs_and_symlinks_only(tmp_path: Path) -> None:
    from buildrig.run.script import build_tar

    project = tmp_path / "proj"
    (project / "d").mkdir(parents=True)
    (project / "d" / "f").write_text("x")
    (project / "link").symlink_to("d/f")
    os.mkfifo(project / "fifo")
    with tarfile.open(fileobj=build_tar(project, "b/proj", {})) as tar:
        kinds = {m.name: m.type for m in tar.getmembers()}
    assert kinds["b/proj/d/f"] == tarfile.REGTYPE and kinds["b/proj/link"] == tarfile.SYMTYPE
    assert "b/proj/fifo" not in kinds
