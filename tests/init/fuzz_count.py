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
import time
import warnings
from pathlib import Path
from types import FrameType

from test_init_fuzz import CI_INPUTS, TOML_BITS, TOML_INPUTS, YAML_BITS, damage, try_init

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
        signal.alarm(10)
        try:
            tried = try_init(ci, toml, as_option, way, job, force)
        except Hang:
            counts["hang"] += 1
            continue
        except Exception as exc:  # counting them is the point
            counts["traceback"] += 1
            print(f"traceback: {type(exc).__name__}: {exc}"[:200], file=sys.stderr)
            continue
        finally:
            signal.alarm(0)
        counts["success" if tried.error is None else "clean error"] += 1
        counts["secret"] += any(TOKEN in m for m in tried.messages)
        why = damage(tried, ci, toml, job)
        if why is not None:
            counts["damaged"] += 1
            print(f"damaged: {why}", file=sys.stderr)
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
