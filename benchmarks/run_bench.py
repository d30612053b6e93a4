"""Benchmark: a trivial ``echo`` job in docker mode, whole process, median of N runs.

Prints, from one run of this script on one machine, side by side:
  - ``buildrig run`` as a subprocess (the way a user runs it),
  - a raw ``docker run --rm`` of the same image and command,
  - ``buildrig --version`` (the floor: interpreter + CLI import, no engine work),
  - ``run_jobs()`` from a bare ``python -c`` (the run machinery without the CLI's imports),
  - gitlab-ci-local 4.75 when it is installed and can run here (else the reason it can't),
  - with ``--compare-with PYTHON``, ``buildrig run`` of another install (e.g. a checkout of the
    commit before a change) in the same interleaved rounds: before/after under the same load.
Each figure is the median wall time, with the median CPU time of the process tree beside it (for
``docker run`` only the client's: the engine's work is not counted). CPU time barely moves with the
load of a shared machine; wall time does.
Target (issues 3, 11): buildrig ≤ 2× raw docker run and ≤ 0.5× gitlab-ci-local.

buildrig's modules are byte-compiled first, as ``pip install`` does for an installed package: with
PYTHONDONTWRITEBYTECODE set (some CI and sandbox machines set it), an editable install would
otherwise recompile every module on every start, a cost no installed copy pays.

    .venv/bin/python benchmarks/run_bench.py [-n 7] [--install-gitlab-ci-local] [--compare-with PY]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
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
# The same job through the API in a bare interpreter: what the run machinery costs without the
# CLI's imports (typer, rich and every command module).
API_SNIPPET = (
    "import sys; from pathlib import Path; from buildrig.run import RunOptions, run_jobs; "
    "r = run_jobs(RunOptions(project_dir=Path(sys.argv[1]), "
    "keep_lines=False)); sys.exit(r.exit_code)"
)


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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall time, CPU time of the process and its children (once they exited), the result."""
    cpu, t = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - t, _children_cpu() - cpu, proc


def compile_bytecode(python: str) -> None:
    """Byte-compile the buildrig package ``python`` imports, as pip does when it installs one."""
    code = (
        "import buildrig, compileall, pathlib; "
        "compileall.compile_dir(pathlib.Path(buildrig.__file__).parent, quiet=1)"
    )
    subprocess.run([python, "-c", code], capture_output=True, check=True)


def measure_all(cmds: dict[str, list[str]], n: int) -> tuple[dict[str, float | str], dict[str, float]]:
    """Median wall time of each command over n rounds, after one warm-up each, and its median CPU
    time.

    Rounds interleave the commands so that every tool sees the same machine load (the figures are
    compared with each other, and a shared machine's load drifts). A string says why a command
    could not be measured.
    """
    out: dict[str, float | str] = {}
    live: list[str] = []
    for name, cmd in cmds.items():
        _, _, proc = timed(cmd)
        if proc.returncode != 0:
            why = (proc.stderr or proc.stdout).strip().splitlines()
            out[name] = f"fails: {why[-1][:160] if why else f'exit {proc.returncode}'}"
        else:
            live.append(name)
    times: dict[str, list[float]] = {name: [] for name in live}
    cpus: dict[str, list[float]] = {name: [] for name in live}
    for _ in range(n):
        for name in list(live):
            dt, cpu, proc = timed(cmds[name])
            if proc.returncode != 0:
                out[name] = f"failed on a repeat: exit {proc.returncode}"
                live.remove(name)
                continue
            times[name].append(dt)
            cpus[name].append(cpu)
    for name in live:
        out[name] = statistics.median(times[name])
    return out, {name: statistics.median(cpus[name]) for name in live}


# gitlab-ci-local runs its file-copy steps in this helper image; it is only pulled when absent, so
# a local tag of the busybox test image stands in for it (removed again at the end).
GCL_HELPER_IMAGE = "docker.io/firecow/gitlab-ci-local-util:latest"


def _npm(prefix: Path, *args: str) -> None:
    subprocess.run(
        ["npm", "--prefix", str(prefix), *args, "--no-audit", "--no-fund"], capture_output=True, check=False
    )


