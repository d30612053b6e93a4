"""Filesystem helpers shared by every feature that writes user files: the one write policy.

Every user-visible write (``init``'s files, ``doctor -o``, bench reports, the run cache, the test
bed's keys) goes through :func:`atomic_write` or :func:`write_all`:

- A regular file is written to a temp file in the same directory and renamed over the target, so a
  crash or an error leaves the old file or the new one, never half of either. The replaced file's
  owner and mode are kept (an explicit ``mode`` wins: private keys stay 0600); when its owner cannot
  be kept (not root, someone else's file) the write is refused rather than silently re-owned.
- A character device or a FIFO (``-o /dev/null``, a terminal, a pipe) is written in place, never
  replaced; a FIFO without a reader is refused instead of blocking forever. :func:`write_all`
  (several files, all or nothing) takes regular files only.
- A symlink is never replaced and never written through (its target may be anywhere); the one
  exception is a symlink to a character device or FIFO, written in place (``-o /dev/stdout``).
- Directories, block devices, sockets and dangling symlinks are refused.
- A file the same command reads (``inputs``; compared by device and inode, so another name or a
  hard link counts too) is refused: ``doctor -o .gitlab-ci.yml`` must not replace what it checks.

:func:`write_all` writes several files all or nothing: every file is staged as a temp file first,
then each is renamed into place; a failure part-way restores the files already replaced (from hard
links taken before the rename) and removes the ones created, and the directories it made.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from buildrig.errors import BuildrigError, InputError, Loc


@dataclass(frozen=True)
class FileWrite:
    """One file of :func:`write_all`. ``mode=None`` keeps an existing file's mode (new: 0644)."""

    path: Path
    data: bytes
    mode: int | None = None


