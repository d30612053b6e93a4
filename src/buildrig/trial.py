"""Try a project through each way: copy it, ``init`` it for the way, ``run`` the job against the
local registry, and check what landed there.

This is the README's main job (``buildrig try examples/hello``) and the building block of
``bench``: :func:`trial_way` returns a typed :class:`TrialResult` holding the run's timestamped
log lines, so a benchmark can time phases from the same execution users get.

A way is *skipped* (never faked) when an image it needs is neither in the engine nor in the test
bed's stand-in map — kaniko and BuildKit on a machine without a registry and without Go.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from buildrig.errors import BuildrigError, InputError
from buildrig.registryinfo import RegistryInfo
from buildrig.run.model import LogLine, LogSink, RunInterrupted, RunResult, strip_ansi

if TYPE_CHECKING:
    from docker import DockerClient

#: ``buildrig try``'s registry namespace (bench recognises its images as buildrig's build outputs).
TRY_NAMESPACE = "buildrig-try"
DIGEST_RE = re.compile(r"BUILDRIG_DIGEST=(sha256:[0-9a-f]{64})")


@dataclass(frozen=True)
class Way:
    """One row of ``try``: a strategy plus the ``init`` options that distinguish the variant."""

    name: str
    strategy: str
    tls: bool = True
    executor: str | None = None


WAYS: tuple[Way, ...] = (
    Way("shell", "shell"),
    Way("docker_sock", "docker_sock"),
    Way("docker_host", "docker_host"),
    Way("dind", "dind"),
    Way("dind-plain", "dind", tls=False),
    Way("kaniko", "kaniko"),
    Way("buildah", "buildah"),
    Way("buildkit", "buildkit"),
)


def get_way(name: str) -> Way:
    key = name.strip().lower().replace("-", "_")
    for w in WAYS:
        if w.name.replace("-", "_") == key:
            return w
    raise InputError(f"unknown way {name!r}; valid: {', '.join(w.name for w in WAYS)}")


@dataclass(frozen=True)
class TrialOptions:
    project: Path
    ways: tuple[str, ...] = ()  # empty: every way
    namespace: str = TRY_NAMESPACE
    keep_scratch: bool = False
    scratch_root: Path | None = None
    #: leave the docker_host test daemon running afterwards (bench reuses its layer cache)
    keep_daemon: bool = False
    sink: LogSink | None = None
    docker_host: str | None = None
    cache: str = "registry"


@dataclass(frozen=True)
class TrialResult:
    way: str
    status: str  # "ok" | "failed" | "skipped"
    reason: str | None = None
    seconds: float = 0.0
    digest: str | None = None  # what the job printed (BUILDRIG_DIGEST=...)
    registry_digest: str | None = None  # what the registry serves for the commit tag
    repository: str | None = None  # <registry>/<namespace>/<project>
    tags: tuple[str, ...] = ()  # tags the job was expected to push
    lines: tuple[LogLine, ...] = field(default=(), repr=False)
    run: RunResult | None = field(default=None, repr=False)
    scratch: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> str:
        if self.status == "ok":
            return f"{self.way:12} ok      {self.seconds:6.1f} s  {self.repository}@{self.digest}"
        if self.status == "skipped":
            return f"{self.way:12} skipped {self.reason}"
        return f"{self.way:12} failed  {self.seconds:6.1f} s  {self.reason}"


def scratch_git(cwd: Path, *args: str) -> str:
    """Run git in a scratch copy with a fixed identity (never the user's config); stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "buildrig",
        "GIT_AUTHOR_EMAIL": "buildrig@localhost",
        "GIT_COMMITTER_NAME": "buildrig",
        "GIT_COMMITTER_EMAIL": "buildrig@localhost",
    }
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise BuildrigError(f"git {' '.join(args)} in {cwd} failed: {proc.stderr.strip()[:200]}")
    return proc.stdout.strip()


