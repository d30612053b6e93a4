"""The write policy: regular files replaced atomically keeping owner and mode; devices and FIFOs
written in place; symlinks, directories, sockets and inputs of the command refused; several files
all or nothing."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from buildrig.errors import BuildrigError
from buildrig.fsutil import FileWrite, atomic_write, ensure_mode, write_all


def test_regular_file_keeps_mode(tmp_path: Path) -> None:
    f = tmp_path / "report.txt"
    f.write_text("old\n")
    f.chmod(0o640)
    atomic_write(f, "new\n")
    assert f.read_text() == "new\n"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_regular_file_keeps_owner_when_root(tmp_path: Path) -> None:
    f = tmp_path / "report.txt"
    f.write_text("old\n")
    os.chown(f, 4321, 4321)
    atomic_write(f, "new\n")
    st = f.stat()
    assert (st.st_uid, st.st_gid) == (4321, 4321)
    assert f.read_text() == "new\n"


def test_new_file_and_explicit_mode(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a" / "b.txt", "x")
    assert stat.S_IMODE((tmp_path / "a" / "b.txt").stat().st_mode) == 0o644
    key = tmp_path / "key.pem"
    key.write_text("old")
    key.chmod(0o644)
    atomic_write(key, "secret", mode=0o600)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_fifo_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # The reader end is open first (as a shell's pipe would be); the report fits the pipe buffer.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        link = tmp_path / "stdout"
        link.symlink_to(fifo)  # like /dev/stdout -> /proc/self/fd/1 -> a pipe
        atomic_write(link, "report\n")
        assert os.read(reader, 100) == b"report\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert link.is_symlink()


def test_fifo_without_reader_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(BuildrigError, match="no process reads this FIFO"):
        atomic_write(fifo, "x")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_dev_null_stays_a_device() -> None:
    atomic_write(Path("/dev/null"), "discarded\n")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_symlink_to_a_file_is_neither_replaced_nor_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("theirs\n")
    link = tmp_path / "out.txt"
    link.symlink_to(target)
    with pytest.raises(BuildrigError, match="is a symlink"):
        atomic_write(link, "ours\n")
    assert link.is_symlink() and target.read_text() == "theirs\n"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(BuildrigError, match="dangling symlink"):
        atomic_write(dangling, "x")
    assert not (tmp_path / "nowhere").exists()


def test_directory_and_socket_refused(tmp_path: Path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    with pytest.raises(BuildrigError, match="is a directory"):
        atomic_write(d, "x")
    assert d.is_dir()
    sock_path = tmp_path / "s"
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(sock_path))
        with pytest.raises(BuildrigError, match="is a socket"):
            atomic_write(sock_path, "x")
        assert stat.S_ISSOCK(sock_path.lstat().st_mode)
    finally:
        s.close()


def test_an_input_of_the_command_is_refused_by_any_name(tmp_path: Path) -> None:
    ci = tmp_path / ".gitlab-ci.yml"
    ci.write_text("build:\n  script: [make]\n")
    other = tmp_path / "hardlink.yml"
    os.link(ci, other)
    for name in (ci, other):
        with pytest.raises(BuildrigError, match="is an input of this command"):
            atomic_write(name, "findings\n", inputs=[ci])
    assert ci.read_text() == "build:\n  script: [make]\n"


@pytest.mark.parametrize("hard_links", [True, False])
def test_write_all_rolls_back_on_failure(
    hard_links: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = tmp_path / "a.txt"
    a.write_text("user a\n")
    a.chmod(0o640)
    b = tmp_path / "new" / "deeper" / "b.txt"
    calls = {"n": 0}
    real_replace = os.replace

    def failing_replace(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device", dst)
        real_replace(src, dst)

    def no_link(src: str, dst: str) -> None:
        raise PermissionError(1, "Operation not permitted", src)

    monkeypatch.setattr(os, "replace", failing_replace)
    if not hard_links:  # vfat, some FUSE mounts: the backup is a copy with the same mode
        monkeypatch.setattr(os, "link", no_link)
    with pytest.raises(BuildrigError, match="No space left"):
        write_all([FileWrite(a, b"ours a\n"), FileWrite(b, b"ours b\n")])
    monkeypatch.undo()
    assert a.read_text() == "user a\n" and stat.S_IMODE(a.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_ensure_mode_fixes_a_kept_key(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("k")
    key.chmod(0o644)
    ensure_mode(key, 0o600)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
