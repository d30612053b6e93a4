"""Job artifacts passed to later stages, as GitLab does between the jobs of one pipeline, and the
job cache (``cache:``) kept between runs in buildrig's state directory, like a runner's local cache.

A job's ``artifacts: paths`` (globs relative to ``CI_PROJECT_DIR``, ``artifacts: when``) are
collected after its script; a later job gets the artifacts of every job of earlier stages, or only
of those named in ``dependencies:`` / ``needs:``. As in GitLab Runner, a path that leaves the
project (``../x``) is skipped with a warning, and symlinks are neither stored nor followed, so a
job cannot collect or restore a file outside its project. Not emulated: ``exclude``, ``untracked``,
``reports``, expiry (the run is the artifact's whole life).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import posixpath
import re
import tarfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildrig.gitlab.model import Job
from buildrig.run.log import JobLog


def _rel(path: str) -> str:
    """A project-relative path as written (``./dist`` → ``dist``; ``.cache`` stays ``.cache``)."""
    path = path.strip()
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


def confine(path: str) -> str | None:
    """``path`` relative to the project and normalised ("" for the project itself), or None when
    it leaves the project (``../x``, ``a/../../x``)."""
    norm = posixpath.normpath(_rel(path) or ".")
    if norm == ".." or norm.startswith("../"):
        return None
    return "" if norm == "." else norm


def _confined(raw: Iterable[object]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(kept globs, paths outside the project) of a ``paths:`` list."""
    kept: list[str] = []
    outside: list[str] = []
    for p in raw:
        text = str(p)
        if not text.strip():
            continue
        c = confine(text)
        if c is None:
            outside.append(text)
        else:
            kept.append(c or ".")
    return tuple(kept), tuple(outside)


@dataclass(frozen=True)
class ArtifactFile:
    path: str  # relative to the project directory, "/"-separated
    content: bytes
    mode: int


def spec(job: Job) -> tuple[tuple[str, ...], str]:
    """(path globs, when) from ``artifacts:``; no paths means nothing to collect."""
    raw = job.raw.get("artifacts")
    if not isinstance(raw, Mapping):
        return (), "on_success"
    when = str(raw.get("when") or "on_success")
    globs = _confined(_paths(raw))[0]
    return (*globs, *(d for d in dotenv_paths(job) if d not in globs)), when


def _paths(raw: Mapping[str, Any]) -> tuple[object, ...]:
    paths = raw.get("paths") or ()
    return (paths,) if isinstance(paths, str) else tuple(paths) if isinstance(paths, list) else ()


def outside_paths(job: Job) -> tuple[str, ...]:
    """``artifacts:`` paths (and dotenv reports) that leave the project: never collected."""
    raw = job.raw.get("artifacts")
    if not isinstance(raw, Mapping):
        return ()
    reports = raw.get("reports")
    dot = reports.get("dotenv") if isinstance(reports, Mapping) else None
    dots = [dot] if isinstance(dot, str) else (dot if isinstance(dot, list) else [])
    return _confined([*_paths(raw), *dots])[1]


def collect(
    job: Job, success: bool, log: JobLog, gather: Callable[[str], list[ArtifactFile]]
) -> tuple[ArtifactFile, ...]:
    """The job's artifacts, logged as the runner does; ``gather(pattern)`` reads one pattern."""
    patterns, when = spec(job)
    if not patterns or not wanted(when, success):
        return ()
    log.section("Uploading artifacts for " + ("successful" if success else "failed") + " job")
    for path in outside_paths(job):
        log.warn(f"WARNING: {path}: not supported: outside build directory")
    # The runner's messages name each path as the user wrote it ("dist/"), not normalised.
    raw = job.raw.get("artifacts")
    paths = _paths(raw) if isinstance(raw, Mapping) else ()
    written = {c or ".": str(p) for p in reversed(paths) if (c := confine(str(p))) is not None}
    found: dict[str, ArtifactFile] = {}
    for pattern in patterns:
        files = gather(pattern)
        label = written.get(pattern, pattern)
        if not files:
            log.warn(
                f"WARNING: {label}: no matching files. Ensure that the artifact path is relative "
                "to the working directory"
            )
        else:
            log.sys(f"{label}: found {len(files)} matching artifact files and directories")
        for f in files:
            found.setdefault(f.path, f)
    return tuple(found.values())


def dotenv_paths(job: Job) -> tuple[str, ...]:
    """``artifacts: reports: dotenv`` files (their variables go to later jobs, not their content)."""
    raw = job.raw.get("artifacts")
    reports = raw.get("reports") if isinstance(raw, Mapping) else None
    dot = reports.get("dotenv") if isinstance(reports, Mapping) else None
    items = [dot] if isinstance(dot, str) else (dot if isinstance(dot, list) else [])
    return _confined(items)[0]


def split_dotenv(job: Job, files: Sequence[ArtifactFile]) -> tuple[tuple[ArtifactFile, ...], dict[str, str]]:
    """(the files later jobs get, the variables from the job's dotenv reports)."""
    dots = set(dotenv_paths(job))
    raw = job.raw.get("artifacts")
    paths = raw.get("paths") if isinstance(raw, Mapping) else None
    globs = list(_confined(paths if isinstance(paths, list) else [paths] if paths else [])[0])
    variables: dict[str, str] = {}
    kept: list[ArtifactFile] = []
    for f in files:
        if f.path in dots:
            for line in f.content.decode("utf-8", "replace").splitlines():
                key, sep, value = line.partition("=")
                if sep and key.strip() and not key.lstrip().startswith("#"):
                    variables[key.strip()] = value
            if not any(matches(f.path, g) for g in globs):
                continue
        kept.append(f)
    return tuple(kept), variables