def scratch_copy(project: Path, dest_root: Path, way: str) -> Path:
    """Copy the project (without .git and generated runner files) into a fresh git repository."""
    if not (project / "Dockerfile").is_file():
        raise InputError(f"{project}: no Dockerfile here; give the directory of the project to build")
    dest = Path(tempfile.mkdtemp(prefix=f"{way}-", dir=dest_root))
    shutil.copytree(
        project,
        dest,
        dirs_exist_ok=True,
        symlinks=True,
        ignore=shutil.ignore_patterns(".git", "runner", "__pycache__"),
    )
    with contextlib.suppress(FileNotFoundError):
        (dest / ".gitlab-ci.yml").unlink()
    scratch_git(dest, "init", "-q", "-b", "main")
    scratch_git(dest, "add", "-A")
    scratch_git(dest, "commit", "-q", "-m", f"buildrig try: {way}")
    return dest


def prepare_way(way: Way, scratch: Path, cache: str) -> dict[str, Path]:
    """Make a scratch copy (:func:`scratch_copy`) ready for ``way`` as a user would have it after
    ``buildrig init`` and a push: init for the way, what it wrote committed. Returns, for
    docker_host, the client certificates init wrote as the File variables jobs get them (else
    empty). The copy is the caller's to make and remove: ``try`` reports a failed init with the
    copy's path, ``bench`` removes it when the workspace ends."""
    from buildrig.init import InitOptions, init_project
    from buildrig.strategies.docker_host import CERT_VARIABLES
    from buildrig.testbed import dockerhost

    init_project(
        InitOptions(
            strategy=way.strategy,
            executor=way.executor,
            out=scratch,
            tls=way.tls,
            cache=cache,
            docker_host=dockerhost.address() if way.strategy == "docker_host" else None,
        )
    )
    scratch_git(scratch, "add", "-A")
    scratch_git(scratch, "commit", "-q", "-m", f"buildrig init --strategy {way.strategy} --cache {cache}")
    if way.strategy != "docker_host":
        return {}
    certs = scratch / "runner" / "host" / "certs"
    return {var: certs / src.rsplit("/", 1)[-1] for var, _, src in CERT_VARIABLES}


def missing_image(images: Sequence[str], overrides: dict[str, str], cli: DockerClient) -> str | None:
    from docker.errors import ImageNotFound

    from buildrig.testbed.images import skipped

    why = skipped()
    for name in images:
        if name in overrides:
            continue
        try:
            cli.images.get(name)
        except ImageNotFound:
            return why.get(name) or (
                f"image {name} is not in the engine and no stand-in exists "
                "(run `buildrig images prepare --offline`)"
            )
    return None


@contextlib.contextmanager
def _scratch_root(opts: TrialOptions) -> Iterator[Path]:
    if opts.scratch_root is not None:
        opts.scratch_root.mkdir(parents=True, exist_ok=True)
        yield opts.scratch_root
        return
    root = Path(tempfile.mkdtemp(prefix="buildrig-try-"))
    try:
        yield root
    finally:
        if not opts.keep_scratch:
            shutil.rmtree(root, ignore_errors=True)