@dataclass(frozen=True)
class _Target:
    path: Path
    existing: os.stat_result | None  # lstat of a regular file being replaced
    stream: bool  # a character device or FIFO: written in place


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def check_target(path: Path, *, inputs: Iterable[Path] = (), allow_stream: bool = True) -> _Target:
    """Apply the policy to one target before anything is written; raises :class:`BuildrigError`."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return _Target(path, None, stream=False)
    except NotADirectoryError:
        raise BuildrigError(f"{path.parent}: cannot write here: not a directory") from None
    except OSError as exc:
        raise BuildrigError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    mine = _identity(path)
    if mine is not None and any(mine == _identity(Path(p)) for p in inputs):
        raise BuildrigError(f"{path}: is an input of this command; refusing to overwrite it")
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.stat(path)
        except OSError:
            raise BuildrigError(f"{path}: is a dangling symlink; refusing to write through it") from None
        if allow_stream and (stat.S_ISCHR(target.st_mode) or stat.S_ISFIFO(target.st_mode)):
            return _Target(path, None, stream=True)
        raise BuildrigError(
            f"{path}: is a symlink; buildrig neither replaces symlinks nor writes through them "
            f"(name its target {os.path.realpath(path)} instead)"
        )
    if stat.S_ISREG(st.st_mode):
        return _Target(path, st, stream=False)
    if allow_stream and (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        return _Target(path, None, stream=True)
    what = "a device or FIFO" if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode) else _kind(st.st_mode)
    raise BuildrigError(f"{path}: is {what}, not a regular file; refusing to replace it")


def _write_stream(path: Path, raw: bytes) -> None:
    """Write into a character device or FIFO without replacing, truncating or creating it."""
    try:
        # O_NONBLOCK: opening a FIFO nobody reads fails (ENXIO) instead of blocking forever.
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        why = "no process reads this FIFO" if exc.errno == errno.ENXIO else exc.strerror or str(exc)
        raise BuildrigError(f"{path}: cannot write: {why}") from exc
    try:
        st = os.fstat(fd)
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
            # Swapped for something else since the check: write nothing rather than guess.
            raise BuildrigError(f"{path}: changed while being written; nothing written")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        raise BuildrigError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def _mkdirs(directory: Path, made: list[Path]) -> None:
    missing: list[Path] = []
    probe = directory
    while not probe.exists() and not probe.is_symlink():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except OSError as exc:
            raise BuildrigError(f"{d.parent}: cannot write here: {exc.strerror or exc}") from exc
        made.append(d)


def _stage(t: _Target, data: bytes, mode: int | None) -> str:
    """A temp file beside the target holding ``data`` with the final owner and mode."""
    fd, tmp = tempfile.mkstemp(prefix=f".{t.path.name}.", suffix=".tmp", dir=t.path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        old = t.existing
        if old is not None:
            tst = os.stat(tmp)
            if (tst.st_uid, tst.st_gid) != (old.st_uid, old.st_gid):
                try:
                    os.chown(tmp, old.st_uid, old.st_gid)
                except PermissionError:
                    raise BuildrigError(
                        f"{t.path}: owned by uid {old.st_uid} gid {old.st_gid}; cannot keep its owner "
                        "when replacing it, so it is left as it is"
                    ) from None
        # chmod after chown: chown clears set-id bits.
        final = mode if mode is not None else (stat.S_IMODE(old.st_mode) if old is not None else 0o644)
        os.chmod(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _backup(path: Path) -> str:
    """A second name for the file about to be replaced, to put it back on rollback: a hard link,
    or a copy (same mode and owner) where the filesystem has no hard links."""
    for _ in range(100):
        name = str(path.parent / f".{path.name}.{os.urandom(4).hex()}.bak")
        try:
            os.link(path, name)
        except FileExistsError:
            continue
        except OSError:
            st = os.lstat(path)
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as fh, open(path, "rb") as src:
                shutil.copyfileobj(src, fh)
            with contextlib.suppress(OSError):
                os.chown(name, st.st_uid, st.st_gid)
            os.chmod(name, stat.S_IMODE(st.st_mode))
        return name
    raise BuildrigError(f"{path}: cannot keep a backup while replacing it")


def write_all(files: Sequence[FileWrite], *, inputs: Iterable[Path] = ()) -> None:
    """Write every file, all or nothing (regular files only)."""
    inputs = tuple(inputs)
    targets = [check_target(f.path, inputs=inputs, allow_stream=False) for f in files]
    made: list[Path] = []
    staged: list[str] = []
    backups: list[str | None] = []
    done: list[_Target] = []
    try:
        try:
            for t, f in zip(targets, files, strict=True):
                _mkdirs(t.path.parent, made)
                staged.append(_stage(t, f.data, f.mode))
            for t, tmp in zip(targets, staged, strict=True):
                backups.append(_backup(t.path) if t.existing is not None else None)
                os.replace(tmp, t.path)
                done.append(t)
        except OSError as exc:
            where = exc.filename or (files[len(done)].path if len(done) < len(files) else "")
            raise BuildrigError(f"{where}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        for t, bak in zip(reversed(done), reversed(backups[: len(done)]), strict=True):
            with contextlib.suppress(OSError):
                if bak is not None:
                    os.replace(bak, t.path)
                else:
                    os.unlink(t.path)
        for name in [*staged[len(done) :], *(b for b in backups[len(done) :] if b)]:
            with contextlib.suppress(OSError):
                os.unlink(name)
        for d in reversed(made):
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    for bak in backups:
        if bak is not None:
            with contextlib.suppress(OSError):
                os.unlink(bak)


def atomic_write(
    path: Path, data: str | bytes, *, mode: int | None = None, inputs: Iterable[Path] = ()
) -> None:
    """Write ``data`` to ``path`` under the policy above (devices and FIFOs written in place)."""
    raw = data.encode() if isinstance(data, str) else data
    inputs = tuple(inputs)
    if check_target(Path(path), inputs=inputs).stream:
        _write_stream(Path(path), raw)
        return
    write_all([FileWrite(Path(path), raw, mode)], inputs=inputs)


def ensure_mode(path: Path, mode: int) -> None:
    """Give a file we keep (a reused key) the mode a fresh one would get; regular files only."""
    try:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) != mode:
            os.chmod(path, mode)
    except OSError as exc:
        raise BuildrigError(f"{path}: cannot set mode {mode:04o}: {exc.strerror or exc}") from exc


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
