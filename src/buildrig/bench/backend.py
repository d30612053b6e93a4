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
from buildrig.bench.buildlog import cached_steps, docker_builder
from buildrig.bench.machine import machine_facts
from buildrig.bench.model import CacheMode, Machine, Skipped
from buildrig.bench.orchestrate import JobRun
from buildrig.bench.phases import LogLine, ServiceSpan, strip_ansi
from buildrig.errors import BuildrigError
from buildrig.fsutil import atomic_write
from buildrig.trial import scratch_git

#: Namespace of every repository the benchmark pushes; also how its images are recognised.
NAMESPACE_PREFIX = "buildrig-bench"
#: Ways whose builds land in a daemon that outlives the job (the host's, or docker_host's).
HOST_DAEMON_WAYS = ("shell", "docker_sock")
#: Ways whose job builds with ``docker build``: the builder is the docker CLI's choice.
DOCKER_CLI_WAYS = ("shell", "docker_sock", "docker_host", "dind")

_SERVICE_START = re.compile(r"^Starting service ")
_STEP_SCRIPT = re.compile(r'^Executing "step_script"')
#: A file of the scratch copy whose content is unique to one workspace; the Dockerfile copies it
#: first thing after every ``FROM`` (see :func:`isolate_build_cache`).
NONCE_FILE = ".buildrig-bench-nonce"
_FROM = re.compile(r"^\s*FROM\s", re.IGNORECASE)


def chain_after_from(dockerfile_text: str) -> tuple[str, int]:
    """``dockerfile_text`` with ``COPY NONCE_FILE /NONCE_FILE`` after every ``FROM`` instruction
    (backslash continuations kept whole), and how many stages now start with it."""
    out: list[str] = []
    stages = 0
    in_from = False
    for line in dockerfile_text.splitlines(keepends=True):
        out.append(line)
        if not in_from and _FROM.match(line):
            in_from = True
        if in_from and not line.rstrip("\r\n").endswith("\\"):
            in_from = False
            stages += 1
            if not out[-1].endswith("\n"):
                out[-1] += "\n"
            out.append(f"COPY {NONCE_FILE} /{NONCE_FILE}\n")
    return "".join(out), stages


def isolate_build_cache(scratch: Path, nonce: str, dockerfile: str = "Dockerfile") -> int:
    """Make every build step of the scratch project's image unique to this workspace: each stage
    first copies a file holding ``nonce``, so no step of its first (cold) build can come from a
    cache filled by anything else, and its warm and change builds reuse only what that cold build
    left. This is how the ways that build on the host's daemon (shell, docker_sock) get a cold run:
    that daemon's build cache belongs to the user, the benchmark must neither use nor prune it, and
    ``--no-cache`` is not enough (BuildKit in Docker 20.10 still reports ``WORKDIR`` as CACHED).
    Returns the number of stages chained; the files are the scratch copy's, never the user's."""
    path = scratch / dockerfile
    text, stages = chain_after_from(path.read_text(encoding="utf-8"))
    atomic_write(scratch / NONCE_FILE, nonce + "\n")
    atomic_write(path, text)
    ignore = scratch / ".dockerignore"
    if ignore.is_file():
        # The last matching pattern wins: an exclusion such as ``*`` must not drop the file.
        body = ignore.read_text(encoding="utf-8")
        sep = "" if not body or body.endswith("\n") else "\n"
        atomic_write(ignore, f"{body}{sep}!{NONCE_FILE}\n")
    return stages


def services_from_log(lines: Sequence[Any]) -> tuple[ServiceSpan, ...]:
    """The services' start → ready span from ``run``'s own log lines: the first "Starting service"
    to the start of the script (which the runner only reaches once its service wait is over)."""
    start = next((ln.t for ln in lines if _SERVICE_START.match(strip_ansi(ln.text))), None)
    if start is None:
        return ()
    ready = next((ln.t for ln in lines if ln.t >= start and _STEP_SCRIPT.match(strip_ansi(ln.text))), None)
    return (ServiceSpan("services", start, ready if ready is not None else start),)


def builders_note(builders: dict[str, str]) -> str:
    """The ways whose `docker build` used different builders, named (only said when they did)."""
    by: dict[str, list[str]] = {}
    for way, used in builders.items():
        by.setdefault(used, []).append(way)
    parts = []
    if "legacy" in by:
        parts.append(
            f"the legacy builder in {', '.join(by['legacy'])} (typically a docker CLI older than 23.0 "
            "or without the buildx plugin, or DOCKER_BUILDKIT=0)"
        )
    if "BuildKit" in by:
        parts.append(f"BuildKit in {', '.join(by['BuildKit'])}")
    return (
        "builders: `docker build` used " + " and ".join(parts) + ". The Dockerfile is the same, "
        "the builder is not: a ratio between these ways includes the difference between the two "
        "builders (see the build steps column), not only between the ways."
    )


