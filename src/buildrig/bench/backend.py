"""The real benchmark backend: a scratch copy of the project, ``buildrig init`` for the way, and
``buildrig run`` for every execution — the code path users get — against the local registry.

One workspace serves a way's cold → warm → change sequence: ``init`` runs once, the change is a
new commit in the scratch repository (so the job sees a new ``CI_COMMIT_SHA`` as after a push).
Each workspace pushes to a repository of its own, so its registry cache starts empty.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildrig import engine
from buildrig.bench.buildlog import cached_steps
from buildrig.bench.machine import machine_facts
from buildrig.bench.model import CacheMode, Machine, Skipped
from buildrig.bench.orchestrate import JobRun
from buildrig.bench.phases import LogLine, ServiceSpan, strip_ansi
from buildrig.errors import BuildrigError
from buildrig.fsutil import atomic_write
from buildrig.trial import TRY_NAMESPACE, scratch_git

#: Namespace of every repository the benchmark pushes; also how its images are recognised.
NAMESPACE_PREFIX = "buildrig-bench"
#: Ways whose builds land in a daemon that outlives the job (the host's, or docker_host's).
HOST_DAEMON_WAYS = ("shell", "docker_sock")

_SERVICE_START = re.compile(r"^Starting service ")
_STEP_SCRIPT = re.compile(r'^Executing "step_script"')
#: ``docker build``/``docker buildx build``/``docker image build``, global options allowed
#: between the client and its subcommand (``docker -H tcp://x:2376 build``).
_DOCKER_BUILD = re.compile(
    r"(?<![\w.-])docker(?:\s+-{1,2}[\w.-]+(?:[= ](?!-)\S+)?)*\s+(?:buildx\s+|image\s+)?build(?=\s)"
)
NO_CACHE = "--no-cache"


def force_no_cache(ci_text: str) -> tuple[str, int]:
    """``ci_text`` with ``--no-cache`` added to every ``docker build`` command that lacks it, and
    how many commands now carry it. A cold run on a daemon that outlives the job cannot otherwise
    be cold without pruning the user's build cache, which the benchmark must never do."""
    out: list[str] = []
    count = 0
    for line in ci_text.splitlines(keepends=True):
        if _DOCKER_BUILD.search(line):
            count += 1
            if NO_CACHE not in line:
                line = _DOCKER_BUILD.sub(lambda m: f"{m.group(0)} {NO_CACHE}", line)
        out.append(line)
    return "".join(out), count


@contextlib.contextmanager
def cold_pipeline(ci_file: Path) -> Iterator[int]:
    """The scratch pipeline with every ``docker build`` forced to ``--no-cache`` while the block
    runs; the file as it was afterwards (warm and change runs build with the cache). Yields the
    number of build commands that carry the flag."""
    original = ci_file.read_bytes()
    text, count = force_no_cache(original.decode("utf-8"))
    atomic_write(ci_file, text)
    try:
        yield count
    finally:
        atomic_write(ci_file, original)


def services_from_log(lines: Sequence[Any]) -> tuple[ServiceSpan, ...]:
    """The services' start → ready span from ``run``'s own log lines: the first "Starting service"
    to the start of the script (which the runner only reaches once its service wait is over)."""
    start = next((ln.t for ln in lines if _SERVICE_START.match(strip_ansi(ln.text))), None)
    if start is None:
        return ()
    ready = next((ln.t for ln in lines if ln.t >= start and _STEP_SCRIPT.match(strip_ansi(ln.text))), None)
    return (ServiceSpan("services", start, ready if ready is not None else start),)


