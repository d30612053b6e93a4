"""CI/CD variables for a local run: predefined ones, precedence, ``$VAR`` expansion, masking.

Precedence (lowest first) follows GitLab's "CI/CD variable precedence": predefined variables, then
``variables:`` at the top of ``.gitlab-ci.yml`` (and ``default:``), then the job's ``variables:``,
then pipeline variables (``--var`` / ``--file-var``, like variables given when running a pipeline
manually). The runner's ``environment`` from config.toml sits below all of them: GitLab Runner
puts it before the job's variables and the last definition of a name wins (common/build.go:1345-1350,
common/variables.go:86-91 at v17.9.3), so it fills in what the job does not set.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from buildrig import __version__
from buildrig.gitlab.expand import resolve as expand_variable
from buildrig.gitlab.model import Job, Variable
from buildrig.registryinfo import RegistryInfo

ZERO_SHA = "0" * 40
MASK = "[MASKED]"


@dataclass(frozen=True)
class GitInfo:
    sha: str
    ref_name: str
    branch: str | None
    tag: str | None
    message: str
    author: str
    timestamp: str
    remote_url: str | None


def git_info(project_dir: Path) -> GitInfo:
    """Commit facts from the local repository; stable placeholders outside git."""
    # The two git questions run side by side: each is a process start, on every run.
    remote = _git_remote_start(project_dir)
    try:
        proc = subprocess.run(
            ["git", "-C", str(project_dir), "log", "-1", "--format=%H%x00%D%x00%an <%ae>%x00%cI%x00%B"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        proc = None
    if proc is None or proc.returncode != 0 or "\x00" not in proc.stdout:
        _git_remote(remote)  # reaped; outside git there is no remote
        return GitInfo(
            ZERO_SHA,
            "main",
            "main",
            None,
            "local run outside git",
            "buildrig <buildrig@localhost>",
            _now_iso(),
            None,
        )
    sha, decor, author, stamp, message = (proc.stdout.split("\x00") + [""] * 5)[:5]
    branch: str | None = None
    tag: str | None = None
    for part in (p.strip() for p in decor.split(",")):
        if part.startswith("HEAD -> "):
            branch = part[len("HEAD -> ") :]
        elif part.startswith("tag: ") and tag is None:
            tag = part[len("tag: ") :]
    remote_url = _git_remote(remote)
    # A tag pipeline only happens for a pushed tag; on a branch checkout, the branch wins.
    ref = branch or tag or sha[:8]
    return GitInfo(
        sha.strip(),
        ref,
        branch if branch else (None if tag else ref),
        None if branch else tag,
        message.strip("\n"),
        author,
        stamp,
        remote_url,
    )


def _git_remote_start(project_dir: Path) -> subprocess.Popen[str] | None:
    try:
        return subprocess.Popen(
            ["git", "-C", str(project_dir), "config", "--get", "remote.origin.url"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    except OSError:
        return None


def _git_remote(proc: subprocess.Popen[str] | None) -> str | None:
    """The origin URL ``proc`` (from :func:`_git_remote_start`) prints, once it has exited."""
    if proc is None:
        return None
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    return out.strip() or None


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def slug(text: str) -> str:
    """GitLab's ``*_SLUG``: lowercased, anything but a-z0-9 → ``-``, at most 63 chars, no edge ``-``."""
    out = re.sub(r"[^a-z0-9]", "-", text.lower())[:63]
    return out.strip("-")


@dataclass(frozen=True)
class Project:
    dir: Path
    namespace: str
    name: str
    server_url: str

    @property
    def path(self) -> str:
        return f"{self.namespace}/{self.name}"


def project_identity(project_dir: Path, git: GitInfo, namespace: str | None, name: str | None) -> Project:
    """Namespace and name from the git remote (``…[:/]group/sub/project(.git)``), else defaults."""
    server = "https://gitlab.example.com"
    rns, rname = None, None
    url = git.remote_url
    if url:
        m = re.match(r"^(?:[a-z+]+://)?(?:[^@/]+@)?([^/:]+)(?::\d+)?[:/](.+?)(?:\.git)?/?$", url)
        if m:
            server = f"https://{m.group(1)}"
            parts = m.group(2).strip("/").split("/")
            if len(parts) >= 2:
                rns, rname = "/".join(parts[:-1]), parts[-1]
    dname = slug(project_dir.resolve().name) or "project"
    return Project(project_dir, namespace or rns or "local", name or rname or dname, server)