@dataclass
class RealWorkspace:
    backend: RealBackend
    way: str
    cache: CacheMode
    scratch: Path
    project_name: str
    file_variables: dict[str, Path] = field(default_factory=dict)
    runs: int = 0
    # The runner's cache volumes (a builder's store) last as long as the workspace: its cold run
    # starts with none, its warm and change runs find what the previous run left, as jobs on one
    # runner's concurrent slot do.
    cache_scope: str = ""

    @property
    def project_dir(self) -> Path:
        return self.scratch

    @property
    def expects_cache(self) -> bool:
        """A rebuild should find a layer cache: the daemon's, or the registry's when enabled."""
        return self.way in (*HOST_DAEMON_WAYS, "docker_host") or self.cache == "registry"

    def run_job(self, scenario: str) -> JobRun:
        """One run of the job (``scenario`` only names it: what makes the first run of a workspace
        cold is set up with the workspace, see :meth:`RealBackend.workspace`)."""
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
                cache_scope=self.cache_scope or None,
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
        used = docker_builder(lines) if self.way in DOCKER_CLI_WAYS else None
        if used is not None:
            b.builders.setdefault(self.way, used)
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
        self.rebuild_misses: list[str] = []
        self.cache_leftovers: list[str] = []
        self.dind_keygen: tuple[float, ...] = ()
        self.bare_container_s: tuple[float, ...] = ()
        self.bare_container_error: str | None = None
        self._probed = False
        #: way → the builder its `docker build` used ("legacy" or "BuildKit")
        self.builders: dict[str, str] = {}

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
            "daemon, BuildKit/buildah/kaniko a fresh job container; for shell and docker_sock, which "
            "build on the host's daemon (whose build cache the benchmark does not own and never "
            f"prunes), every stage of the scratch Dockerfile first copies {NONCE_FILE}, unique to "
            "the repeat, so none of its steps can match that cache (one more step per stage).",
            "registry: the test bed's, on this machine, so a push or cache look-up pays no network "
            "round trip, and its basic auth costs ~1 ms a request (bcrypt cost 4; a GitLab registry "
            "checks a token's signature instead). Against a remote registry every push, cache "
            "manifest and kaniko cache look-up adds round trips that these figures do not show.",
        )
        out = list(how)
        if self.bare_container_s or self.bare_container_error:
            from buildrig.bench.machine import bare_container_note

            out.append(bare_container_note(self.bare_container_s, self.bare_container_error))
        if self.dind_keygen:
            from buildrig.bench.machine import dind_keygen_note

            out.append(dind_keygen_note(self.dind_keygen))
        if len(set(self.builders.values())) > 1:
            out.append(builders_note(self.builders))
        if self.cache_leftovers:
            out.append(
                "cache volumes the benchmark could not remove (`buildrig gc` removes them once this "
                "process has ended): " + "; ".join(self.cache_leftovers)
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
        from buildrig.trial import get_way, prepare_way, scratch_copy

        spec = get_way(way)
        if way == "dind" and not self.dind_keygen:
            from buildrig.bench.machine import rsa4096_seconds

            self.dind_keygen = rsa4096_seconds()  # once, before any of its runs: not timed
        if spec.strategy != "shell" and not self._probed:
            self._probed = True  # once: a probe the engine refused is not retried per workspace
            self.bare_container_s, self.bare_container_error = self._probe_container(spec.strategy)
        scratch = scratch_copy(self.project, self.root(), f"{way}-{cache}")
        scope = re.sub(r"[^a-z0-9-]", "-", f"bench-{self.run_id}-{way}-{cache}-{tag}".lower())
        # Every step runs even when one before it raises (last registered, first run).
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(shutil.rmtree, scratch, ignore_errors=True)
            cleanup.callback(self._remove_cache, scope)
            if spec.strategy == "docker_host":
                cleanup.callback(self._stop_docker_host)
            if way in HOST_DAEMON_WAYS:
                # Before init commits the copy: the change is part of the project as pushed.
                isolate_build_cache(scratch, f"{self.run_id}-{tag}-{uuid.uuid4().hex}")
            file_vars = prepare_way(spec, scratch, cache)
            name = re.sub(r"[^a-z0-9-]", "-", f"{self.project.resolve().name}-{tag}".lower()).strip("-")
            yield RealWorkspace(self, way, cache, scratch, name, file_vars, cache_scope=scope)

    def bare_container(self) -> tuple[float, ...]:
        return self.bare_container_s

    def _probe_container(self, strategy: str) -> tuple[tuple[float, ...], str | None]:
        """The engine's floor for a job in a container, in the way's job image (not timed as any
        run's), or why it could not be timed."""
        from buildrig import strategies
        from buildrig.bench.machine import bare_container_seconds
        from buildrig.testbed import images

        wanted = strategies.get(strategy).images
        if not wanted:
            return (), f"the {strategy} way names no job image"
        return bare_container_seconds(self.cli.api, images.overrides().get(wanted[0], wanted[0]), self.run_id)

    def _stop_docker_host(self) -> None:
        from buildrig.testbed import dockerhost

        with contextlib.suppress(BuildrigError):
            dockerhost.stop(docker_host=self.docker_host)

    def _remove_cache(self, scope: str) -> None:
        from buildrig.run.cleanup import remove_cache

        # what stays (in use, the engine gone) carries this process's label: `buildrig gc`
        # removes it once the process has ended
        with contextlib.suppress(*engine.sdk_errors()):
            self.cache_leftovers += remove_cache(self.cli.api, scope)

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
        """Remove, from the engine, the images this benchmark run pushed to the test registry (its
        own namespace), with the untagged layers only they used. Nothing else is touched: not the
        base image, the user's images, images in use by a container, other registries' images —
        and not other runs' bench images either: another benchmark on this engine may be using
        them as its warm cache right now (cold runs do not depend on their absence: see
        :func:`isolate_build_cache`)."""
        from buildrig.testbed.registry import remove_local_images

        return remove_local_images(self.cli, (f"{self.registry.host}/{self.namespace}/",))

    def close(self) -> None:
        """End of the benchmark: the engine keeps none of its images; scratch space is removed."""
        with contextlib.suppress(BuildrigError, OSError):
            if self.engine_alive() is None:
                self.remove_bench_images()
        if self._own_root is not None:
            shutil.rmtree(self._own_root, ignore_errors=True)
