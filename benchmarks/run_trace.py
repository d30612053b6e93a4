"""Trace: where the time of ``buildrig run`` on run_bench's trivial job goes, phase by phase.

Each round is a fresh interpreter running the CLI's ``main`` the way the console script does,
with the imports done one group at a time in front of it (so each group's cost is its own), and
every Engine API call timed at the SDK's HTTP layer. Prints the median CPU and wall time of each
phase and the median wall time of each API call. Compare the calls with
``docker run --rm`` (run_bench.py): that floor is create + attach + start + wait + auto-remove.

    .venv/bin/python benchmarks/run_trace.py [-n 9]
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import IMAGE, JOB, build_image, compile_bytecode

# One round, in a fresh interpreter: argv[1] is the project.
ROUND = r"""
import time
c0, w0 = time.process_time(), time.perf_counter()
marks = []
def mark(name):
    marks.append((name, time.process_time(), time.perf_counter()))
import gc
gc.set_threshold(100_000, *gc.get_threshold()[1:])  # as buildrig.cli.entry does
import typer; mark("import typer")
import rich.console; mark("import rich.console")
from buildrig.cli import load_commands, main
load_commands("run"); mark("import buildrig.cli + run_cmd")
import docker; mark("import docker SDK (requests, urllib3)")
import buildrig.gitlab.ci, buildrig.gitlab.variables_file, buildrig.run.api, buildrig.run.docker_executor
mark("import buildrig.run, gitlab, ruamel")
import contextlib, functools, io, json, sys
import docker.api.client as dc
import buildrig.run.api as api
calls = []
def timed(verb, fn):
    @functools.wraps(fn)
    def call(self, url, *args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(self, url, *args, **kwargs)
        finally:
            path = str(url).split("?")[0].split("/", 4)[-1]
            parts = path.split("/")
            if parts[0] == "containers" and len(parts) > 1 and parts[1] != "create":
                parts[1] = "ID"
            calls.append((f"{verb} /{'/'.join(parts)}", time.perf_counter() - t))
    return call
for verb in ("get", "post", "put", "delete"):
    setattr(dc.APIClient, f"_{verb}", timed(verb.upper(), getattr(dc.APIClient, f"_{verb}")))
prepare = api._prepare
def traced_prepare(opts):
    run = prepare(opts)
    mark("prepare (pipeline, git, variables)")
    return run
api._prepare = traced_prepare
with contextlib.redirect_stderr(io.StringIO()):
    code = main(["run", sys.argv[1], "--job", "%(job)s", "-q", "--no-testbed"])
mark("the job: engine calls, log, clean-up, summary")
print(json.dumps({"code": code, "marks": marks, "c0": c0, "w0": w0, "calls": calls}))
"""


def one_round(proj: Path) -> Any:
    proc = subprocess.run(
        [sys.executable, "-c", ROUND % {"job": JOB}, str(proj)], capture_output=True, text=True, check=True
    )
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    if data["code"] != 0:
        raise SystemExit(f"the job failed (exit {data['code']})")
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=9, help="rounds (median)")
    args = ap.parse_args()
    build_image()
    compile_bytecode(sys.executable)
    phases: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    calls: dict[str, list[float]] = collections.defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="buildrig-trace-") as tmp:
        proj = Path(tmp)
        (proj / ".gitlab-ci.yml").write_text(f"{JOB}:\n  image: {IMAGE}\n  script:\n    - echo hello\n")
        for git_args in (
            ["init", "-q", "-b", "main"],
            ["add", "-A"],
            ["-c", "user.name=bench", "-c", "user.email=bench@buildrig.invalid", "commit", "-q", "-m", "x"],
        ):
            subprocess.run(["git", "-C", tmp, *git_args], capture_output=True, check=False)
        one_round(proj)  # warm-up
        for _ in range(max(1, args.n)):
            data = one_round(proj)
            cpu, wall = data["c0"], data["w0"]
            for name, c, w in data["marks"]:
                phases[name].append((c - cpu, w - wall))
                cpu, wall = c, w
            phases["total (in-process)"].append((cpu - data["c0"], wall - data["w0"]))
            for name, dt in data["calls"]:
                calls[name].append(dt)
    n = max(1, args.n)
    print(f"buildrig run, trivial job, medians of {n} rounds (CPU and wall ms)")
    for name, values in phases.items():
        cpu_ms = statistics.median(v[0] for v in values) * 1000
        wall_ms = statistics.median(v[1] for v in values) * 1000
        print(f"  {name:<46} cpu {cpu_ms:7.1f}  wall {wall_ms:7.1f}")
    print("engine API calls (wall ms, median; count per run):")
    for name, values in calls.items():
        print(f"  {name:<46} {statistics.median(values) * 1000:7.1f}  x{len(values) // n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
