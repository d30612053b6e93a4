"""Count what init's merge does with careless and hostile existing files (not a test: a figure).

    .venv/bin/python tests/init/fuzz_count.py [N] [SEED]

Mutates the golden inputs as tests/init/test_init_fuzz.py does (random ways, job names, --force,
--runner-config or runner/config.toml) and prints, over N inputs: successes, clean errors
(BuildrigError), tracebacks, hangs (> 10 s), damaged files (changed on failure, or not parsing /
other jobs, keys or runners lost on success) and secrets exposed (a runner token in a message).
"""

from __future__ import annotations

import random
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import FrameType

import tomlkit
from test_init_fuzz import CI_INPUTS, TOML_BITS, TOML_INPUTS, YAML_BITS, _top, _tree

from buildrig.errors import BuildrigError
from buildrig.init import InitOptions, init_project

WAYS = ("dind", "kaniko", "buildah", "buildkit", "docker_sock", "shell")
JOBS = ("build-image", "123", "lint", "deploy", "img", "unit-tests")
TOKEN = "glrt-FUZZSECRET"


def mutate(rng: random.Random, base: str, bits: list[str]) -> str:
    lines = base.splitlines(keepends=True)
    for _ in range(rng.randint(0, 4)):
        op = rng.choice(("insert", "delete", "duplicate", "truncate", "byte"))
        at = rng.randint(0, len(lines))
        if op == "insert":
            lines.insert(at, rng.choice(bits))
        elif op == "delete" and lines:
            del lines[min(at, len(lines) - 1)]
        elif op == "duplicate" and lines:
            lines.insert(at, lines[min(at, len(lines) - 1)])
        elif op == "truncate":
            lines = lines[:at]
        elif op == "byte" and lines:
            i = min(at, len(lines) - 1)
            line = lines[i]
            j = rng.randint(0, len(line))
            lines[i] = line[:j] + rng.choice("\t:[]{}&*!#'\"-\\\x00é") + line[j:]
    return "".join(lines).replace("glrt-REDACTED", TOKEN)


class Hang(Exception):
    pass


def _alarm(_sig: int, _frame: FrameType | None) -> None:
    raise Hang


def main(n: int, seed: int) -> int:
    warnings.simplefilter("ignore")  # ruamel's duplicate-anchor warnings, one per such input
    rng = random.Random(seed)
    counts = dict.fromkeys(("success", "clean error", "traceback", "hang", "damaged", "secret"), 0)
    signal.signal(signal.SIGALRM, _alarm)
    started = time.monotonic()
    for _ in range(n):
        ci = None if rng.random() < 0.1 else mutate(rng, rng.choice(CI_INPUTS), YAML_BITS)
        toml = None if rng.random() < 0.3 else mutate(rng, rng.choice(TOML_INPUTS), TOML_BITS)
        as_option = rng.random() < 0.5
        job, way, force = rng.choice(JOBS), rng.choice(WAYS), rng.random() < 0.5
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            out = root / "p"
            out.mkdir()
            if ci is not None:
                (out / ".gitlab-ci.yml").write_text(ci)
            use_option = toml is not None and as_option
            cfg = root / "config.toml" if use_option else out / "runner" / "config.toml"
            if toml is not None:
                cfg.parent.mkdir(exist_ok=True)
                cfg.write_text(toml)
            before = _tree(root)
            opts = InitOptions(
                strategy=way, job_name=job, force=force, out=out, runner_config=cfg if use_option else None
            )
            signal.alarm(10)
            try:
                res = init_project(opts)
                messages = [*res.notes, *res.warnings]
                ok = True
            except BuildrigError as exc:
                messages, ok = [str(exc)], False
            except Hang:
                counts["hang"] += 1
                continue
            except Exception as exc:  # counting them is the point
                counts["traceback"] += 1
                print(f"traceback: {type(exc).__name__}: {exc}"[:200], file=sys.stderr)
                continue
            finally:
                signal.alarm(0)
            if any(TOKEN in m for m in messages):
                counts["secret"] += 1
            if not ok:
                counts["clean error"] += 1
                if _tree(root) != before:
                    counts["damaged"] += 1
                continue
            counts["success"] += 1
            new = _top((out / ".gitlab-ci.yml").read_text())
            old = _top(ci) if ci else {}
            damaged = (
                new is None
                or job not in new
                or any(k != job and new.get(k) != v for k, v in (old or {}).items())
            )
            try:
                after = tomlkit.parse(cfg.read_text()).unwrap()
                if toml is not None:
                    prev = tomlkit.parse(toml).unwrap()
                    damaged |= any(after.get(k) != v for k, v in prev.items() if k != "runners")
                    damaged |= any(
                        r.get("token") != after["runners"][i].get("token")
                        for i, r in enumerate(prev.get("runners") or [])
                    )
            except Exception:  # an unparseable result is what is counted
                damaged = True
            counts["damaged"] += damaged
    took = time.monotonic() - started
    print(f"inputs tried: {n} (seed {seed}) in {took:.1f} s")
    for key, value in counts.items():
        print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, int(sys.argv[2]) if len(sys.argv) > 2 else 14)
    )
