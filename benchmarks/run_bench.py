"""Benchmark: a trivial ``echo`` job in docker mode, whole process, median of N runs.

Prints, from one run of this script on one machine, side by side:
  - ``buildrig run`` as a subprocess (the way a user runs it),
  - a raw ``docker run --rm`` of the same image and command,
  - ``buildrig --version`` (the floor: interpreter + CLI import, no engine work),
  - gitlab-ci-local 4.75 when it is installed and can run here (else the reason it can't).
Target (issue 3): buildrig ≤ 2× raw docker run and ≤ 0.5× gitlab-ci-local.

    .venv/bin/python benchmarks/run_bench.py [-n 7] [--install-gitlab-ci-local]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

IMAGE = "buildrig-bench/echo:1"
JOB = "echo-job"
GCL_VERSION = "4.75"


def build_image() -> None:
    """A busybox-static image (no registry needed), via the Docker SDK."""
    import docker

    api = docker.from_env().api
    try:
        api.inspect_image(IMAGE)
        return
    except docker.errors.ImageNotFound:
        pass
    busybox = shutil.which("busybox") or "/bin/busybox"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        data = Path(busybox).read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in ("sh", "echo", "cat", "printf", "test", "["):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    repo, tag = IMAGE.split(":")
    api.import_image_from_data(
        buf.getvalue(), repository=repo, tag=tag, changes=["ENV PATH=/bin", 'CMD ["sh"]']
    )


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - t, proc


def measure(name: str, cmd: list[str], n: int, cwd: Path | None = None) -> float | str:
    """Median wall time over n runs after one warm-up; a string says why it could not be measured."""
    _, proc = timed(cmd, cwd)
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip().splitlines()
        return f"fails: {why[-1][:160] if why else f'exit {proc.returncode}'}"
    times = []
    for _ in range(n):
        dt, proc = timed(cmd, cwd)
        if proc.returncode != 0:
            return f"failed on a repeat: exit {proc.returncode}"
        times.append(dt)
    return statistics.median(times)


def find_gitlab_ci_local(prefix: Path, install: bool) -> tuple[list[str] | None, str]:
    exe = shutil.which("gitlab-ci-local") or str(prefix / "node_modules" / ".bin" / "gitlab-ci-local")
    if not Path(exe).exists() and install:
        if not shutil.which("npm"):
            return None, "npm not found"
        subprocess.run(
            [
                "npm",
                "i",
                "--prefix",
                str(prefix),
                f"gitlab-ci-local@{GCL_VERSION}",
                "--no-audit",
                "--no-fund",
            ],
            capture_output=True,
            check=False,
        )
    if not Path(exe).exists():
        return (
            None,
            f"not installed (run with --install-gitlab-ci-local, or npm i -g gitlab-ci-local@{GCL_VERSION})",
        )
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        last = (proc.stderr or proc.stdout).strip().splitlines()
        return None, (
            f"cannot run on node {node or '?'} (it needs Node 22): "
            f"{last[-1][:120] if last else 'exit ' + str(proc.returncode)}"
        )
    return [exe], proc.stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=7, help="runs per tool (median; ≥ 5)")
    ap.add_argument(
        "--install-gitlab-ci-local",
        action="store_true",
        help=f"npm-install gitlab-ci-local@{GCL_VERSION} into buildrig's state dir if missing",
    )
    args = ap.parse_args()
    n = max(5, args.n)
    build_image()
    buildrig = shutil.which("buildrig", path=str(Path(sys.executable).parent)) or "buildrig"
    docker_cli = shutil.which("docker") or "docker"
    with tempfile.TemporaryDirectory(prefix="buildrig-bench-") as tmp:
        proj = Path(tmp)
        (proj / ".gitlab-ci.yml").write_text(f"{JOB}:\n  image: {IMAGE}\n  script:\n    - echo hello\n")
        results: list[tuple[str, float | str]] = []
        results.append(
            (
                "docker run --rm (raw)",
                measure("docker", [docker_cli, "run", "--rm", IMAGE, "echo", "hello"], n),
            )
        )
        results.append(
            (
                "buildrig run (whole process)",
                measure("buildrig", [buildrig, "run", str(proj), "--job", JOB, "-q", "--no-testbed"], n),
            )
        )
        results.append(("buildrig --version (import floor)", measure("version", [buildrig, "--version"], n)))
        from buildrig.paths import state_dir

        gcl, info = find_gitlab_ci_local(
            state_dir() / "bench" / "gitlab-ci-local", args.install_gitlab_ci_local
        )
        if gcl is None:
            results.append((f"gitlab-ci-local {GCL_VERSION}", info))
        else:
            results.append((f"gitlab-ci-local {info}", measure("gcl", [*gcl, "--cwd", str(proj), JOB], n)))
    print(f"trivial echo job, docker mode, median of {n} (after 1 warm-up), {os.cpu_count()} CPUs")
    width = max(len(name) for name, _ in results)
    for name, value in results:
        shown = f"{value:6.3f} s" if isinstance(value, float) else value
        print(f"  {name:<{width}}  {shown}")
    raw = results[0][1]
    ours = results[1][1]
    if isinstance(raw, float) and isinstance(ours, float):
        print(f"  buildrig / raw docker run = {ours / raw:.2f}x (target <= 2x)")
    gcl_value = results[3][1]
    if isinstance(gcl_value, float) and isinstance(ours, float):
        print(f"  buildrig / gitlab-ci-local = {ours / gcl_value:.2f}x (target <= 0.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
