"""Hostile and careless inputs against ``buildrig doctor``, ``run --list`` and ``init`` (issue 14).

Each case writes its files into a fresh temp dir (the project is ``DIR/proj``; ``DIR/outside``
stands for the rest of the host and holds decoy secrets), runs the CLI as a whole process with a
timeout and a memory cap, and sorts the outcome into one column:

- clean: exit 0/1/2 with no traceback (a finding, a success, or one clear error line)
- traceback: a Python traceback on stderr (MemoryError and RecursionError included)
- hang: still running at the timeout (killed)
- crash: killed by a signal (a segfault in the C YAML parser)
- secret: a decoy secret (runner token, host file line) appears in stdout, stderr or the report
- bad output: the report is not what its format requires (SARIF URIs that are not RFC 3986)

Usage: ``python benchmarks/hostile_inputs.py [--timeout S] [-k SUBSTRING] [-v]``. Touches no
Docker Engine: ``run --list`` only parses the pipeline, ``init`` only writes into the temp dir.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SECRET_TOKEN = "glrt-SECRETtoken0123456789"
HOST_SECRET = "root:$6$HOSTSECRETHASH"
MEM_LIMIT = 2 * 1024**3


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    files: dict[str, str | bytes]
    argv: tuple[str, ...]
    secrets: tuple[str, ...] = ()
    output: str | None = None  # report file (relative to DIR) to check for secrets / validity
    setup: Callable[[Path], None] | None = None
    check: Callable[[Path], str | None] | None = None


@dataclass
class Tally:
    tried: int = 0
    clean: int = 0
    tracebacks: int = 0
    hangs: int = 0
    crashes: int = 0
    secrets: int = 0
    bad_output: int = 0
    notes: list[str] = field(default_factory=list)


def doctor(*extra: str) -> tuple[str, ...]:
    return ("doctor", "proj", *extra)


def run_list(*extra: str) -> tuple[str, ...]:
    return ("run", "proj", "--list", *extra)


def ci(text: str | bytes) -> dict[str, str | bytes]:
    return {"proj/.gitlab-ci.yml": text}


JOB = "build:\n  image: docker:29.7.2-cli\n  script: [docker build .]\n"


def _fifo(rel: str) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        os.mkfifo(d / rel)

    return make


def _symlink(rel: str, target: str) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target if target.startswith("/") else d / target, d / rel)

    return make


def _sarif_uris_ok(d: Path) -> str | None:
    try:
        doc = json.loads((d / "report.sarif").read_text())
    except (OSError, ValueError) as exc:
        return f"no SARIF: {exc}"
    for run in doc["runs"]:
        for res in run["results"]:
            for loc in res.get("locations", []):
                uri = loc["physicalLocation"]["artifactLocation"]["uri"]
                if not re.fullmatch(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*", uri) or re.search(
                    r"%(?![0-9A-Fa-f]{2})", uri
                ):
                    return f"SARIF uri not RFC 3986: {uri!r}"
    return None


def _alias_bomb(levels: int, width: int) -> str:
    lines = ["a0: &a0 [x]"]
    for i in range(1, levels + 1):
        refs = ", ".join(f"*a{i - 1}" for _ in range(width))
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + f"\nbuild:\n  script: [echo]\n  variables: {{X: *a{levels}}}\n"


def _include_twice_chain(n: int) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {"proj/.gitlab-ci.yml": "include: [inc0.yml, inc0.yml]\n" + JOB}
    for i in range(n):
        nxt = f"inc{i + 1}.yml"
        body = f"include: [{nxt}, {nxt}]\n" if i + 1 < n else ""
        files[f"proj/inc{i}.yml"] = body + f".t{i}: {{script: [echo]}}\n"
    return files


def _reference_fanout(levels: int, width: int) -> str:
    lines = [".r0: {s: [echo]}"]
    for i in range(1, levels + 1):
        refs = ", ".join(f"!reference [.r{i - 1}, s]" for _ in range(width))
        lines.append(f".r{i}: {{s: [{refs}]}}")
    return "\n".join(lines) + f"\nbuild:\n  script: [!reference [.r{levels}, s]]\n"


def _deep_block(depth: int) -> str:
    out = ["build:", "  script: [echo]", "  variables:"]
    for i in range(depth):
        out.append("  " * (i + 2) + f"k{i}:")
    return "\n".join(out) + " x\n"


RUNNER = '[[runners]]\n  name = "r"\n  url = "https://gitlab.example.com"\n  executor = "docker"\n'


def cases() -> list[Case]:
    out: list[Case] = []
    deep_flow = "build:\n  script: " + "[" * 30000 + "]" * 30000 + "\n"
    deep_map = "build:\n  script: " + "{a: " * 30000 + "1" + "}" * 30000 + "\n"
    for label, text in (("flow [ x30000", deep_flow), ("flow { x30000", deep_map)):
        out.append(Case(f"nesting: {label} (doctor)", "nesting", ci(text), doctor()))
        out.append(Case(f"nesting: {label} (run --list)", "nesting", ci(text), run_list()))
    out.append(Case("nesting: block depth 5000 (doctor)", "nesting", ci(_deep_block(5000)), doctor()))
    out.append(Case("nesting: block depth 5000 (run --list)", "nesting", ci(_deep_block(5000)), run_list()))
    out.append(
        Case(
            "nesting: block seq depth 3000",
            "nesting",
            ci("build:\n  script:\n" + "".join("  " * (i + 2) + "-\n" for i in range(3000)) + "    x\n"),
            doctor(),
        )
    )
    out.append(
        Case(
            "nesting: daemon.json [ x100000",
            "nesting",
            {"proj/daemon.json": "[" * 100000 + "]" * 100000},
            doctor(),
        )
    )
    out.append(
        Case(
            'nesting: daemon.json {"a": x50000',
            "nesting",
            {"proj/daemon.json": '{"a":' * 50000 + "1" + "}" * 50000},
            doctor(),
        )
    )
    out.append(
        Case(
            "nesting: config.toml inline tables x5000",
            "nesting",
            {"proj/config.toml": RUNNER + "  x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n"},
            doctor(),
        )
    )
    out.append(
        Case(
            "nesting: config.toml arrays x50000",
            "nesting",
            {"proj/config.toml": RUNNER + "  x = " + "[" * 50000 + "]" * 50000 + "\n"},
            doctor(),
        )
    )

    # unbounded growth
    out.append(Case("growth: 440-byte alias bomb (9^8)", "growth", ci(_alias_bomb(8, 9)), doctor()))
    out.append(Case("growth: alias bomb (run --list)", "growth", ci(_alias_bomb(8, 9)), run_list()))
    out.append(
        Case(
            "growth: alias bomb 2^40 in script",
            "growth",
            ci(_alias_bomb(40, 2).replace("variables: {X:", "after_script: [").replace("}\n", "]\n")),
            doctor(),
        )
    )
    out.append(Case("growth: !reference fan-out 10x10", "growth", ci(_reference_fanout(9, 10)), doctor()))
    out.append(Case("growth: includes twice, chain of 25", "growth", _include_twice_chain(25), doctor()))
    out.append(Case("growth: includes twice (run --list)", "growth", _include_twice_chain(25), run_list()))
    many = {f"proj/i{i}.yml": f".t{i}: {{script: [echo]}}\n" for i in range(400)}
    many["proj/.gitlab-ci.yml"] = "include:\n" + "".join(f"  - i{i}.yml\n" for i in range(400)) + JOB
    out.append(Case("growth: 400 distinct includes", "growth", many, doctor()))
    out.append(
        Case(
            "growth: include glob matching 400",
            "growth",
            {
                **{k: v for k, v in many.items() if k != "proj/.gitlab-ci.yml"},
                "proj/.gitlab-ci.yml": "include: 'i*.yml'\n" + JOB,
            },
            doctor(),
        )
    )
    out.append(
        Case(
            "growth: include cycle a->b->a",
            "growth",
            {
                "proj/.gitlab-ci.yml": "include: a.yml\n" + JOB,
                "proj/a.yml": "include: b.yml\n",
                "proj/b.yml": "include: a.yml\n",
            },
            doctor(),
        )
    )

    big_base = ".base:\n  script:\n" + "".join(f"    - echo {i}\n" for i in range(10000))
    out.append(
        Case(
            "growth: 300 jobs extend a 10,000-line base",
            "growth",
            ci(big_base + "".join(f"j{i}: {{extends: .base}}\n" for i in range(300))),
            doctor(),
        )
    )
    out.append(
        Case(
            "growth: default: 10,000-line before_script x 300 jobs",
            "growth",
            ci(
                big_base.replace(".base:\n  script:", "default:\n  before_script:")
                + "".join(f"j{i}: {{script: [echo]}}\n" for i in range(300))
            ),
            doctor(),
        )
    )
    out.append(
        Case("growth: !reference cycle", "growth", ci(".a: {s: [!reference [.a, s]]}\n" + JOB), doctor())
    )
    out.append(
        Case(
            "growth: extends cycle",
            "growth",
            ci(".a: {extends: .b}\n.b: {extends: .a}\nj: {extends: .a}\n"),
            doctor(),
        )
    )
    out.append(Case("growth: recursive anchor", "growth", ci("a: &x [1, *x]\n" + JOB), doctor()))

    # files named by the user or by a config file
    for key in ("tlscert", "tlscacert", "tlskey"):
        out.append(
            Case(
                f"paths: daemon.json {key}=/dev/zero",
                "paths",
                {"proj/daemon.json": json.dumps({"tls": True, key: "/dev/zero"})},
                doctor(),
            )
        )
    out.append(
        Case(
            "paths: daemon.json tlscert=FIFO",
            "paths",
            {"proj/daemon.json": json.dumps({"tlscert": "../outside/fifo"})},
            doctor(),
            setup=_fifo("outside/fifo"),
        )
    )
    out.append(
        Case(
            "paths: daemon.json tlscert=host secret",
            "paths",
            {
                "proj/daemon.json": json.dumps({"tlscert": "../outside/shadow"}),
                "outside/shadow": HOST_SECRET + ":19000:0:99999:7:::\n",
            },
            doctor("-f", "json"),
            secrets=(HOST_SECRET,),
        )
    )
    out.append(
        Case("paths: --runner-config /dev/zero", "paths", ci(JOB), doctor("--runner-config", "/dev/zero"))
    )
    out.append(Case("paths: --daemon-json /dev/zero", "paths", ci(JOB), doctor("--daemon-json", "/dev/zero")))
    out.append(Case("paths: --ci-file /dev/zero", "paths", {}, doctor("--ci-file", "/dev/zero")))
    out.append(
        Case(
            "paths: --runner-config FIFO",
            "paths",
            ci(JOB),
            doctor("--runner-config", "outside/fifo"),
            setup=_fifo("outside/fifo"),
        )
    )
    out.append(
        Case(
            "paths: --ci-file FIFO",
            "paths",
            {},
            doctor("--ci-file", "outside/fifo"),
            setup=_fifo("outside/fifo"),
        )
    )
    out.append(
        Case(
            "paths: --docker-unit FIFO",
            "paths",
            ci(JOB),
            doctor("--docker-unit", "outside/fifo"),
            setup=_fifo("outside/fifo"),
        )
    )
    out.append(
        Case(
            "paths: config.toml is a FIFO in DIR", "paths", ci(JOB), doctor(), setup=_fifo("proj/config.toml")
        )
    )
    out.append(
        Case(
            "paths: .gitlab-ci.yml is a FIFO (run --list)",
            "paths",
            {},
            run_list(),
            setup=_fifo("proj/.gitlab-ci.yml"),
        )
    )
    out.append(
        Case(
            "paths: include: local is a FIFO",
            "paths",
            ci("include: f.yml\n" + JOB),
            doctor(),
            setup=_fifo("proj/f.yml"),
        )
    )
    out.append(
        Case(
            "paths: include: local is /dev/zero via symlink",
            "paths",
            ci("include: z.yml\n" + JOB),
            doctor(),
            setup=_symlink("proj/z.yml", "/dev/zero"),
        )
    )
    out.append(
        Case(
            "paths: docker.service is /dev/zero via symlink",
            "paths",
            ci(JOB),
            doctor(),
            setup=_symlink("proj/docker.service", "/dev/zero"),
        )
    )
    out.append(
        Case("paths: 64 MiB .gitlab-ci.yml", "paths", ci("x: " + "a" * (64 * 1024 * 1024) + "\n"), doctor())
    )

    out.append(
        Case(
            "paths: 5 MiB config.toml",
            "paths",
            {"proj/.gitlab-ci.yml": JOB, "proj/config.toml": RUNNER + "# " + "x" * (5 << 20) + "\n"},
            doctor(),
        )
    )
    out.append(
        Case("paths: .gitlab-ci.yml is a directory", "paths", {"proj/.gitlab-ci.yml/x": "x"}, doctor())
    )
    out.append(Case("paths: --ci-file is a directory", "paths", {}, doctor("--ci-file", "proj")))
    out.append(
        Case(
            "paths: include: local is a directory",
            "paths",
            {"proj/.gitlab-ci.yml": "include: d\n" + JOB, "proj/d/x": "x"},
            doctor(),
        )
    )
    out.append(Case("paths: binary .gitlab-ci.yml", "paths", ci(bytes(range(256)) * 64), doctor()))
    out.append(
        Case(
            "paths: symlink loop .gitlab-ci.yml",
            "paths",
            {},
            doctor(),
            setup=_symlink("proj/.gitlab-ci.yml", "proj/.gitlab-ci.yml"),
        )
    )
    out.append(
        Case(
            "paths: include symlink loop",
            "paths",
            ci("include: loop.yml\n" + JOB),
            doctor(),
            setup=_symlink("proj/loop.yml", "proj/loop.yml"),
        )
    )

    # secrets in output
    for fmt in ("text", "json", "sarif", "codequality"):
        out.append(
            Case(
                f"secrets: BR002 token typo ({fmt})",
                "secrets",
                {"proj/.gitlab-ci.yml": JOB, "proj/config.toml": RUNNER + f'  tokn = "{SECRET_TOKEN}"\n'},
                doctor("-f", fmt, "-o", "report.out"),
                secrets=(SECRET_TOKEN,),
                output="report.out",
            )
        )
    out.append(
        Case(
            "secrets: BR002 [runners.docker] secret typo",
            "secrets",
            {
                "proj/.gitlab-ci.yml": JOB,
                "proj/config.toml": RUNNER + f'  [runners.docker]\n    imagee = "{SECRET_TOKEN}"\n',
            },
            doctor("-f", "json"),
            secrets=(SECRET_TOKEN,),
        )
    )
    out.append(
        Case(
            "secrets: BR002 kube bearer_tokn",
            "secrets",
            {
                "proj/.gitlab-ci.yml": JOB,
                "proj/config.toml": RUNNER.replace("docker", "kubernetes")
                + f'  [runners.kubernetes]\n    bearer_tokn = "{SECRET_TOKEN}"\n',
            },
            doctor(),
            secrets=(SECRET_TOKEN,),
        )
    )

    # slow input
    out.append(
        Case(
            "slow: config.toml '[' + 3000 spaces",
            "slow",
            {"proj/config.toml": "[" + " " * 3000 + "\n"},
            doctor(),
        )
    )
    out.append(
        Case(
            "slow: config.toml '[[' + 20000 spaces + 'x'",
            "slow",
            {"proj/config.toml": "[[" + " " * 20000 + "x\n"},
            doctor(),
        )
    )
    out.append(
        Case(
            "slow: valid config.toml, array line '[' + 3000 spaces",
            "slow",
            {"proj/config.toml": RUNNER + "  x = [\n[" + " " * 3000 + "\n]]\n"},
            doctor(),
        )
    )
    out.append(
        Case(
            "slow: daemon.json 40000 keys",
            "slow",
            {"proj/daemon.json": json.dumps({f"k{i}": i for i in range(40000)})},
            doctor(),
        )
    )
    out.append(
        Case(
            "slow: config.toml 20000 env items",
            "slow",
            {
                "proj/config.toml": RUNNER
                + "  environment = [\n"
                + "".join(f'    "K{i}=v",\n' for i in range(20000))
                + "  ]\n"
            },
            doctor(),
        )
    )
    out.append(
        Case(
            "slow: run --list parallel: 100000000",
            "slow",
            ci("build:\n  script: [echo]\n  parallel: 100000000\n"),
            run_list(),
        )
    )
    out.append(
        Case(
            "slow: run --list parallel: 201",
            "slow",
            ci("build:\n  script: [echo]\n  parallel: 201\n"),
            run_list(),
        )
    )
    out.append(
        Case(
            "slow: run --list matrix 50x50x50x50",
            "slow",
            ci(
                "build:\n  script: [echo]\n  parallel:\n    matrix:\n      - {"
                + ", ".join(f"V{k}: [" + ", ".join(str(i) for i in range(50)) + "]" for k in range(4))
                + "}\n"
            ),
            run_list(),
        )
    )
    out.append(
        Case(
            "slow: run --list matrix 10 values ^ 9 keys",
            "slow",
            ci(
                "build:\n  script: [echo]\n  parallel:\n    matrix:\n      - {"
                + ", ".join(f"V{k}: [" + ", ".join(str(i) for i in range(10)) + "]" for k in range(9))
                + "}\n"
            ),
            run_list(),
        )
    )

    # tracebacks
    for body in (
        'volumes = "/cache"',
        "volumes = [1, 2]",
        'privileged = "yes"',
        'services = "docker"',
        "services = [1]",
        "services = [{name = 1}]",
        'wait_for_services_timeout = "30"',
        "extra_hosts = {a = 1}",
        "network_mtu = 1.5",
        'devices = [["a"]]',
    ):
        out.append(
            Case(
                f"types: [runners.docker] {body}",
                "types",
                {
                    "proj/.gitlab-ci.yml": JOB,
                    "proj/config.toml": RUNNER + "  [runners.docker]\n    " + body + "\n",
                },
                doctor(),
            )
        )
    for body in (
        'runners = "x"',
        "runners = [1]",
        'concurrent = "4"',
        "[runners]\nname = 1",
        "[[runners]]\nname = 1",
        "[[runners]]\ntags = [1]",
        "[[runners]]\nfeature_flags = 1",
        '[[runners]]\nfeature_flags = {FF_X = "yes"}',
        "[[runners]]\ndocker = 1",
        '[[runners]]\nenvironment = "A=1"',
        "[[runners]]\nenvironment = [1]",
        '[[runners]]\nexecutor = "kubernetes"\n[runners.kubernetes]\nvolumes = 1',
        '[[runners]]\nexecutor = "kubernetes"\n[runners.kubernetes]\nvolumes = {host_path = 1}',
        '[[runners]]\nexecutor = "kubernetes"\n[runners.kubernetes]\nvolumes = {host_path = [{name = 1}]}',
        '[[runners]]\nexecutor = "kubernetes"\n[runners.kubernetes]\npod_annotations = 1',
        '[[runners]]\nexecutor = "kubernetes"\n[runners.kubernetes]\nservices = [{name = "x", alias = 1}]',
        '[[runners]]\nexecutor = "docker"\n[runners.docker]\nhost = 1',
        '[[runners]]\nexecutor = "docker"\n[runners.docker]\nuser = []',
    ):
        out.append(
            Case(
                f"types: {body.splitlines()[-1]}",
                "types",
                {"proj/.gitlab-ci.yml": JOB, "proj/config.toml": body + "\n"},
                doctor(),
            )
        )
    long_name = "a" * 300 + ".yml"
    out.append(
        Case("traceback: 300-char include path", "traceback", ci(f"include: {long_name}\n" + JOB), doctor())
    )
    out.append(
        Case(
            "traceback: 300-char include path (run --list)",
            "traceback",
            ci(f"include: {long_name}\n" + JOB),
            run_list(),
        )
    )
    out.append(
        Case(
            "traceback: 300-char include glob",
            "traceback",
            ci(f"include: '{'b' * 300}*.yml'\n" + JOB),
            doctor(),
        )
    )
    out.append(
        Case(
            "traceback: include path with NUL-ish escape",
            "traceback",
            ci('include: "a\\0b.yml"\n' + JOB),
            doctor(),
        )
    )
    out.append(Case("traceback: !!omap on a scalar", "traceback", ci("build: !!omap x\n"), doctor()))
    out.append(
        Case("traceback: !!omap on a scalar (run --list)", "traceback", ci("build: !!omap x\n"), run_list())
    )
    for tag in (
        "!!set x",
        "!!binary '***'",
        "!!timestamp nope",
        "!!python/object:os.system x",
        "!!pairs x",
        "!!omap [1]",
        "!!int abc",
        "!!float abc",
        "!!bool abc",
        "!!null abc",
    ):
        out.append(
            Case(f"traceback: {tag}", "traceback", ci(f"build:\n  script: [echo]\n  x: {tag}\n"), doctor())
        )
    for text in (
        "? [a]\n: 1\n",
        "build: {script: [echo], parallel: {matrix: 1}}\n",
        "build: {script: [echo], parallel: {matrix: [1, {A: {b: 1}}]}}\n",
        "build: {script: [echo], parallel: -1}\n",
        "build: {script: [echo], parallel: 1.5}\n",
        "build: {script: [echo], parallel: true}\n",
        "build: {script: [echo], parallel: '3'}\n",
        "include: [{local: [a]}]\n",
        "include: {remote: 1}\n",
        "include: [{}]\n",
        "include: 1\n",
        "build: {script: [echo], image: {name: [x]}}\n",
        "build: {script: [echo], services: [{name: x, alias: [1]}]}\n",
        "build: {script: [echo], extends: [1]}\n",
        "build: {script: [echo], tags: {a: 1}}\n",
        "variables: {A: {value: [1]}}\nbuild: {script: [echo]}\n",
        "build: {script: [echo], when: [1]}\n",
        "build: {script: [echo], stage: [a]}\n",
        "stages: [[a]]\nbuild: {script: [echo]}\n",
        "build: {script: {a: 1}}\n",
        "build: {script: [echo], inherit: {default: 1}}\n",
        "default: [1]\nbuild: {script: [echo]}\n",
        "build: {script: [echo], image: {name: x, docker: 1}}\n",
        "\ufeffbuild: {script: [echo]}\n",
        "build:\n\tscript: x\n",
        "%YAML 9.9\n---\na: 1\n",
        "a: &x 1\nb: *y\n",
        "build: {script: [echo], allow_failure: {exit_codes: x}}\n",
        ".a: &a {script: [echo]}\nbuild: {<<: [*a, 1]}\n",
        "build: {script: [!reference 1]}\n",
        "build: {script: [!reference [a, [b]]]}\n",
        "build: {script: !reference [build, script]}\n",
    ):
        out.append(Case(f"traceback: {text.strip()[:60]!r}", "traceback", ci(text), doctor()))
        out.append(Case(f"traceback: {text.strip()[:60]!r} (run --list)", "traceback", ci(text), run_list()))
    out.append(
        Case(
            "traceback: not UTF-8 config.toml",
            "traceback",
            {"proj/.gitlab-ci.yml": JOB, "proj/config.toml": b"\xff\xfe[[runners]]\n"},
            doctor(),
        )
    )
    out.append(
        Case(
            "traceback: not UTF-8 daemon.json",
            "traceback",
            {"proj/.gitlab-ci.yml": JOB, "proj/daemon.json": b'{"a": "\xff"}'},
            doctor(),
        )
    )
    out.append(
        Case(
            "traceback: daemon.json NaN mtu",
            "traceback",
            {"proj/.gitlab-ci.yml": JOB, "proj/daemon.json": '{"mtu": NaN}'},
            doctor(),
        )
    )
    out.append(
        Case(
            "traceback: daemon.json 1e999 mtu",
            "traceback",
            {"proj/.gitlab-ci.yml": JOB, "proj/daemon.json": '{"mtu": 1e999}'},
            doctor(),
        )
    )
    out.append(
        Case(
            "traceback: daemon.json 5000-digit int",
            "traceback",
            {"proj/.gitlab-ci.yml": JOB, "proj/daemon.json": '{"mtu": ' + "9" * 5000 + "}"},
            doctor(),
        )
    )
    out.append(
        Case(
            "traceback: YAML 5000-digit int",
            "traceback",
            ci("build: {script: [echo], parallel: " + "9" * 5000 + "}\n"),
            run_list(),
        )
    )
    out.append(
        Case(
            "traceback: daemon.json hosts [1]",
            "traceback",
            {"proj/.gitlab-ci.yml": JOB, "proj/daemon.json": '{"hosts": [1]}'},
            doctor(),
        )
    )
    out.append(
        Case(
            "traceback: tlscert not a cert",
            "traceback",
            {
                "proj/.gitlab-ci.yml": JOB,
                "proj/daemon.json": '{"tlscert": "c.pem"}',
                "proj/c.pem": "garbage\n",
            },
            doctor(),
        )
    )

    # confinement / host files
    out.append(
        Case(
            "confine: include: local ../outside",
            "confine",
            {
                "proj/.gitlab-ci.yml": "include: ../outside/secret.yml\n" + JOB,
                "outside/secret.yml": f"{HOST_SECRET}: [\n",
            },
            doctor(),
            secrets=(HOST_SECRET, "HOSTSECRETHASH"),
        )
    )
    out.append(
        Case(
            "confine: include: local /../../outside",
            "confine",
            {
                "proj/.gitlab-ci.yml": "include: {local: '/../outside/secret.yml'}\n" + JOB,
                "outside/secret.yml": f"'{HOST_SECRET}': x\n",
            },
            doctor(),
            secrets=("HOSTSECRETHASH",),
        )
    )
    out.append(
        Case(
            "confine: include via symlink to outside",
            "confine",
            {
                "proj/.gitlab-ci.yml": "include: link.yml\n" + JOB,
                "outside/secret.yml": f"'{HOST_SECRET}': 1\n",
            },
            doctor(),
            secrets=("HOSTSECRETHASH",),
            setup=_symlink("proj/link.yml", "outside/secret.yml"),
        )
    )
    out.append(
        Case(
            "confine: include glob ../*",
            "confine",
            {
                "proj/.gitlab-ci.yml": "include: '../outside/*.yml'\n" + JOB,
                "outside/secret.yml": f"'{HOST_SECRET}': 1\n",
            },
            doctor(),
            secrets=("HOSTSECRETHASH",),
        )
    )
    out.append(
        Case(
            "confine: symlinked .gitlab-ci.yml -> host file",
            "confine",
            {"outside/shadow": f"'{HOST_SECRET}': 1\n"},
            doctor(),
            secrets=("HOSTSECRETHASH",),
            setup=_symlink("proj/.gitlab-ci.yml", "outside/shadow"),
        )
    )
    out.append(
        Case(
            "confine: symlinked .gitlab-ci.yml (run --list)",
            "confine",
            {"outside/shadow": f"'{HOST_SECRET}': 1\n"},
            run_list(),
            secrets=("HOSTSECRETHASH",),
            setup=_symlink("proj/.gitlab-ci.yml", "outside/shadow"),
        )
    )
    out.append(
        Case(
            "confine: symlinked .gitlab-ci.yml dup key",
            "confine",
            {"outside/shadow": f"a: 1\n'{HOST_SECRET}': 1\n'{HOST_SECRET}': 2\n"},
            doctor(),
            secrets=("HOSTSECRETHASH",),
            setup=_symlink("proj/.gitlab-ci.yml", "outside/shadow"),
        )
    )
    out.append(
        Case(
            "confine: symlinked config.toml -> host file",
            "confine",
            {"proj/.gitlab-ci.yml": JOB, "outside/shadow": f"{HOST_SECRET}:19000\n"},
            doctor(),
            secrets=("HOSTSECRETHASH",),
            setup=_symlink("proj/config.toml", "outside/shadow"),
        )
    )
    out.append(
        Case(
            "confine: symlinked daemon.json -> host file",
            "confine",
            {"proj/.gitlab-ci.yml": JOB, "outside/shadow": f"{HOST_SECRET}:19000\n"},
            doctor(),
            secrets=("HOSTSECRETHASH",),
            setup=_symlink("proj/daemon.json", "outside/shadow"),
        )
    )
    # init reads the same kinds of files (its merge and writes are issue-14b's)
    init = ("init", "--strategy", "dind", "--out", "proj")
    out.append(
        Case("init: .gitlab-ci.yml flow depth 5000", "init", ci("a: " + "[" * 5000 + "]" * 5000 + "\n"), init)
    )
    out.append(
        Case(
            "init: .gitlab-ci.yml block depth 1500",
            "init",
            ci("a:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(1500))),
            init,
        )
    )
    out.append(Case("init: --runner-config /dev/zero", "init", {}, (*init, "--runner-config", "/dev/zero")))
    out.append(
        Case(
            "init: --runner-config FIFO",
            "init",
            {},
            (*init, "--runner-config", "outside/fifo"),
            setup=_fifo("outside/fifo"),
        )
    )
    # SARIF URIs
    for fname in ("my ci.yml", "a#b.yml", "50%.yml", "ü.yml"):
        out.append(
            Case(
                f"sarif: include named {fname!r}",
                "sarif",
                {
                    "proj/.gitlab-ci.yml": f"include: '{fname}'\n",
                    f"proj/{fname}": "build:\n  image: docker:latest\n  script: [docker build .]\n",
                },
                doctor("-f", "sarif", "-o", "report.sarif"),
                check=_sarif_uris_ok,
            )
        )
    return out


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))


def run_case(case: Case, timeout: float) -> tuple[str, str]:
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        d = Path(tmp)
        (d / "proj").mkdir()
        (d / "outside").mkdir()
        for rel, content in case.files.items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content)
        if case.setup is not None:
            case.setup(d)
        env = {**os.environ, "BUILDRIG_HOME": str(d / "home"), "NO_COLOR": "1", "COLUMNS": "200"}
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "buildrig", *case.argv],
                cwd=d,
                env=env,
                capture_output=True,
                timeout=timeout,
                preexec_fn=_limits,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return "hang", f"> {timeout:.0f} s"
        stdout = proc.stdout.decode(errors="replace")
        stderr = proc.stderr.decode(errors="replace")
        if proc.returncode < 0:
            return "crash", f"signal {-proc.returncode}"
        if "Traceback (most recent call last)" in stderr or proc.returncode not in (0, 1, 2):
            last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {proc.returncode}"
            return "traceback", last[:160]
        texts = [stdout, stderr]
        if case.output is not None and (d / case.output).is_file():
            texts.append((d / case.output).read_text(errors="replace"))
        for secret in case.secrets:
            if any(secret in t for t in texts):
                return "secret", f"{secret!r} in output"
        if case.check is not None:
            problem = case.check(d)
            if problem is not None:
                return "bad_output", problem
        first = (stderr.strip() or stdout.strip()).splitlines()
        return "clean", f"exit {proc.returncode}: {first[0][:140] if first else ''}"


COLUMNS = ("tried", "clean", "tracebacks", "hangs", "crashes", "secrets", "bad_output")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per input (default 15)")
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    args = parser.parse_args()
    tallies: dict[str, Tally] = {}
    started = time.monotonic()
    for case in cases():
        if args.k not in case.name:
            continue
        t0 = time.monotonic()
        outcome, detail = run_case(case, args.timeout)
        tally = tallies.setdefault(case.category, Tally())
        tally.tried += 1
        attr = {"traceback": "tracebacks", "hang": "hangs", "crash": "crashes", "secret": "secrets"}.get(
            outcome, outcome
        )
        setattr(tally, attr, getattr(tally, attr) + 1)
        if outcome != "clean":
            tally.notes.append(f"{outcome}: {case.name}: {detail}")
        if args.verbose:
            print(f"{outcome:10} {time.monotonic() - t0:6.2f}s  {case.name}  -- {detail}", flush=True)
    total = Tally()
    print(f"\n{'category':12}" + "".join(f"{c:>12}" for c in COLUMNS))
    for name, t in tallies.items():
        print(f"{name:12}" + "".join(f"{getattr(t, c):>12}" for c in COLUMNS))
        for c in COLUMNS:
            setattr(total, c, getattr(total, c) + getattr(t, c))
    print(f"{'total':12}" + "".join(f"{getattr(total, c):>12}" for c in COLUMNS))
    print(f"({time.monotonic() - started:.0f} s, timeout {args.timeout:.0f} s per input)")
    bad = [n for t in tallies.values() for n in t.notes]
    for note in bad:
        print(f"  {note}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
