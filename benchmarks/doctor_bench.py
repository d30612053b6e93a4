"""Benchmark: ``buildrig doctor`` over 1,000 jobs and 50 runners, whole process (target <= 1 s).

Generates a pipeline of 1,000 jobs (every way, with extends, !reference and variables) and a
config.toml of 50 runners into a temp dir, runs ``python -m buildrig doctor DIR`` five times
and prints the median wall time. Usage: ``python benchmarks/doctor_bench.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 1.0

_JOBS = (
    # (image, services, variables, script)
    ("docker:29.7.2-cli", ["docker:29.7.2-dind"], {"DOCKER_TLS_CERTDIR": "/certs"}, "docker build -t x ."),
    (
        "docker:29.7.2-cli",
        [],
        {"DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_TLS_VERIFY": "1"},
        "docker build .",
    ),
    ("docker:29.7.2-cli", [], {}, "docker build -t x ."),
    ("docker:24.0.5-cli", ["docker:dind"], {"DOCKER_HOST": "tcp://docker:2375"}, "docker build ."),
    ("quay.io/buildah/stable:v1.41.5", [], {"STORAGE_DRIVER": "vfs"}, "buildah build -t x ."),
    ("python:3.12", [], {"PIP_CACHE_DIR": ".pip"}, "pytest -q"),
)


def pipeline(n: int) -> str:
    out = [
        "stages: [build, test, deploy]",
        "variables:",
        '  GLOBAL: "1"',
        "",
        ".base:",
        "  retry: 1",
        "  before_script:",
        "    - echo start",
        "",
    ]
    for i in range(n):
        image, services, variables, script = _JOBS[i % len(_JOBS)]
        out += [f"job-{i}:", "  extends: .base", "  stage: build", f"  image: {image}"]
        if services:
            out.append("  services:")
            out += [f"    - {s}" for s in services]
        if variables:
            out.append("  variables:")
            out += [f'    {k}: "{v}"' for k, v in variables.items()]
        out += [
            f"  tags: [group-{i % 10}]",
            "  script:",
            "    - !reference [.base, before_script]",
            f"    - {script}",
            "",
        ]
    return "\n".join(out)


def runners(n: int) -> str:
    out = ["concurrent = 50", ""]
    for i in range(n):
        executor = ("docker", "kubernetes", "shell")[i % 3]
        out += [
            "[[runners]]",
            f'  name = "runner-{i}"',
            '  url = "https://gitlab.example.com/"',
            f'  executor = "{executor}"',
            f'  tags = ["group-{i % 10}", "linux"]',
            '  environment = ["FOO=bar"]',
        ]
        if executor == "docker":
            out += [
                "  [runners.docker]",
                '    image = "docker:29.7.2-cli"',
                f"    privileged = {'true' if i % 2 else 'false'}",
                '    volumes = ["/certs/client", "/cache"]',
            ]
        elif executor == "kubernetes":
            out += ["  [runners.kubernetes]", "    privileged = true"]
        out.append("")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--runners", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="buildrig-doctor-bench-") as tmp:
        d = Path(tmp)
        (d / ".gitlab-ci.yml").write_text(pipeline(args.jobs))
        (d / "config.toml").write_text(runners(args.runners))
        cmd = [
            sys.executable,
            "-m",
            "buildrig",
            "doctor",
            str(d),
            "--format",
            "json",
            "--output",
            str(d / "r.json"),
        ]
        # An installed buildrig runs from compiled bytecode; this environment sets
        # PYTHONDONTWRITEBYTECODE, which would make every run recompile ~100 modules. One untimed
        # warm-up run with bytecode writing allowed puts the interpreter in the usual state.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run(cmd, capture_output=True, check=False, env=env)
        times = []
        cpu = []
        floor = []
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
            times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "buildrig", "--version"], capture_output=True, check=False, env=env
            )
            floor.append(time.perf_counter() - start)
            if proc.returncode not in (0, 1):
                print(proc.stderr, file=sys.stderr)
                return 2
        import json

        findings = len(json.loads((d / "r.json").read_text())["findings"])
    median = statistics.median(times)
    print(
        f"buildrig doctor, {args.jobs} jobs x {args.runners} runners, whole process: median {median:.3f} s "
        f"of {args.runs} (min {min(times):.3f} s, max {max(times):.3f} s); {findings} findings; "
        f"target <= {TARGET_S:.1f} s: {'met' if median <= TARGET_S else 'NOT met'}"
    )
    # On a shared machine wall time includes waiting for a CPU; CPU time and the start-up floor
    # (`buildrig --version`: interpreter + CLI imports) say where the time goes.
    print(
        f"  CPU time (user+sys) median {statistics.median(cpu):.3f} s; start-up floor "
        f"(buildrig --version) median {statistics.median(floor):.3f} s; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
