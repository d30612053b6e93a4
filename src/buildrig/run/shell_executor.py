"""GitLab Runner's shell executor: the script runs on this host, in a builds directory, optionally as
another user (the ``gitlab-runner`` user of a real install), with the same script semantics as the
Docker executor. Docker commands in the script reach the host's daemon, as on a real shell runner.

File work on the builds directory (the project copy, artifacts and cache restored, File variables,
the scripts; artifacts and cache collected) is done by ``tar`` running as the job's user, never by
buildrig as root on its behalf: a job that plants a symlink or swaps a directory can then reach only
what its own user can. File variables are created 0600 in a 0700 directory (umask 077), never
readable by others, not even for a moment.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from buildrig.gitlab.model import Job
from buildrig.run import artifacts as arts
from buildrig.run import script as scripts
from buildrig.run.artifacts import ArtifactFile
from buildrig.run.executor import AFTER_SCRIPT_TIMEOUT, JobError, Outcome, duration_text, job_timeout
from buildrig.run.log import JobLog
from buildrig.run.variables import JobVariables, PipelineContext


class ShellExecutor:
    def __init__(self, ctx: PipelineContext, *, user: str | None, shell: str | None) -> None:
        self.ctx = ctx
        self.user = user
        self.shell = shell or "bash"
        self._pw = None
        self.pre_build: tuple[str, ...] = ()  # [[runners]] pre_build_script, run before before_script
        if user:
            try:
                self._pw = pwd.getpwnam(user)
            except KeyError as exc:
                raise JobError(f"user {user!r} does not exist on this host") from exc

    def _as_user(self, argv: list[str]) -> list[str]:
        """``argv`` run as the job's user (unchanged without ``--user``)."""
        if self._pw is None:
            return argv
        setpriv = shutil.which("setpriv")
        if setpriv:
            return [
                setpriv,
                f"--reuid={self._pw.pw_uid}",
                f"--regid={self._pw.pw_gid}",
                "--init-groups",
                *argv,
            ]
        return ["su", "-s", "/bin/sh", self.user or "", "-c", " ".join(scripts.quote(a) for a in argv)]

    def _argv(self, script: Path) -> list[str]:
        shell = shutil.which(self.shell) or shutil.which("sh") or "/bin/sh"
        return self._as_user([shell, str(script)])

    def _tar(self) -> str:
        tar = shutil.which("tar")
        if tar is None:
            raise JobError("the shell executor needs tar on this host")
        return tar

    def _unpack(self, builds: Path, archive: IO[bytes]) -> None:
        """Extract ``archive`` (names relative to ``builds``) as the job's user."""
        argv = self._as_user([self._tar(), "-x", "-p", "--no-same-owner", "-f", "-", "-C", str(builds)])
        proc = subprocess.run(argv, stdin=archive, capture_output=True, umask=0o077, cwd="/", check=False)
        if proc.returncode != 0:
            why = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["tar failed"])[0]
            raise JobError(f"cannot prepare {builds} as {self.user or 'this user'}: {why}")

    def _put(
        self, builds: Path, source: Path | None, dest: str, files: Mapping[str, tuple[bytes, int]]
    ) -> None:
        tmp = f"{dest}.tmp"
        self._unpack(builds, scripts.build_tar(source, dest, files, dir_modes={dest: 0o755, tmp: 0o700}))

    def _gather(self, project: Path, patterns: Sequence[str]) -> list[ArtifactFile]:
        """Files under ``patterns``, read by ``tar`` as the job's user; symlinks are not followed."""
        # A prefix through a symlink (`out/x` with `out -> /etc`) would make tar follow it.
        prefixes = sorted({p for p in map(arts.prefix, patterns) if not _through_symlink(project, p)})
        if not prefixes:
            return []
        names = [f"./{project.name}/{p}" if p else f"./{project.name}" for p in prefixes]
        argv = self._as_user([self._tar(), "-c", "-f", "-", "-C", str(project.parent), *names])
        # tar exits 2 when a prefix does not exist and still archives the others.
        proc = subprocess.run(argv, capture_output=True, cwd="/", check=False)
        if not proc.stdout:
            return []
        return arts.from_tar(proc.stdout, "", patterns)

    def _prepare_builds(self, builds: Path) -> None:
        """The builds directory exists and the job's user may create the project in it."""
        if builds.is_symlink():
            raise JobError(f"builds directory {builds} is a symlink")
        fresh = not builds.exists()
        builds.mkdir(parents=True, exist_ok=True)
        if self._pw is None:
            return
        st = builds.lstat()
        if st.st_uid == self._pw.pw_uid:
            return
        # Only a directory made for the job (new or empty) is handed to its user, never one with
        # someone else's content (a shared /tmp).
        if fresh or not any(builds.iterdir()):
            os.lchown(builds, self._pw.pw_uid, self._pw.pw_gid)
        elif not os.access(builds, os.W_OK):
            raise JobError(f"builds directory {builds} is not writable by {self.user}")

    def run(
        self,
        job: Job,
        index: int,
        jv: JobVariables,
        log: JobLog,
        inputs: Sequence[ArtifactFile] = (),
        cache_paths: Sequence[str] = (),
    ) -> Outcome:
        ctx = self.ctx
        project = Path(ctx.project_dir)
        tmp = Path(ctx.tmp_dir)
        log.section('Preparing the "shell" executor')
        who = self.user or pwd.getpwuid(os.getuid()).pw_name
        log.sys(f"Using Shell executor... (running as {who})")
        if job.image is not None or job.services:
            log.warn(
                "WARNING: the shell executor runs the script on this host: image: and services: are ignored"
            )
        builds = Path(ctx.builds_dir)
        for old in (project, tmp):
            # rmtree works on file descriptors and never follows a symlink out of the tree.
            if old.is_symlink():
                old.unlink()
            elif old.exists():
                shutil.rmtree(old)
        self._prepare_builds(builds)
        rel = project.relative_to(builds).as_posix()
        files: dict[str, tuple[bytes, int]] = {}
        if inputs:
            log.sys(f"Downloading artifacts ({len(inputs)} files from earlier jobs)...")
        source = None if jv.get("GIT_STRATEGY") == "none" else ctx.project.dir
        links = _symlinks(source)
        for f in inputs:
            inside = arts.confine(f.path)
            through = next((p for p in _parents(inside) if p in links), None) if inside else None
            if through is not None:
                # The project holds a symlink there: restoring would write wherever it points.
                log.warn(f"WARNING: {f.path}: not restored: {through} is a symlink in the project")
            elif inside:
                files[f"{rel}/{inside}"] = (f.content, f.mode & 0o777)
        env = dict(os.environ)
        for k, v in jv.env:
            env[k] = str(tmp / k) if k in jv.files else v
        for k, content in jv.files.items():
            files[f"{rel}.tmp/{k}"] = (content, 0o600)
        if self._pw is not None:
            env.update(HOME=self._pw.pw_dir, USER=self._pw.pw_name, LOGNAME=self._pw.pw_name)
        main = tmp / "step_script.sh"
        text = scripts.render([*self.pre_build, *job.before_script, *job.script], workdir=str(project))
        files[f"{rel}.tmp/step_script.sh"] = (text.encode(), 0o600)
        self._put(builds, source, rel, files)
        log.section('Executing "step_script" stage of the job script')
        limit = job_timeout(job)
        code, timed_out = self._exec(self._argv(main), env, log, limit)
        if job.after_script:
            log.section("Running after_script")
            log.sys("Running after script...")
            after = tmp / "after_script.sh"
            text = scripts.render(job.after_script, workdir=str(project))
            self._put(builds, None, rel, {f"{rel}.tmp/after_script.sh": (text.encode(), 0o600)})
            env["CI_JOB_STATUS"] = "success" if code == 0 else "failed"
            acode, atimed_out = self._exec(self._argv(after), env, log, AFTER_SCRIPT_TIMEOUT)
            if atimed_out:
                log.warn(f"WARNING: after_script timed out after {AFTER_SCRIPT_TIMEOUT}s")
            elif acode != 0:
                log.warn(f"WARNING: after_script failed, but job will continue unaffected: exit code {acode}")
        shutil.rmtree(tmp, ignore_errors=True)  # file variables must not outlive the job
        collected = self._collect(project, job, code == 0 and not timed_out, log)
        cached = tuple(self._gather(project, cache_paths)) if cache_paths else ()
        if timed_out:
            limit_text = duration_text(limit)
            return Outcome("failed", 1, f"execution took longer than {limit_text} seconds", collected, cached)
        if code == 0:
            return Outcome("success", 0, None, collected, cached)
        return Outcome("failed", code, f"exit code {code}", collected, cached)

    def _collect(self, project: Path, job: Job, success: bool, log: JobLog) -> tuple[ArtifactFile, ...]:
        return arts.collect(job, success, log, lambda pattern: self._gather(project, [pattern]))

    def _exec(
        self, argv: list[str], env: dict[str, str], log: JobLog, timeout: float | None
    ) -> tuple[int, bool]:
        """Run the script in its own process group; kill the group after ``timeout`` seconds.

        Returns (exit code, whether the timeout killed it).
        """
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
        )
        assert proc.stdout is not None
        fired = threading.Event()

        def kill() -> None:
            fired.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            while True:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                log.feed(chunk)
            log.flush()
            return proc.wait(), fired.is_set()
        finally:
            if timer is not None:
                timer.cancel()
            proc.stdout.close()
            if proc.poll() is None:
                # Interrupted (Ctrl-C/SIGTERM): end the whole script's process group, like the runner.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def _symlinks(source: Path | None) -> frozenset[str]:
    """The project files that are symlinks (the fresh copy holds exactly these)."""
    if source is None:
        return frozenset()
    return frozenset(p.as_posix() for p in scripts.project_files(source) if (source / p).is_symlink())


def _parents(rel: str) -> list[str]:
    """``a/b/c`` → ``a``, ``a/b``, ``a/b/c``."""
    parts = rel.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _through_symlink(root: Path, rel: str) -> bool:
    """Whether a directory on the way to ``rel`` (below ``root``) is a symlink."""
    return any((root / p).is_symlink() for p in _parents(rel)[:-1]) if rel else False