@dataclass
class RealWorkspace:
    backend: RealBackend
    way: str
    cache: CacheMode
    scratch: Path
    project_name: str
    file_variables: dict[str, Path] = field(default_factory=dict)
    runs: int = 0

    @property
    def project_dir(self) -> Path:
        return self.scratch

    @property
    def expects_cache(self) -> bool:
        """A rebuild should find a layer cache: the daemon's, or the registry's when enabled."""
        return self.way in (*HOST_DAEMON_WAYS, "docker_host") or self.cache == "registry"

    def run_job(self, scenario: str) -> JobRun:
        """One run of the job. A cold run on a host daemon (shell, docker_sock) builds with
        ``--no-cache``: that daemon keeps a build cache the benchmark does not own (other builds
        of this Dockerfile on this machine), which must neither serve the cold build nor be
        pruned. The other ways are cold by construction: a fresh daemon (dind, docker_host), a
        fresh job container (BuildKit, buildah, kaniko) and an empty registry cache repository."""
        ci_file = self.scratch / ".gitlab-ci.yml"
        if scenario != "cold" or self.way not in HOST_DAEMON_WAYS or not ci_file.is_file():
            return self._run_once()
        with cold_pipeline(ci_file) as forced:
            if not forced:
                self.backend.unforced.append(f"{self.way} ({self.project_name})")
            return self._run_once()

    def _run_once(self) -> JobRun:
        from buildrig.run.api import run_jobs
        from buildrig.run.model import RunOptions
        from buildrig.run.variables import git_info
        from buildrig.testbed import images

        b = self.backend
        if self.runs and scratch_git(self.scratch, "status", "--porcelain"):
            # A change becomes a commit, as a push would; warm runs the same commit again.
            scratch_git(self.scratch, "add", "-A")
            message = f"buildrig bench change before run {self.runs + 1}"
            scratch_git(self.scratch, "commit", "-q", "-m", message)
        self.runs += 1
        if self.way == "docker_host":
            from buildrig.testbed import dockerhost

            # Same certificates as the previous run of this workspace: the daemon (and its
            # layer cache) is reused; a new workspace has new certificates, hence a fresh daemon.
            dockerhost.start(self.scratch / "runner" / "host" / "certs", docker_host=b.docker_host)
        runner_cfg = self.scratch / "runner" / "config.toml"
        wall = time.time()
        t0 = time.monotonic()
        result = run_jobs(
            RunOptions(
                project_dir=self.scratch,
                runner_config=runner_cfg if runner_cfg.exists() else None,
                registry=b.registry,
                image_overrides=images.overrides(),
                namespace=b.namespace,
                project_name=self.project_name,
                file_variables=self.file_variables,
                sink=b.sink,
                docker_host=b.docker_host,
                install_signal_handlers=b.install_signal_handlers,
            )
        )
        if not result.jobs:
            return JobRun(
                False, t0, time.monotonic(), wall, (), (), "no job ran (the generated pipeline is empty)"
            )
        job = result.jobs[0]
        lines = tuple(LogLine(ln.t, ln.text) for ln in job.lines)
        ok = job.status == "success"
        error = None if ok else (job.reason or f"job {job.name} {job.status} (exit code {job.exit_code})")
        if self.runs > 1 and job.status == "success" and self.expects_cache and not cached_steps(lines):
            b.rebuild_misses.append(f"{self.way} (cache {self.cache}, {self.project_name}) run {self.runs}")
        if ok:
            git = git_info(self.scratch)
            repo = f"{b.namespace}/{self.project_name}"
            error = b.check_pushed(repo, git.sha[:8])
            ok = error is None
        return JobRun(
            ok, job.started, job.finished, job.started_wall, lines, services_from_log(job.lines), error
        )


