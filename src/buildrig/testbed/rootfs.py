"""Root filesystems for stand-in images, made from what Debian ships (no registry needed).

Two kinds: a busybox tree with a few host binaries and the libraries they link (small, built in a
second, straight into a tar stream), and a ``debootstrap --variant=minbase`` tree with extra
packages (tens of seconds; dpkg, not the download, is the slow part).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from buildrig.errors import BuildrigError

SUITE = "bookworm"
BUSYBOX = Path("/bin/busybox")
# Bump when the way trees are made changes, so cached images are rebuilt.
ROOTFS_VERSION = "3"


def debian_mirror() -> str:
    return os.environ.get("BUILDRIG_DEBIAN_MIRROR", "http://deb.debian.org/debian")


@dataclass(frozen=True)
class RootSpec:
    """How to make a root filesystem. ``kind`` is ``busybox`` or ``debootstrap``."""

    kind: str
    packages: tuple[str, ...] = ()  # debootstrap --include
    binaries: tuple[str, ...] = ()  # host files copied at the same path, with their libraries
    prune: tuple[str, ...] = ()  # paths (relative to the root) removed before the import
    #: (path in the image, host file, mode): static binaries and data placed anywhere, any kind
    files: tuple[tuple[str, str, int], ...] = ()
    #: kind "scratch" only: (path, mode) directories, (path, target) symlinks, and the directory
    #: that receives static busybox with its applet links ("" for none)
    dirs: tuple[tuple[str, int], ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    busybox_dir: str = ""

    def key(self) -> str:
        """The recipe hash: the spec, the Debian suite and the bytes of every copied file."""
        h = hashlib.sha256()
        h.update(f"{ROOTFS_VERSION}|{self.kind}|{SUITE}|{','.join(self.packages)}|".encode())
        h.update(f"{','.join(self.prune)}|{self.dirs}|{self.links}|{self.busybox_dir}|".encode())
        copied = [*self.binaries] if self.kind == "busybox" else []
        if self.kind == "busybox" or self.busybox_dir:
            copied.insert(0, str(BUSYBOX))
        for b in copied:
            h.update(b.encode())
            h.update(_file_digest(Path(b)).encode())
        for dest, src, mode in self.files:
            h.update(f"{dest}|{mode:o}|".encode())
            h.update(_file_digest(Path(src)).encode())
        return h.hexdigest()


def _file_digest(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        raise BuildrigError(f"{path}: needed for a stand-in image but unreadable: {exc.strerror}") from exc


def linked_libraries(binary: Path) -> tuple[Path, ...]:
    """Shared libraries (and the loader) a dynamic executable needs, as reported by ldd."""
    proc = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:  # static executables make ldd exit 1
        return ()
    libs: list[Path] = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        if "=>" in parts:
            i = parts.index("=>")
            if i + 1 < len(parts) and parts[i + 1].startswith("/"):
                libs.append(Path(parts[i + 1]))
        elif parts and parts[0].startswith("/"):
            libs.append(Path(parts[0]))
    return tuple(libs)


class _TreeTar:
    """Adds directories (parents first, once), files and symlinks to a tar, owned by root."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.seen: set[str] = set()

    def dir(self, name: str, mode: int = 0o755) -> None:
        parts = Path(name).parts
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub in self.seen:
                continue
            self.seen.add(sub)
            info = tarfile.TarInfo(sub)
            info.type = tarfile.DIRTYPE
            info.mode = mode if i == len(parts) else 0o755
            self.tar.addfile(info)

    def data(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self.dir(str(Path(name).parent))
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = mode
        self.tar.addfile(info, io.BytesIO(data))
        self.seen.add(name)

    def file(self, name: str, src: Path, mode: int) -> None:
        """A host file streamed from disk (binaries can be large)."""
        self.dir(str(Path(name).parent))
        info = self.tar.gettarinfo(str(src.resolve()), arcname=name)
        info.mode, info.uid, info.gid, info.uname, info.gname = mode, 0, 0, "root", "root"
        with src.open("rb") as fh:
            self.tar.addfile(info, fh)
        self.seen.add(name)

    def link(self, name: str, target: str) -> None:
        if name in self.seen:
            return
        self.dir(str(Path(name).parent))
        info = tarfile.TarInfo(name)
        info.type = tarfile.SYMTYPE
        info.linkname = target
        self.tar.addfile(info)
        self.seen.add(name)


def busybox_tar(spec: RootSpec) -> bytes:
    """A complete busybox root filesystem as an uncompressed tar (in memory: a few MB + binaries)."""
    if not BUSYBOX.exists():
        raise BuildrigError(f"{BUSYBOX} is missing: install Debian's busybox-static")
    applets = _applets()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        t = _TreeTar(tar)

        def add_host_file(path: Path) -> None:
            name = str(path).lstrip("/")
            if name not in t.seen:
                t.file(name, path, path.resolve().stat().st_mode & 0o7777)

        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "etc", "root", "var/run", "run"):
            t.dir(d, 0o700 if d == "root" else 0o755)
        t.dir("tmp", 0o1777)
        add_host_file(BUSYBOX)
        for applet in applets:
            rel = applet.lstrip("/")
            if rel != "bin/busybox":
                t.link(rel, "/bin/busybox")
        t.data("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
               b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
        t.data("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
        t.data("etc/nsswitch.conf", b"hosts: files dns\n")
        for b in spec.binaries:
            path = Path(b)
            add_host_file(path)
            for lib in linked_libraries(path):
                add_host_file(lib)
        for dest, src, mode in spec.files:
            t.file(dest.strip("/"), Path(src), mode)
    return buf.getvalue()


def scratch_tar(spec: RootSpec) -> Path:
    """A root filesystem with only what the spec names (the layout of images built FROM scratch),
    written to a temporary tar file the caller removes; binaries can be large, so not in memory."""
    fd, name = tempfile.mkstemp(prefix="buildrig-scratch-", suffix=".tar")
    os.close(fd)
    with tarfile.open(name, mode="w", format=tarfile.PAX_FORMAT) as tar:
        t = _TreeTar(tar)
        for d, mode in spec.dirs:
            t.dir(d.strip("/"), mode)
        if spec.busybox_dir:
            bb = spec.busybox_dir.strip("/")
            t.file(f"{bb}/busybox", BUSYBOX, 0o755)
            for applet in _applets():
                base = applet.rsplit("/", 1)[-1]
                if base != "busybox":
                    t.link(f"{bb}/{base}", "busybox")
        for dest, src, mode in spec.files:
            t.file(dest.strip("/"), Path(src), mode)
        for path, target in spec.links:
            t.link(path.strip("/"), target)
    return Path(name)


def _applets() -> list[str]:
    return subprocess.run(
        [str(BUSYBOX), "--list-full"], capture_output=True, text=True, check=False
    ).stdout.split()


def place_files(spec: RootSpec, target: Path) -> None:
    """Copy ``spec.files`` into a root tree (debootstrap kind)."""
    for dest, src, mode in spec.files:
        path = target / dest.strip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, path)
        os.chown(path, 0, 0)
        path.chmod(mode)


def debootstrap_tree(spec: RootSpec, target: Path, log: Path) -> None:
    """``debootstrap --variant=minbase`` into ``target`` (which must not exist), then prune."""
    if shutil.which("debootstrap") is None:
        raise BuildrigError("debootstrap is not installed (apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise BuildrigError("building Debian stand-in images needs root (debootstrap)")
    cmd = ["debootstrap", "--variant=minbase"]
    if spec.packages:
        cmd.append("--include=" + ",".join(spec.packages))
    cmd += [SUITE, str(target), debian_mirror()]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise BuildrigError(
            f"debootstrap failed (exit {proc.returncode}; log {log}): {' | '.join(tail)}"
        )
    for rel in (
        "var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
        "usr/share/info", "var/log", "debootstrap", *spec.prune,
    ):
        p = target / rel
        if p.is_dir() and not p.is_symlink():
            for child in p.iterdir():
                with contextlib.suppress(OSError):
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
        elif p.exists() or p.is_symlink():
            p.unlink()
    for rel in ("etc/resolv.conf", "etc/hostname", "etc/hosts"):
        with contextlib.suppress(FileNotFoundError):
            (target / rel).unlink()


def tar_tree(root: Path, out: Path) -> None:
    """Tar a tree as-is (owners, modes, device nodes) with GNU tar."""
    proc = subprocess.run(
        ["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", str(out), "."],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise BuildrigError(f"tar of {root} failed: {proc.stderr.strip()[:300]}")


def remove_tree(path: Path) -> None:
    # debootstrap trees may hold bind-mount points (proc, sys) if it was interrupted.
    for sub in ("proc", "sys", "dev/pts"):
        p = path / sub
        if p.is_mount():
            subprocess.run(["umount", "-l", str(p)], check=False, capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


def files_digest(items: Iterable[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, data in sorted(items):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()
