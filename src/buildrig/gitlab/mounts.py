"""``[runners.docker] volumes`` entries, read with GitLab Runner's grammar (v17.9.3).

Linux containers (executors/docker/internal/volumes/parser/linux_parser.go:9-24):
``[source:]destination[:ro|rw][(:|,)z|Z][(:|,)propagation]``. The destination is an absolute path
whose components hold no white space and none of ``\\ : * ? " < > |``; the source is such a path
or a volume name (no ``/``; white space allowed). Mode and label are case-insensitive. Anything
else — a relative destination, ``delegated``, a Windows path — fails the job with "invalid volume
specification" (parser/base_parser.go:19-24, volumes/manager.go:78-81).

What each form becomes (volumes/manager.go:73-99): with a source, a bind (a host path, or a named
volume when the source is a name) written back as ``source:destination[:opts]`` with the options
joined by commas (parser/volume.go:25-54); without one, a cache volume the runner creates
(``runner-…-cache-<hash>``) and mounts read-write whatever mode was written (manager.go:137-153,
217-220), or nothing at all under ``disable_cache`` (a warning, docker.go:1117-1125).

Windows containers (docker-windows) use the parser/windows_parser.go grammar: drive paths
(``c:\\cache``), named pipes (``\\\\.\\pipe\\docker_engine``), names, and ``ro``/``rw`` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

# Each segment ends at its own slash, so a failing match backtracks linearly: the grammar's
# ``(?:segment/?)*`` form is exponential in the length of a long segment that then fails.
_LINUX_DIR = r'/(?:[^\\/:*?"<>|\r\n ]+/)*[^\\/:*?"<>|\r\n ]*'
_LINUX_NAME = r'[^\\/:*?"<>|\r\n]+'
_LINUX = re.compile(
    rf"(?:(?P<source>{_LINUX_DIR}|{_LINUX_NAME}):)?"
    rf"(?P<destination>{_LINUX_DIR})"
    r"(?::(?P<mode>(?i:ro|rw)))?"
    r"(?:[:,](?P<label>(?i:z)))?"
    r"(?:[:,](?P<propagation>(?i:shared|slave|private|rshared|rslave|rprivate)))?"
)
_WIN_DIR = r'(?:\\\\\?\\)?[a-z]:[\\/](?:[^\\/:*?"<>|\r\n]+[\\/])*[^\\/:*?"<>|\r\n]*'
_WIN_NAME = r'[^\\/:*?"<>|\r\n]+'
_WIN_PIPE = r'[/\\]{2}\.[/\\]pipe[/\\][^:*?"<>|\r\n]+'
_WINDOWS = re.compile(
    rf"(?:(?P<source>{_WIN_DIR}|{_WIN_NAME}|{_WIN_PIPE}):)?"
    rf'(?P<destination>(?:\\\\\?\\)?[a-z]:(?:[\\/][^\\/:*?"<>\r\n]+)*[\\/]?|{_WIN_PIPE})'
    r"(?::(?P<mode>ro|rw))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Mount:
    raw: str
    source: str | None  # None: a cache volume the runner creates per project
    destination: str
    mode: str = ""  # "ro", "rw" or "" (as written: the engine, not the runner, refuses "RO")
    label: str = ""  # "z", "Z" or ""
    propagation: str = ""

    @property
    def host_path(self) -> str | None:
        """The host path a bind mount shares (None for cache volumes and named volumes)."""
        if self.source is not None and (self.source.startswith("/") or _is_windows_path(self.source)):
            return self.source
        return None

    @property
    def named_volume(self) -> str | None:
        return self.source if self.source is not None and self.host_path is None else None

    @property
    def read_only(self) -> bool:
        return self.mode.lower() == "ro" and self.source is not None

    def bind(self, source: str | None = None) -> str:
        """The bind the runner hands the engine: ``source:destination[:opts]``; ``source``
        replaces the source (the volume created for a cache volume, whose mode is dropped)."""
        if source is not None and self.source is None:
            return f"{source}:{self.destination}"
        opts = ",".join(o for o in (self.mode, self.label, self.propagation) if o)
        parts = [p for p in (source or self.source, self.destination, opts) if p]
        return ":".join(parts)


    def with_label(self, label: str) -> str:
        """The entry relabelled, as the runner would write it: ``/srv:/srv:ro`` → ``/srv:/srv:ro,z``."""
        return replace(self, label=label).bind()


def _is_windows_path(text: str) -> bool:
    return re.match(r"(?:\\\\\?\\)?[a-zA-Z]:[\\/]|[/\\]{2}\.[/\\]pipe[/\\]", text) is not None


@lru_cache(maxsize=4096)
def parse_volume(spec: str, *, windows: bool = False) -> Mount | None:
    """The entry as the runner reads it, or None where the runner fails the job on it."""
    m = (_WINDOWS if windows else _LINUX).fullmatch(spec)
    if m is None:
        return None
    groups = m.groupdict()
    return Mount(
        spec,
        groups.get("source") or None,
        groups["destination"],
        groups.get("mode") or "",
        groups.get("label") or "",
        groups.get("propagation") or "",
    )


def parse_volumes(specs: Iterable[str], *, windows: bool = False) -> tuple[Mount, ...]:
    """The valid entries (an empty entry is skipped by the runner too, manager.go:74-76)."""
    out = []
    for spec in specs:
        mount = parse_volume(spec, windows=windows) if spec else None
        if mount is not None:
            out.append(mount)
    return tuple(out)


def invalid_volumes(specs: Iterable[str], *, windows: bool = False) -> tuple[str, ...]:
    return tuple(s for s in specs if s and parse_volume(s, windows=windows) is None)


def covers(mount: Mount, path: str) -> bool:
    """Whether ``path`` in the container lies on this mount."""
    dest = mount.destination.rstrip("/\\") or "/"
    path = path.rstrip("/") or "/"
    return path == dest or path.startswith(dest.rstrip("/") + "/")
