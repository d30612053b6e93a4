"""Fuzzing doctor's inputs (issue 14): mutated fixtures end in a report or a BuildrigError.

The seeds are the repository's own .gitlab-ci.yml, config.toml and daemon.json fixtures; each
example mutates one of them (cut, repeat or splice in syntax-heavy text) and runs the whole of
doctor (parse, derive, every rule, every output format) and ``run --list``'s job expansion. An
alarm turns a hang into a failure; the example count keeps the test well under a minute.
"""

from __future__ import annotations

import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from buildrig.doctor import engine, output
from buildrig.errors import BuildrigError
from buildrig.run import select_jobs

TESTS = Path(__file__).parents[1]
_NAMES = {".gitlab-ci.yml": ".gitlab-ci.yml", "config.toml": "config.toml", "daemon.json": "daemon.json"}
SEEDS = sorted(
    p
    for root in (TESTS / "doctor" / "cases", TESTS / "gitlab" / "fixtures")
    for p in root.rglob("*")
    if p.name in _NAMES and p.is_file()
)
# fragments that reach the parsers' corners: nesting, anchors, tags, quoting, odd numbers
_FRAGMENTS = st.sampled_from(
    [
        "[", "]", "{", "}", ":", ": ", "- ", "\n", "\n  ", "#", "'", '"', "\\", "&a ", "*a", "<<: *a",
        "!reference [build, script]", "!!omap", "!!set", "!!binary", "? ", "|\n", ">-\n", "---\n", "...\n",
        "include: ../x.yml\n", "parallel: 100000000\n", "parallel: {matrix: [{A: [1, 2]}]}\n",
        "extends: .x\n", "[[runners]]\n", "[runners.docker]\n", "volumes = \"/c\"\n", "= ", "\"\"\"",
        "1e999", "NaN", "-0", "0x", "\x00", "\ufeff", "\t", "é", "[" * 200, "{\"a\":" * 150,
    ]
)  # fmt: skip


def _mutate(text: str, ops: list[tuple[int, float, float, str]]) -> str:
    for kind, at, span, fragment in ops:
        i = int(at * len(text))
        j = min(len(text), i + int(span * 80))
        if kind == 0:
            text = text[:i] + text[j:]
        elif kind == 1:
            text = text[:i] + fragment + text[i:]
        elif kind == 2:
            text = text[:i] + text[i:j] * 3 + text[j:]
        else:
            text = text[:i] + fragment + text[j:]
    return text


@contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def hang(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"doctor still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


OPS = st.lists(
    st.tuples(st.integers(0, 3), st.floats(0, 1), st.floats(0, 1), _FRAGMENTS), min_size=1, max_size=6
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), ops=OPS, context=st.sampled_from(SEEDS))
def test_mutated_inputs_end_in_a_report_or_a_buildrig_error(
    seed: Path, ops: list[tuple[int, float, float, str]], context: Path
) -> None:
    text = _mutate(seed.read_text(encoding="utf-8", errors="replace"), ops)
    with tempfile.TemporaryDirectory() as tmp, _alarm(20):
        d = Path(tmp)
        # the mutated file beside an intact one of another kind, so rules have both to read
        if context.name != seed.name:
            (d / context.name).write_bytes(context.read_bytes())
        (d / seed.name).write_text(text, encoding="utf-8", errors="surrogateescape")
        try:
            report = engine.diagnose(engine.Inputs(directory=d))
        except BuildrigError:
            event("input error")
            return
        event("report")
        assert not report.problems, report.problems  # a rule that raised is a bug too
        for fmt in output.FORMATS:
            output.render(report, fmt, d)
        pipeline = report.context.pipeline
        if pipeline is not None:
            with suppress(BuildrigError):
                select_jobs(pipeline)
