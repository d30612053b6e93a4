"""``--strategy auto``: pick a way from stated runner facts, with the reason and the runner-up.

The candidates are tried fastest first (the seed's order, then the daemonless ways: BuildKit,
Buildah, kaniko); a way is eligible when the executor supports it, it needs privileged mode only
if that is allowed, a host daemon only if one is available, and isolation when it is required.
"""

from __future__ import annotations

from dataclasses import dataclass

from buildrig.errors import InputError
from buildrig.strategies.base import EXECUTORS, Strategy

ORDER: tuple[str, ...] = (
    "shell",
    "docker_sock",
    "docker_host",
    "dind",
    "buildkit",
    "buildah",
    "kaniko",
)


@dataclass(frozen=True)
class RunnerFacts:
    executor: str = "docker"
    privileged_allowed: bool = False
    host_docker: bool = False
    need_isolation: bool = False


@dataclass(frozen=True)
class AutoChoice:
    choice: Strategy
    reason: str
    runner_up: Strategy | None
    runner_up_reason: str


def _why_ineligible(s: Strategy, f: RunnerFacts) -> str:
    if not s.supports(f.executor):
        return f"not on the {f.executor} executor"
    if s.needs_privileged and not f.privileged_allowed:
        return "needs privileged mode, which is not allowed"
    if s.needs_host_daemon and not f.host_docker:
        return "needs a Docker daemon on the host"
    if f.need_isolation and not s.isolated:
        return "shares one daemon between jobs, but isolation is required"
    return ""


def _reason(s: Strategy, f: RunnerFacts) -> str:
    parts = [f"runs on the {f.executor} executor"]
    parts.append("needs privileged mode (allowed)" if s.needs_privileged else "needs no privileged mode")
    if s.needs_host_daemon:
        parts.append("uses the host's Docker daemon and its layer cache")
    if s.isolated:
        parts.append("isolates jobs from each other")
    rank = f"speed rank {s.speed_rank}" if s.speed_rank else "daemonless"
    parts.append(rank)
    return "; ".join(parts)


def choose(strategies: tuple[Strategy, ...], facts: RunnerFacts) -> AutoChoice:
    """The fastest eligible way and the next one; InputError when nothing fits."""
    if facts.executor not in EXECUTORS:
        raise InputError(f"unknown executor {facts.executor!r}; valid: {', '.join(EXECUTORS)}")
    by_name = {s.name: s for s in strategies}
    ordered = [by_name[n] for n in ORDER if n in by_name]
    eligible = [s for s in ordered if not _why_ineligible(s, facts)]
    if not eligible:
        why = "; ".join(f"{s.name}: {_why_ineligible(s, facts)}" for s in ordered)
        raise InputError(f"no way fits these runner facts ({why})")
    choice = eligible[0]
    runner_up = eligible[1] if len(eligible) > 1 else None
    if runner_up is None:
        up_reason = f"none: every other way is ruled out on the {facts.executor} executor"
    else:
        up_reason = _reason(runner_up, facts)
    return AutoChoice(choice, _reason(choice, facts), runner_up, up_reason)