def trial_way(way: Way, opts: TrialOptions, registry: RegistryInfo, scratch_root: Path) -> TrialResult:
    """Init a scratch copy for ``way``, run its job, check the registry. Never raises for a failed
    job: the failure is the result."""
    from buildrig import engine, strategies
    from buildrig.run.api import run_jobs
    from buildrig.run.model import RunOptions
    from buildrig.run.variables import git_info, slug
    from buildrig.testbed import dockerhost, images
    from buildrig.testbed import registry as reg

    strategy = strategies.get(way.strategy)
    cli = engine.client(opts.docker_host)
    stand_ins = images.overrides()
    missing = missing_image(strategy.images, stand_ins, cli)
    if missing:
        return TrialResult(way.name, "skipped", missing)
    start = time.monotonic()
    project_name = f"{opts.project.resolve().name}-{way.name}".lower()
    scratch = scratch_copy(opts.project, scratch_root, way.name)
    try:
        # The docker_host certificates reach the job through runner/variables.toml (read below).
        prepare_way(way, scratch, opts.cache)
        if way.strategy == "docker_host":
            dockerhost.start(scratch / "runner" / "host" / "certs", docker_host=opts.docker_host)
        git = git_info(scratch)
        tags = (git.sha[:8], slug(git.ref_name))
        # As a user would after init: run takes runner/config.toml and runner/variables.toml (the
        # docker_host certificates as File variables) from the project itself.
        result = run_jobs(
            RunOptions(
                project_dir=scratch,
                project_defaults=True,
                registry=registry,
                image_overrides=stand_ins,
                namespace=opts.namespace,
                project_name=project_name,
                sink=opts.sink,
                docker_host=opts.docker_host,
            )
        )
    except RunInterrupted:
        raise  # Ctrl-C / SIGTERM ends the whole trial, not just this way
    except BuildrigError as exc:
        return TrialResult(
            way.name,
            "failed",
            str(exc),
            time.monotonic() - start,
            scratch=scratch if opts.keep_scratch else None,
        )
    finally:
        if way.strategy == "docker_host" and not opts.keep_daemon:
            with contextlib.suppress(BuildrigError):
                dockerhost.stop(docker_host=opts.docker_host)
    seconds = time.monotonic() - start
    lines = tuple(line for job in result.jobs for line in job.lines)
    repo_path = f"{opts.namespace}/{project_name}"
    repository = f"{registry.host}/{repo_path}"
    digest = next(
        (m.group(1) for line in reversed(lines) if (m := DIGEST_RE.search(strip_ansi(line.text)))), None
    )

    def res(status: str, reason: str | None, registry_digest: str | None = None) -> TrialResult:
        return TrialResult(
            way.name,
            status,
            reason,
            seconds,
            digest,
            registry_digest,
            repository,
            tags,
            lines,
            result,
            scratch,
        )

    if not result.ok:
        failed = next((j for j in result.jobs if j.status != "success"), None)
        return res(
            "failed",
            (failed.reason if failed and failed.reason else None) or f"job exited {result.exit_code}",
        )
    try:
        served = {t: reg.manifest_digest(registry, repo_path, t) for t in tags}
    except BuildrigError as exc:
        return res("failed", f"registry check: {exc}")
    absent = [t for t, d in served.items() if d is None]
    if absent:
        return res("failed", f"job green but {repository} has no tag {', '.join(absent)}")
    reg_digest = served[tags[0]]
    if digest is None:
        return res("failed", "job green but printed no BUILDRIG_DIGEST line", reg_digest)
    if digest != reg_digest:
        return res(
            "failed", f"job reported {digest} but the registry serves {reg_digest} for :{tags[0]}", reg_digest
        )
    return res("ok", None, reg_digest)


def run_trials(
    opts: TrialOptions, on_result: Callable[[TrialResult], None] | None = None
) -> tuple[TrialResult, ...]:
    """Every requested way in order; ``on_result`` sees each result as soon as it is known."""
    from buildrig.testbed import registry as reg

    ways = [get_way(w) for w in opts.ways] if opts.ways else list(WAYS)
    if not (opts.project / "Dockerfile").is_file():
        raise InputError(f"{opts.project}: no Dockerfile here; give the directory of the project to build")
    info = reg.current(opts.docker_host) or reg.ensure_started(docker_host=opts.docker_host)
    results: list[TrialResult] = []
    with _scratch_root(opts) as root:
        for way in ways:
            res = trial_way(way, opts, info, root)
            if not opts.keep_scratch and res.scratch is not None:
                shutil.rmtree(res.scratch, ignore_errors=True)
            results.append(res)
            if on_result is not None:
                on_result(res)
    return tuple(results)
