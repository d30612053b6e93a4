"""The shell script a job runs, written the way GitLab Runner's shell writer does it.

Every command is echoed as ``$ cmd`` in the runner's bold green, then run; ``set -e`` (plus
``pipefail`` where the shell has it) makes the first failing command end the script with its own
exit code. The same text works in bash, dash and busybox sh.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

# The runner's own detection order: bash when present, else sh.
SHELLS = (
    "/usr/local/bin/bash",
    "/usr/bin/bash",
    "/bin/bash",
    "/usr/local/bin/sh",
    "/usr/bin/sh",
    "/bin/sh",
    "/busybox/sh",
)


def quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def shell_detect_command(script_path: str) -> list[str]:
    """``sh -c`` that execs the first shell found, like the runner's Docker shell detection."""
    branches = "; el".join(f'if [ -x {s} ]; then exec {s} "$@"' for s in SHELLS)
    detect = f"{branches}; else echo shell not found; exit 1; fi"
    return ["sh", "-c", detect, "sh", script_path]


def render(commands: Sequence[str], *, workdir: str, exports: Sequence[tuple[str, str]] = ()) -> str:
    """The stage script; ``exports`` are variables set for this stage only (not echoed)."""
    lines = [
        "# written by buildrig: the job's commands, as GitLab Runner runs them",
        "if (set -o pipefail) 2>/dev/null; then set -o pipefail; fi",
        "set -e",
        "set +o noclobber 2>/dev/null || :",
        *(f"export {name}={quote(value)}" for name, value in exports),
        f"cd {quote(workdir)}",
    ]
    for cmd in commands:
        shown = cmd.strip("\n")
        if "\n" in shown:
            shown = shown.split("\n", 1)[0] + " # collapsed multi-line command"
        lines.append(f"printf '\\033[32;1m%s\\033[0;m\\n' {quote('$ ' + shown)}")
        lines.append(cmd.rstrip("\n"))
    lines.append("")
    return "\n".join(lines)


def project_files(project_dir: Path) -> list[Path]:
    """What a fresh clone would hold: tracked and untracked-but-not-ignored files, plus ``.git``.

    Outside git, every file. Paths are relative to ``project_dir``.
    """
    try:
        proc = subprocess.run(
            ["git", "-C", str(project_dir), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=False,
            timeout=30,
        )
        in_git = proc.returncode == 0 and (project_dir / ".git").exists()
    except (OSError, subprocess.TimeoutExpired):
        in_git = False
    if not in_git:
        out: list[Path] = []
        for root, dirs, files in os.walk(project_dir):
            dirs.sort()
            for name in sorted(files):
                out.append(Path(root, name).relative_to(project_dir))
        return out
    seen = {Path(p.decode()) for p in proc.stdout.split(b"\0") if p}
    for root, dirs, files in os.walk(project_dir / ".git"):
        dirs.sort()
        for name in files:
            seen.add(Path(root, name).relative_to(project_dir))
    return sorted(p for p in seen if (project_dir / p).exists() or (project_dir / p).is_symlink())


def build_tar(
    project_dir: Path | None,
    dest: str,
    extra: Mapping[str, tuple[bytes, int]],
    dir_modes: Mapping[str, int] | None = None,
) -> IO[bytes]:
    """A tar (paths relative to ``/``) with the project copied to ``dest`` and ``extra`` files
    (absolute path → (content, mode)), owned by root like a runner's clone. ``dir_modes`` sets
    the mode of named directories (default: 0777 for ``dest``, 0755 for the others)."""
    # Spooled: a big working tree goes to a temp file instead of memory; the engine reads it as a stream.
    buf: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115 (returned open)
    now = time.time()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        made: set[str] = set()

        def mkdirs(path: str) -> None:
            parts = path.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d and d not in made:
                    made.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    default = 0o777 if i == len(parts) and path == dest else 0o755
                    info.mode = (dir_modes or {}).get(d, default)
                    info.mtime = int(now)
                    tar.addfile(info)

        mkdirs(dest)
        if project_dir is not None:
            for rel in project_files(project_dir):
                src = project_dir / rel
                arc = f"{dest.strip('/')}/{rel.as_posix()}"
                mkdirs(os.path.dirname(arc))
                info = tar.gettarinfo(str(src), arcname=arc)
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                if info.isfile():
                    with open(src, "rb") as fh:
                        tar.addfile(info, fh)
                elif info.isdir():
                    if arc not in made:
                        made.add(arc)
                        tar.addfile(info)
                elif info.issym():
                    tar.addfile(info)
                # Devices, FIFOs and sockets are not part of a clone: never recreated (as root) for a job.
        for path, (content, mode) in extra.items():
            arc = path.strip("/")
            mkdirs(os.path.dirname(arc))
            info = tarfile.TarInfo(arc)
            info.size = len(content)
            info.mode = mode
            info.mtime = int(now)
            tar.addfile(info, io.BytesIO(content))
    buf.seek(0)
    return buf
