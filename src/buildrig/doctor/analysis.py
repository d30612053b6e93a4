"""One doctor run's analysis: what the engine and the rules derive from the run's inputs, worked
out once per run and shared by all of them.

A run (``engine.diagnose``, or ``build_context``/``run_rules``/``check_rule`` called on their own)
makes one :class:`Analysis` and keeps it active while it derives the jobs' views and runs the
rules. Answers about a job, a runner or a set of runners (script lines, mounts, the environment
runners agree on, each job on each runner ...) are remembered in it. The models are frozen, so an
object's identity names it for the run; the analysis keeps every object it holds an answer for, so
no identity is reused while it lives, and it is dropped with the run: nothing outlives the run and
nothing needs clearing. Outside a run (a helper called directly) nothing is remembered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar, cast

T = TypeVar("T")


class Analysis:
    """The answers of one run, by question and the objects each is about (see :func:`remembered`)."""

    def __init__(self) -> None:
        # question -> ids of the objects -> (the objects, kept alive for the run, and the answer)
        self.answers: dict[str, dict[object, tuple[object, object]]] = {}

    def __len__(self) -> int:
        return sum(len(memo) for memo in self.answers.values())


_ACTIVE: ContextVar[Analysis | None] = ContextVar("buildrig_doctor_analysis", default=None)


@contextmanager
def running() -> Iterator[Analysis]:
    """The active analysis, or a new one active for the block (the run's outermost step makes it)."""
    current = _ACTIVE.get()
    if current is not None:
        yield current
        return
    analysis = Analysis()
    token = _ACTIVE.set(analysis)
    try:
        yield analysis
    finally:
        _ACTIVE.reset(token)


def remembered(question: str, about: object, compute: Callable[..., T], *args: object) -> T:
    """``compute(*args)``, worked out the first time the active run asks ``question`` about
    ``about`` (one object, or a tuple of objects: a set of runners); afresh outside a run."""
    analysis = _ACTIVE.get()
    if analysis is None:
        return compute(*args)
    memo = analysis.answers.get(question)
    if memo is None:
        memo = analysis.answers[question] = {}
    key = tuple(map(id, about)) if type(about) is tuple else id(about)
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = (about, compute(*args))
    return cast(T, hit[1])
