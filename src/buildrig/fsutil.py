"""Filesystem helpers shared by every feature that writes user files."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from buildrig.errors import BuildrigError, InputError, Loc


def atomic_write(path: Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and a rename.

    A crash or an error leaves either the old file or the new one, never half of either.
    """
    path = Path(path)
    raw = data.encode() if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise BuildrigError(f"{path.parent}: cannot write here: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        elif path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise BuildrigError(f"{path}: cannot write: {exc.strerror or exc}") from exc


#: Largest file buildrig reads from a path a user (or a config file) names. GitLab caps a CI
#: configuration at a few MiB (``max_yaml_size_bytes``); runner and dockerd configs are far smaller.
MAX_INPUT_BYTES = 4 * 1024 * 1024


def read_user_file(path: Path, *, limit: int = MAX_INPUT_BYTES, loc: Loc | None = None) -> bytes:
    """The bytes of a regular file at ``path``, at most ``limit`` of them, or an InputError.

    A path a user names may be a device (``/dev/zero`` never ends), a FIFO (``open`` blocks until a
    writer comes) or a directory: it is stat'ed first, opened non-blocking (a FIFO swapped in
    between the two calls returns at once) and checked again on the open descriptor.
    ``loc`` names where the path was written (a config file's line) when it was not given directly.
    """
    path = Path(path)
    where = f"{path}: " if loc is not None else ""
    target = Loc.of(path) if loc is None else loc
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InputError(f"{where}not a regular file", loc=target)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{where}file not found", loc=target) from None
    except OSError as exc:
        raise InputError(f"{where}cannot read: {exc.strerror or exc}", loc=target) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"{where}not a regular file", loc=target)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputError(f"{where}cannot read: {exc.strerror or exc}", loc=target) from None
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(
            f"{where}larger than the {limit // (1024 * 1024)} MiB limit on input files", loc=target
        )
    return b"".join(chunks)


def read_user_text(path: Path, *, limit: int = MAX_INPUT_BYTES, loc: Loc | None = None) -> str:
    """:func:`read_user_file` decoded as UTF-8 (an InputError when it is not)."""
    data = read_user_file(path, limit=limit, loc=loc)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"{path}: " if loc is not None else ""
        raise InputError(
            f"{where}not UTF-8 text ({exc.reason})", loc=Loc.of(path) if loc is None else loc
        ) from None