def wanted(when: str, success: bool) -> bool:
    return when == "always" or (when == "on_success") == success


def sources(job: Job, finished: Sequence[Job], stage_order: Mapping[str, int]) -> list[str]:
    """Names of the finished jobs whose artifacts ``job`` receives."""
    raw = job.raw
    if "dependencies" in raw and isinstance(raw["dependencies"], list):
        return [str(d) for d in raw["dependencies"]]
    if "needs" in raw and isinstance(raw["needs"], list):
        names: list[str] = []
        for need in raw["needs"]:
            if isinstance(need, str):
                names.append(need)
            elif isinstance(need, Mapping) and need.get("job") and need.get("artifacts", True) is not False:
                names.append(str(need["job"]))
        return names
    mine = stage_order.get(job.stage, 0)
    return [j.name for j in finished if stage_order.get(j.stage, 0) < mine]


def prefix(pattern: str) -> str:
    """The directory part of ``pattern`` before its first wildcard ("" for the project root)."""
    parts = pattern.split("/")
    fixed: list[str] = []
    for part in parts:
        if any(c in part for c in "*?["):
            break
        fixed.append(part)
    if len(fixed) == len(parts):  # no wildcard: the path itself
        return pattern.rstrip("/")
    return "/".join(fixed)


def matches(rel: str, pattern: str) -> bool:
    """GitLab-like: the path itself, anything under a matched directory, or a glob match."""
    pattern = pattern.rstrip("/")
    if pattern in (".", ""):
        return True
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        head = "/".join(parts[:i])
        if (
            head == pattern
            or fnmatch.fnmatchcase(head, pattern)
            or ("**" in pattern and fnmatch.fnmatchcase(head, pattern.replace("**/", "")))
        ):
            return True
    return False


def from_tar(data: bytes | Iterable[bytes], archived: str, patterns: Sequence[str]) -> list[ArtifactFile]:
    """Regular files of a Docker archive of ``archived`` (project-relative, "" for the project dir):
    its members are named after the archived path's last component. Symlinks are skipped."""
    raw = data if isinstance(data, bytes) else b"".join(data)
    out: list[ArtifactFile] = []
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = member.name
            while name.startswith("./"):
                name = name[2:]
            _, _, inner = name.partition("/")
            if archived:
                parent = archived.rsplit("/", 1)[0] if "/" in archived else ""
                rel = f"{parent}/{name}" if parent else name
            else:
                rel = inner
            rel = confine(rel) or ""
            if rel and any(matches(rel, p) for p in patterns):
                fh = tar.extractfile(member)
                if fh is not None:
                    out.append(ArtifactFile(rel, fh.read(), member.mode & 0o7777))
    return out


@dataclass(frozen=True)
class CacheSpec:
    key: str
    paths: tuple[str, ...]
    policy: str  # pull-push | pull | push
    when: str  # on_success | on_failure | always
    outside: tuple[str, ...] = ()  # paths that leave the project: never cached


def cache_specs(job: Job, expand_value: Any, project_dir: Path) -> list[CacheSpec]:
    """``cache:`` (one mapping or a list of them); ``key`` expanded with the job's variables.

    ``key: files:`` is keyed by the named files' content hash, as GitLab does.
    """
    raw = job.raw.get("cache")
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, Mapping) else []
    out: list[CacheSpec] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        paths = item.get("paths") or []
        paths = [paths] if isinstance(paths, str) else paths
        key = item.get("key", "default")
        if isinstance(key, Mapping):
            files = key.get("files") or []
            digest = hashlib.sha256()
            for name in sorted(str(f) for f in files):
                inside = confine(name)
                try:
                    # A name outside the project is hashed as a name only: the key must not
                    # reveal anything about a host file.
                    target = Path(project_dir, inside or ".")
                    if inside is None or not target.resolve().is_relative_to(Path(project_dir).resolve()):
                        raise FileNotFoundError(name)
                    digest.update(name.encode() + b"\0" + target.read_bytes())
                except OSError:
                    digest.update(name.encode())
            key = (str(key.get("prefix")) + "-" if key.get("prefix") else "") + digest.hexdigest()[:16]
        kept, outside = _confined(paths)
        out.append(
            CacheSpec(
                key=re.sub(r"[^A-Za-z0-9._-]", "-", expand_value(str(key))) or "default",
                paths=tuple("" if k == "." else k for k in kept),
                policy=str(item.get("policy") or "pull-push"),
                when=str(item.get("when") or "on_success"),
                outside=outside,
            )
        )
    # Kept with only outside paths too: the runner still warns about them.
    return [c for c in out if c.paths or c.outside]


def cache_file(root: Path, key: str) -> Path:
    return root / f"{key}.tar"


def load_cache(path: Path) -> list[ArtifactFile]:
    try:
        data = path.read_bytes()
    except OSError:
        return []
    out: list[ArtifactFile] = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            rel = confine(member.name)
            fh = tar.extractfile(member) if member.isfile() and rel else None
            if fh is not None and rel:
                out.append(ArtifactFile(rel, fh.read(), member.mode & 0o7777))
    return out


def save_cache(path: Path, files: Sequence[ArtifactFile]) -> None:
    from buildrig.fsutil import atomic_write

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for f in files:
            info = tarfile.TarInfo(f.path)
            info.size, info.mode = len(f.content), f.mode
            tar.addfile(info, io.BytesIO(f.content))
    atomic_write(path, buf.getvalue(), mode=0o600)