@dataclass(frozen=True)
class PipelineContext:
    """What every job of one run shares."""

    run_id: str
    pipeline_id: int
    project: Project
    git: GitInfo
    registry: RegistryInfo | None
    job_token: str
    created_at: str
    executor: str
    runner_name: str
    runner_tags: tuple[str, ...]
    builds_dir: str  # as the job sees it

    @property
    def project_dir(self) -> str:
        return f"{self.builds_dir}/{self.project.path}"

    @property
    def tmp_dir(self) -> str:
        """Runner's TmpProjectDir (RUNNER_TEMP_PROJECT_DIR): file variables and stage scripts,
        beside the project, never in it."""
        return f"{self.project_dir}.tmp"


def new_context(
    run_id: str,
    project: Project,
    git: GitInfo,
    registry: RegistryInfo | None,
    executor: str,
    runner_name: str,
    runner_tags: tuple[str, ...],
    builds_dir: str,
) -> PipelineContext:
    pid = int(time.time()) % 10_000_000
    return PipelineContext(
        run_id,
        pid,
        project,
        git,
        registry,
        "glcbt-" + secrets.token_hex(10),
        _now_iso(),
        executor,
        runner_name,
        runner_tags,
        builds_dir,
    )


@dataclass(frozen=True)
class JobVariables:
    """The job's final environment (expanded, in precedence order) and what to mask."""

    env: tuple[tuple[str, str], ...]
    files: Mapping[str, bytes]  # file-type variables: name → content (env value is the path)
    masked: tuple[str, ...]  # values, longest first
    secret_names: frozenset[str] = frozenset()  # masked variables: never handed to services

    def get(self, name: str) -> str | None:
        for key, value in reversed(self.env):
            if key == name:
                return value
        return None

    def as_dict(self) -> dict[str, str]:
        return dict(self.env)


def predefined(ctx: PipelineContext, job: Job, job_index: int, image: str | None) -> list[tuple[str, str]]:
    p, g = ctx.project, ctx.git
    host = p.server_url.split("://", 1)[1]
    job_id = ctx.pipeline_id * 100 + job_index + 1
    out: list[tuple[str, str]] = [
        ("CI", "true"),
        ("GITLAB_CI", "true"),
        ("CI_SERVER", "yes"),
        ("CI_SERVER_URL", p.server_url),
        ("CI_SERVER_HOST", host),
        ("CI_SERVER_PORT", "443"),
        ("CI_SERVER_PROTOCOL", "https"),
        ("CI_SERVER_NAME", "GitLab"),
        ("CI_SERVER_VERSION", "18.0.0"),
        ("CI_API_V4_URL", f"{p.server_url}/api/v4"),
        ("CI_PIPELINE_ID", str(ctx.pipeline_id)),
        ("CI_PIPELINE_IID", str(ctx.pipeline_id % 1000 + 1)),
        ("CI_PIPELINE_SOURCE", "push"),
        ("CI_PIPELINE_URL", f"{p.server_url}/{p.path}/-/pipelines/{ctx.pipeline_id}"),
        ("CI_PIPELINE_CREATED_AT", ctx.created_at),
        ("CI_JOB_ID", str(job_id)),
        ("CI_JOB_NAME", job.name),
        ("CI_JOB_NAME_SLUG", slug(job.name)),
        ("CI_JOB_STAGE", job.stage),
        ("CI_JOB_TOKEN", ctx.job_token),
        ("CI_JOB_URL", f"{p.server_url}/{p.path}/-/jobs/{job_id}"),
        ("CI_JOB_STARTED_AT", _now_iso()),
        ("CI_JOB_STATUS", "running"),
        ("CI_NODE_TOTAL", "1"),
        ("CI_COMMIT_SHA", g.sha),
        ("CI_COMMIT_SHORT_SHA", g.sha[:8]),
        ("CI_COMMIT_BEFORE_SHA", ZERO_SHA),
        ("CI_COMMIT_REF_NAME", g.ref_name),
        ("CI_COMMIT_REF_SLUG", slug(g.ref_name)),
        ("CI_COMMIT_MESSAGE", g.message),
        ("CI_COMMIT_TITLE", g.message.split("\n", 1)[0]),
        ("CI_COMMIT_DESCRIPTION", g.message.split("\n", 1)[1].strip("\n") if "\n" in g.message else ""),
        ("CI_COMMIT_AUTHOR", g.author),
        ("CI_COMMIT_TIMESTAMP", g.timestamp),
        ("CI_DEFAULT_BRANCH", "main"),
        ("CI_PROJECT_DIR", ctx.project_dir),
        ("CI_PROJECT_NAME", p.name),
        ("CI_PROJECT_TITLE", p.name),
        ("CI_PROJECT_PATH", p.path),
        ("CI_PROJECT_PATH_SLUG", slug(p.path)),
        ("CI_PROJECT_NAMESPACE", p.namespace),
        ("CI_PROJECT_ROOT_NAMESPACE", p.namespace.split("/")[0]),
        ("CI_PROJECT_URL", f"{p.server_url}/{p.path}"),
        ("CI_PROJECT_VISIBILITY", "private"),
        ("CI_PROJECT_ID", str(int(hashlib.sha1(p.path.encode()).hexdigest()[:6], 16))),
        ("CI_BUILDS_DIR", ctx.builds_dir),
        # Runner 15.7+: the project's temporary directory (file variables), outside the project.
        ("RUNNER_TEMP_PROJECT_DIR", ctx.tmp_dir),
        ("CI_CONCURRENT_ID", "0"),
        ("CI_CONCURRENT_PROJECT_ID", "0"),
        ("CI_RUNNER_ID", "1"),
        ("CI_RUNNER_DESCRIPTION", ctx.runner_name),
        ("CI_RUNNER_TAGS", ",".join(ctx.runner_tags)),
        ("CI_RUNNER_VERSION", f"buildrig-{__version__}"),
        ("CI_RUNNER_REVISION", "buildrig"),
        ("CI_RUNNER_EXECUTABLE_ARCH", f"linux/{_arch()}"),
        ("CI_RUNNER_SHORT_TOKEN", "buildrig"),
        ("GITLAB_USER_LOGIN", "buildrig"),
        ("GITLAB_USER_NAME", "buildrig"),
        ("GITLAB_USER_ID", "1"),
        ("GITLAB_USER_EMAIL", "buildrig@localhost"),
        ("CI_DISPOSABLE_ENVIRONMENT", "true")
        if ctx.executor == "docker"
        else ("CI_SHARED_ENVIRONMENT", "true"),
    ]
    if g.branch:
        out.append(("CI_COMMIT_BRANCH", g.branch))
    if g.tag:
        out += [("CI_COMMIT_TAG", g.tag), ("CI_COMMIT_TAG_MESSAGE", "")]
    if image:
        out.append(("CI_JOB_IMAGE", image))
    reg = ctx.registry
    if reg is not None:
        ns = reg.namespace or p.namespace
        out += [
            ("CI_REGISTRY", reg.host),
            ("CI_REGISTRY_IMAGE", f"{reg.host}/{ns}/{p.name}".lower()),
            ("CI_REGISTRY_USER", reg.user),
            ("CI_REGISTRY_PASSWORD", reg.password),
        ]
    return out


