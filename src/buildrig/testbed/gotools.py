"""Real kaniko, BuildKit and buildx binaries for the stand-in images, built from their Go modules.

None of these tools is packaged by Debian and no image registry is reachable on the machines this
test bed is for, but each is published as a Go module. Each is built by module name and version
in a throwaway wrapper module (``go install M@V`` refuses modules whose go.mod carries a
``replace`` or ``exclude`` directive, as BuildKit's does from v0.19 on; a dependency's directives
are ignored in a wrapper). Nothing of the tools' code is kept in this repository: the wrapper
lives in buildrig's state directory, and files an image needs from a module (BuildKit's
``buildctl-daemonless.sh``) are copied out of the module cache when the image is built.

The module and build caches (``$BUILDRIG_HOME/go/{mod,cache}``) and the outputs
(``$BUILDRIG_HOME/go/out/<tool>-<key>``) persist, so only the first ``prepare`` compiles.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from buildrig import versions
from buildrig.errors import BuildrigError
from buildrig.paths import state_dir

Progress = Callable[[str], None]

#: Go that understands ``toolchain`` lines: an older go.mod requirement is fetched by the go
#: command itself (GOTOOLCHAIN=auto) from the module proxy.
MIN_GO = (1, 21)
# Bump when the way tools are built changes, so outputs are rebuilt.
RECIPE_VERSION = "1"


@dataclass(frozen=True)
class GoTool:
    """One tool: a module at a version, the packages to build, the ldflags variable for the version."""

    name: str
    module: str
    version: str
    packages: tuple[str, ...]
    version_var: str
    #: files copied out of the module directory: (path in the module, output name)
    module_files: tuple[tuple[str, str], ...] = ()

    def key(self, go_version: str) -> str:
        h = hashlib.sha256(
            "|".join((RECIPE_VERSION, self.module, self.version, *self.packages, self.version_var,
                      *(f"{a}>{b}" for a, b in self.module_files), go_version)).encode()
        )
        return h.hexdigest()[:16]


KANIKO = GoTool(
    name="kaniko",
    module=versions.KANIKO_STANDIN_MODULE,
    version=versions.KANIKO_STANDIN_VERSION,
    packages=("cmd/executor", "cmd/warmer"),
    version_var="pkg/version.version",
)
BUILDKIT = GoTool(
    name="buildkit",
    module="github.com/moby/buildkit",
    version=versions.BUILDKIT_VERSION,
    packages=("cmd/buildkitd", "cmd/buildctl"),
    version_var="version.Version",
    module_files=(("examples/buildctl-daemonless/buildctl-daemonless.sh", "buildctl-daemonless.sh"),),
)
BUILDX = GoTool(
    name="buildx",
    module="github.com/docker/buildx",
    version=versions.BUILDX_VERSION,
    packages=("cmd/buildx",),
    version_var="version.Version",
)
TOOLS: tuple[GoTool, ...] = (KANIKO, BUILDKIT, BUILDX)


@dataclass(frozen=True)
class BuiltTool:
    tool: GoTool
    directory: Path
    reused: bool
    seconds: float

    def path(self, name: str) -> Path:
        return self.directory / name


def go_binary() -> str | None:
    """``go`` on PATH, else the official tarball's place."""
    found = shutil.which("go")
    if found:
        return found
    fallback = Path("/usr/local/go/bin/go")
    return str(fallback) if fallback.is_file() else None


def go_version(go: str) -> str:
    proc = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    ver = proc.stdout.strip()
    if proc.returncode != 0 or not ver.startswith("go"):
        raise BuildrigError(f"{go} does not work ({proc.stderr.strip()[:200] or 'no version'})")
    return ver


