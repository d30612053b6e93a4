"""GitLab Runner's shell executor: the script runs on this host, in a builds directory, optionally as
another user (the ``gitlab-runner`` user of a real install), with the same script semantics as the
Docker executor. Docker commands in the script reach the host's daemon, as on a real shell runner."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from buildrig.gitlab.model import Job
from buildrig.run import artifacts as arts
from buildrig.run import script as scripts
from buildrig.run.artifacts import ArtifactFile
from buildrig.run.docker_executor import AFTER_SCRIPT_TIMEOUT, JobError, Outcome, duration_text, job_timeout
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

    def _chown(self, path: Path) -> None:
        if self._pw is None:
            return
        for root, dirs, files in os.walk(path):
            for name in (
                root,
                *(os.path.join(root, d) for d in dirs),
                *(os.path.join(root, f) for f in files),
            ):
                os.lchown(name, self._pw.pw_uid, self._pw.pw_gid)

    def _argv(self, script: Path) -> list[str]:
        shell = shutil.which(self.shell) or shutil.which("sh") or "/bin/sh"
        if self._pw is None:
            return [shell, str(script)]
        setpriv = shutil.which("setpriv")
        if setpriv:
            return [
                setpriv,
                f"--reuid={self._pw.pw_uid}",
                f"--regid={self._pw.pw_gid}",
                "--init-groups",
                shell,
                str(script),
            ]
        return ["su", "-s", shell, self.user or "", "-c", f"{shell} {scripts.quote(str(script))}"]

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
        tmp = Path(ctx.project_dir + ".tmp")
        log.section('Preparing the "shell" executor')
        who = self.user or pwd.getpwuid(os.getuid()).pw_name
        log.sys(f"Using Shell executor... (running as {who})")
        if job.image is not None or job.services:
            log.warn(
                "WARNING: the shell executor runs the script on this host: image: and services: are ignored"
            )
        if project.exists():
            shutil.rmtree(project)
        if tmp.exists():
            shutil.rmtree(tmp)
        project.mkdir(parents=True)
        tmp.mkdir(parents=True)
        files = [] if jv.get("GIT_STRATEGY") == "none" else scripts.project_files(ctx.project.dir)
        for rel in files:
            src, dst = ctx.project.dir / rel, project / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
            elif src.is_file():
                shutil.copy2(src, dst)
        if inputs:
            log.sys(f"Downloading artifacts ({len(inputs)} files from earlier jobs)...")
        for f in inputs:
            dst = project / f.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(f.content)
            dst.chmod(f.mode)
        env = dict(os.environ)
        for k, v in jv.env:
            env[k] = str(tmp / k) if k in jv.files else v
        for k, content in jv.files.items():
            (tmp / k).write_bytes(content)
            (tmp / k).chmod(0o600)
        if self._pw is not None:
            env.update(HOME=self._pw.pw_dir, USER=self._pw.pw_name, LOGNAME=self._pw.pw_name)
        main = tmp / "step_script.sh"
        main.write_text(
            scripts.render([*self.pre_build, *job.before_script, *job.script], workdir=str(project))
        )
        self._chown(Path(ctx.builds_dir))
        log.section('Executing "step_script" stage of the job script')
        limit = job_timeout(job)
        code, timed_out = self._exec(self._argv(main), env, log, limit)
        if job.after_script:
            log.section("Running after_script")
            log.sys("Running after script...")
            after = tmp / "after_script.sh"
            after.write_text(scripts.render(job.after_script, workdir=str(project)))
            self._chown(after)
            env["CI_JOB_STATUS"] = "success" if code == 0 else "failed"
            acode, atimed_out = self._exec(self._argv(after), env, log, AFTER_SCRIPT_TIMEOUT)
            if atimed_out:
                log.warn(f"WARNING: after_script timed out after {AFTER_SCRIPT_TIMEOUT}s")
            elif acode != 0:
                log.warn(f"WARNING: after_script failed, but job will continue unaffected: exit code {acode}")
        shutil.rmtree(tmp, ignore_errors=True)  # file variables must not outlive the job
        collected = self._collect(project, job, code == 0 and not timed_out, log)
        cached = tuple(arts.from_dir(project, cache_paths)) if cache_paths else ()
        if timed_out:
            limit_text = duration_text(limit)
            return Outcome("failed", 1, f"execution took longer than {limit_text} seconds", collected, cached)
        if code == 0:
            return Outcome("success", 0, None, collected, cached)
        return Outcome("failed", code, f"exit code {code}", collected, cached)

    def _collect(self, project: Path, job: Job, success: bool, log: JobLog) -> tuple[ArtifactFile, ...]:
        patterns, when = arts.spec(job)
        if not patterns or not arts.wanted(when, success):
            return ()
        log.section("Uploading artifacts for " + ("successful" if success else "failed") + " job")
        found: dict[str, ArtifactFile] = {}
        for pattern in patterns:
            files = arts.from_dir(project, [pattern])
            if not files:
                log.warn(
                    f"WARNING: {pattern}: no matching files. Ensure that the artifact path is relative "
                    "to the working directory"
                )
            else:
                log.sys(f"{pattern}: found {len(files)} matching artifact files and directories")
            for f in files:
                found.setdefault(f.path, f)
        return tuple(found.values())

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