def _arch() -> str:
    m = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


def resolve(
    layers: Iterable[Iterable[Variable]],
    *,
    always_masked: Iterable[str] = (),
    masked_names: Iterable[str] = (),
    file_path: Callable[[str], str] | None = None,
) -> JobVariables:
    """Merge ``layers`` (lowest precedence first) and expand them as GitLab does
    (:mod:`buildrig.gitlab.expand`): references resolve all the way down, an unknown one is empty,
    ``expand: false`` variables keep their value as written, and a reference to a File variable
    becomes ``file_path(name)``, where the job finds its file.
    """
    merged: dict[str, Variable] = {}
    for layer in layers:
        for var in layer:
            merged.pop(var.name, None)  # a redefinition moves to the end, like the runner's list
            merged[var.name] = var
    done: dict[str, str] = {}

    env: list[tuple[str, str]] = []
    files: dict[str, bytes] = {}
    mask_names = set(masked_names)
    masked: set[str] = set()
    secret: set[str] = set()
    for name, var in merged.items():
        value = expand_variable(name, merged, file_path=file_path, memo=done)
        if var.file:
            files[name] = value.encode()
        env.append((name, value))
        if var.masked or name in mask_names or name in always_masked:
            secret.add(name)
            masked.add(value)
    masked.discard("")
    return JobVariables(tuple(env), files, tuple(sorted(masked, key=len, reverse=True)), frozenset(secret))


def plain(pairs: Iterable[tuple[str, str]], *, expand_: bool = False) -> list[Variable]:
    return [Variable(k, v, expand=expand_) for k, v in pairs]


#: Values GitLab always masks in job logs.
ALWAYS_MASKED = ("CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "CI_BUILD_TOKEN")


class Masker:
    """Replaces every occurrence of a masked value in a line with ``[MASKED]``.

    The log is masked line by line, so a multi-line value (a key, a certificate, a File variable)
    never appears whole in one line: each of its non-blank lines is masked on its own too.
    """

    def __init__(self, values: Iterable[str]) -> None:
        phrases: set[str] = set()
        for v in values:
            phrases.add(v)
            phrases.update(line.rstrip("\r") for line in v.splitlines() if line.strip())
        vals = sorted({v for v in phrases if v}, key=len, reverse=True)
        self._re = re.compile("|".join(re.escape(v) for v in vals)) if vals else None

    def __call__(self, text: str) -> str:
        return self._re.sub(MASK, text) if self._re is not None else text