def find_go() -> tuple[str, str]:
    """(the go binary, its version) fit to build the tools; a one-line BuildrigError if none is."""
    go = go_binary()
    if go is None:
        raise BuildrigError(
            "Go is not installed: kaniko, BuildKit and buildx are built from their Go modules; "
            f"install Go {MIN_GO[0]}.{MIN_GO[1]} or newer (https://go.dev/doc/install, at "
            "/usr/local/go) and run `buildrig images prepare --offline` again")
    ver = go_version(go)
    m = re.match(r"go(\d+)\.(\d+)", ver)
    if not m or (int(m.group(1)), int(m.group(2))) < MIN_GO:
        raise BuildrigError(
            f"{go} is {ver}; kaniko, BuildKit and buildx need Go {MIN_GO[0]}.{MIN_GO[1]} or newer "
            "to build (https://go.dev/doc/install)")
    return go, ver


def missing_go_reason() -> str | None:
    """Why the Go tools cannot be built here (one line), or None when they can."""
    try:
        find_go()
    except BuildrigError as exc:
        return str(exc)
    return None


def go_root() -> Path:
    return state_dir() / "go"


def _env(go: str) -> dict[str, str]:
    root = go_root()
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(root / "mod"),
        GOCACHE=str(root / "cache"),
        # Static binaries: kaniko unpacks base images over / and must not depend on their libc.
        CGO_ENABLED="0",
        GOFLAGS="-mod=mod",
        GOWORK="off",
        PATH=f"{Path(go).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
    with log.open("ab") as fh:
        fh.write(f"$ {' '.join(cmd)}\n".encode())
        fh.flush()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise BuildrigError(f"`{' '.join(cmd[:3])} ...` failed (exit {proc.returncode}; log {log}): "
                            + " | ".join(tail))


def build(tool: GoTool, progress: Progress, go: tuple[str, str] | None = None) -> BuiltTool:
    """Build ``tool`` unless an output of the same recipe exists; raise with the log's tail if not.

    ``go`` is :func:`find_go`'s answer when the caller already has it (one lookup for all tools).
    """
    go_bin, go_ver = go or find_go()
    start = time.monotonic()
    key = tool.key(go_ver)
    root = go_root()
    out = root / "out" / f"{tool.name}-{tool.version}-{key}"
    stamp = out / ".complete"
    if stamp.is_file():
        return BuiltTool(tool, out, True, time.monotonic() - start)
    (root / "out").mkdir(parents=True, exist_ok=True)
    log = root / f"{tool.name}-build.log"
    log.write_bytes(b"")
    env = _env(go_bin)
    progress(f"{tool.name}: building {tool.module}@{tool.version} with {go_ver} (log {log})")
    with tempfile.TemporaryDirectory(dir=root, prefix=f"{tool.name}-wrapper-") as tmp:
        wrapper = Path(tmp)
        staging = wrapper / "out"
        _run([go_bin, "mod", "init", f"local/buildrig-{tool.name}-standin"], wrapper, env, log)
        _run([go_bin, "get", f"{tool.module}@{tool.version}"], wrapper, env, log)
        ldflags = f"-s -w -X {tool.module}/{tool.version_var}={tool.version}"
        _run([go_bin, "build", "-trimpath", "-ldflags", ldflags, "-o", f"{staging}/",
              *(f"{tool.module}/{p}" for p in tool.packages)], wrapper, env, log)
        if tool.module_files:
            moddir = subprocess.run([go_bin, "list", "-m", "-f", "{{.Dir}}", tool.module], cwd=wrapper,
                                    env=env, capture_output=True, text=True, check=False).stdout.strip()
            for src, name in tool.module_files:
                try:
                    data = (Path(moddir) / src).read_bytes()
                except OSError as exc:
                    raise BuildrigError(f"{tool.module}@{tool.version} has no {src}: {exc.strerror}") from exc
                # Module-cache files are read-only and not executable.
                (staging / name).write_bytes(data)
                (staging / name).chmod(0o755)
        (staging / ".complete").write_text(f"{tool.module}@{tool.version}\n")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    secs = time.monotonic() - start
    progress(f"{tool.name}: built {tool.module}@{tool.version} in {secs:.0f} s")
    return BuiltTool(tool, out, False, secs)