def find_gitlab_ci_local(prefix: Path, install: bool) -> tuple[list[str] | None, str]:
    """gitlab-ci-local with the Node 22 it needs (npm's ``node`` package), installed under ``prefix``."""
    bin_dir = prefix / "node_modules" / ".bin"
    exe = bin_dir / "gitlab-ci-local"
    if install and not (exe.exists() and (bin_dir / "node").exists()):
        if not shutil.which("npm"):
            return None, "npm not found"
        _npm(prefix, "install", "node@22", f"gitlab-ci-local@{GCL_VERSION}")
        # npm 11 holds back install scripts until approved; node@22 fetches its binary in one.
        _npm(prefix, "install-scripts", "approve", "node")
        _npm(prefix, "rebuild", "node")
    if not exe.exists():
        hint = f"npm i node@22 gitlab-ci-local@{GCL_VERSION}"
        return None, f"not installed (run with --install-gitlab-ci-local: {hint})"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False, env=env
        ).stdout.strip()
        last = (proc.stderr or proc.stdout).strip().splitlines()
        return None, (
            f"cannot run on node {node or '?'} (it needs Node 22): "
            f"{last[-1][:120] if last else 'exit ' + str(proc.returncode)}"
        )
    if not shutil.which("rsync"):
        return None, "needs rsync (apt-get install rsync)"
    return ["env", f"PATH={env['PATH']}", str(exe)], proc.stdout.strip()  # run with env -C PROJECT


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=7, help="runs per tool (median; ≥ 5)")
    ap.add_argument(
        "--install-gitlab-ci-local",
        action="store_true",
        help=f"npm-install gitlab-ci-local@{GCL_VERSION} into buildrig's state dir if missing",
    )
    ap.add_argument(
        "--compare-with",
        metavar="PYTHON",
        help="also time `buildrig run` of the install this interpreter imports (another venv's python)",
    )
    args = ap.parse_args()
    n = max(5, args.n)
    build_image()
    buildrig = shutil.which("buildrig", path=str(Path(sys.executable).parent)) or "buildrig"
    compile_bytecode(sys.executable)
    other: str | None = None
    if args.compare_with:
        compile_bytecode(args.compare_with)
        other = shutil.which("buildrig", path=str(Path(args.compare_with).parent))
        if other is None:
            ap.error(f"no buildrig script beside {args.compare_with}")
    docker_cli = shutil.which("docker") or "docker"
    with tempfile.TemporaryDirectory(prefix="buildrig-bench-") as tmp:
        proj = Path(tmp)
        (proj / ".gitlab-ci.yml").write_text(f"{JOB}:\n  image: {IMAGE}\n  script:\n    - echo hello\n")
        # gitlab-ci-local wants a git checkout with a remote (it derives CI_PROJECT_* from it).
        for git_args in (
            ["init", "-q", "-b", "main"],
            ["remote", "add", "origin", "https://gitlab.example.com/bench/echo.git"],
            ["add", "-A"],
            ["-c", "user.name=bench", "-c", "user.email=bench@buildrig.invalid", "commit", "-q", "-m", "x"],
        ):
            subprocess.run(["git", "-C", str(proj), *git_args], capture_output=True, check=False)
        from buildrig.paths import state_dir

        cmds = {
            "docker run --rm (raw)": [docker_cli, "run", "--rm", IMAGE, "echo", "hello"],
            "buildrig run (whole process)": [buildrig, "run", str(proj), "--job", JOB, "-q", "--no-testbed"],
            "buildrig --version (import floor)": [buildrig, "--version"],
            "run_jobs() via python -c (no CLI)": [sys.executable, "-c", API_SNIPPET, str(proj)],
        }
        if other is not None:
            run_args = ["run", str(proj), "--job", JOB, "-q", "--no-testbed"]
            cmds[f"buildrig run of {args.compare_with}"] = [other, *run_args]
        gcl, info = find_gitlab_ci_local(
            state_dir() / "bench" / "gitlab-ci-local", args.install_gitlab_ci_local
        )
        gcl_name = f"gitlab-ci-local {info if gcl else GCL_VERSION}"
        if gcl is not None:
            # It takes only a relative --cwd: start it in the project instead.
            cmds[gcl_name] = [gcl[0], "-C", str(proj), *gcl[1:], JOB]
        tagged_helper = False
        if gcl is not None:
            probe = subprocess.run([docker_cli, "image", "inspect", GCL_HELPER_IMAGE], capture_output=True)
            if probe.returncode != 0:
                subprocess.run([docker_cli, "tag", IMAGE, GCL_HELPER_IMAGE], capture_output=True, check=True)
                tagged_helper = True
        try:
            measured, cpu = measure_all(cmds, n)
        finally:
            if tagged_helper:
                subprocess.run([docker_cli, "rmi", GCL_HELPER_IMAGE], capture_output=True, check=False)
        if gcl is None:
            measured[gcl_name] = info
        results = list(measured.items())
    print(f"trivial echo job, docker mode, median of {n} interleaved rounds (after 1 warm-up each), "
          "wall and CPU time, buildrig byte-compiled")
    width = max(len(name) for name, _ in results)
    for name, value in results:
        shown = f"{value:6.3f} s   cpu {cpu[name]:6.3f} s" if isinstance(value, float) else value
        print(f"  {name:<{width}}  {shown}")
    raw = measured["docker run --rm (raw)"]
    ours = measured["buildrig run (whole process)"]
    if isinstance(raw, float) and isinstance(ours, float):
        print(f"  buildrig / raw docker run = {ours / raw:.2f}x (target <= 2x)")
        for name, value in measured.items():
            if name.startswith("buildrig run of ") and isinstance(value, float):
                print(f"  {name} / raw docker run = {value / raw:.2f}x")
    gcl_value = measured[gcl_name]
    if isinstance(gcl_value, float) and isinstance(ours, float):
        print(f"  buildrig / gitlab-ci-local = {ours / gcl_value:.2f}x (target <= 0.5x)")
    load = os.getloadavg()[0]
    print(f"  load average (1 min) at the end: {load:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