class RealBackend:
    """Runs ways through ``init`` + ``run`` on the engine at ``docker_host`` (default: DOCKER_HOST
    or the local socket) against the test bed's registry (started when needed)."""

    def __init__(
        self,
        project: Path,
        *,
        docker_host: str | None = None,
        sink: Any = None,
        scratch_root: Path | None = None,
        install_signal_handlers: bool = True,
    ) -> None:
        self.project = Path(project)
        self.docker_host = docker_host
        self.sink = sink
        self.install_signal_handlers = install_signal_handlers
        self.run_id = uuid.uuid4().hex[:8]
        self.namespace = f"{NAMESPACE_PREFIX}-{self.run_id}"
        self.cli = engine.client(docker_host)
        self._scratch_root = scratch_root
        self._own_root: Path | None = None
        self._registry: Any = None
        #: Host-daemon workspaces whose pipeline had no ``docker build`` to force ``--no-cache`` on.
        self.unforced: list[str] = []
        self.rebuild_misses: list[str] = []

    # -- Backend protocol ---------------------------------------------------------------------------

    def availability(self, ways: Sequence[str]) -> tuple[tuple[str, ...], tuple[Skipped, ...]]:
        from buildrig import strategies
        from buildrig.testbed import images
        from buildrig.trial import missing_image

        overrides = images.overrides()
        runnable: list[str] = []
        skipped: list[Skipped] = []
        for way in ways:
            try:
                strategy = strategies.get(way)
            except BuildrigError as exc:
                skipped.append(Skipped(way, str(exc)))
                continue
            missing = missing_image(strategy.images, overrides, self.cli)
            if missing:
                skipped.append(Skipped(way, missing))
            elif way == "shell" and shutil.which("docker") is None:
                skipped.append(Skipped(way, "the shell executor needs a docker CLI on this host's PATH"))
            else:
                runnable.append(way)
        return tuple(runnable), tuple(skipped)

    def machine(self) -> Machine:
        return machine_facts(self.cli)

    def engine_alive(self) -> str | None:
        try:
            self.cli.ping()
        except engine.sdk_errors() as exc:
            text = str(exc).strip().splitlines()
            return text[0][:200] if text else type(exc).__name__
        return None

    def notes(self) -> tuple[str, ...]:
        how = (
            "cold: every cold run is checked to take no build step from any cache (steps the build "
            "output reports as cached are counted; a cold run with any fails). Each repeat pushes to "
            "a new repository of its own (empty registry cache), dind and docker_host start a fresh "
            "daemon, BuildKit/buildah/kaniko a fresh job container, and the cold build of shell and "
            "docker_sock (the host daemon, whose build cache the benchmark does not own and never "
            "prunes) runs with --no-cache.",
        )
        out = list(how)
        if self.unforced:
            out.append(
                "cold: no `docker build` found to add --no-cache to in the pipeline of "
                + ", ".join(self.unforced)
                + "; only the cached-step count vouches for those cold runs"
            )
        if self.rebuild_misses:
            out.append(
                "rebuilds that took no step from a layer cache (whatever cache the way relies on was "
                "gone: a daemon restarted by something else, an unreachable cache repository; their "
                "figures are cold ones): " + ", ".join(self.rebuild_misses)
            )
        return tuple(out)

    @contextlib.contextmanager
    def workspace(self, way: str, cache: CacheMode, tag: str) -> Iterator[RealWorkspace]:
        from buildrig.testbed import dockerhost
        from buildrig.trial import get_way, prepare_way, scratch_copy

        spec = get_way(way)
        scratch = scratch_copy(self.project, self.root(), f"{way}-{cache}")
        try:
            file_vars = prepare_way(spec, scratch, cache)
            if way in HOST_DAEMON_WAYS:
                self.remove_bench_images()
            name = re.sub(r"[^a-z0-9-]", "-", f"{self.project.resolve().name}-{tag}".lower()).strip("-")
            yield RealWorkspace(self, way, cache, scratch, name, file_vars)
        finally:
            if spec.strategy == "docker_host":
                with contextlib.suppress(BuildrigError):
                    dockerhost.stop(docker_host=self.docker_host)
            shutil.rmtree(scratch, ignore_errors=True)

    # -- helpers ------------------------------------------------------------------------------------

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from buildrig.testbed import registry as reg

            self._registry = reg.current(self.docker_host) or reg.ensure_started(docker_host=self.docker_host)
        return self._registry

    def root(self) -> Path:
        if self._scratch_root is not None:
            self._scratch_root.mkdir(parents=True, exist_ok=True)
            return self._scratch_root
        if self._own_root is None:
            self._own_root = Path(tempfile.mkdtemp(prefix="buildrig-bench-"))
        return self._own_root

    def check_pushed(self, repo: str, tag: str) -> str | None:
        """``None`` when the registry serves ``repo:tag``; else why the run is not a success."""
        from buildrig.testbed import registry as reg

        try:
            digest = reg.manifest_digest(self.registry, repo, tag)
        except BuildrigError as exc:
            return f"registry check: {exc}"
        return None if digest else f"job green but {self.registry.host}/{repo} has no tag {tag}"

    def remove_bench_images(self) -> int:
        """Remove, from the engine, the build outputs buildrig itself pushed to its test registry —
        every ``bench`` repository (this run's and earlier runs') and ``buildrig try``'s — with the
        untagged layers only they used. They hold this Dockerfile's layers, so leaving them would
        make a "cold" build on a host daemon a cached one. Nothing else is touched: the base
        image, the user's images, images in use by a container and other registries' images stay."""
        from buildrig.testbed.registry import remove_local_images

        host = str(self.registry.host)
        return remove_local_images(self.cli, (f"{host}/{NAMESPACE_PREFIX}-", f"{host}/{TRY_NAMESPACE}/"))

    def close(self) -> None:
        """End of the benchmark: the engine keeps none of its images; scratch space is removed."""
        with contextlib.suppress(BuildrigError, OSError):
            if self.engine_alive() is None:
                self.remove_bench_images()
        if self._own_root is not None:
            shutil.rmtree(self._own_root, ignore_errors=True)
