"""Phases of a job, timed from its log: service start to ready, login, build, push.

GitLab Runner echoes every script command as ``$ cmd`` before running it, and ``buildrig run``
stamps every log line with the time it was read. A command's duration is therefore the time from
its ``$`` line to the next ``$`` line (or to the end of the script). Each command is put in a
phase by what it runs; commands that are none of them (tagging, ``echo``, ``cd``) count as
"other" and so does the job's own overhead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from buildrig.bench.model import Phases

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
#: GitLab collapses a multi-line command to its first line plus this marker.
_COLLAPSED = re.compile(r"\s+#\s*collapsed multi-line command\s*$")
_CMD = re.compile(r"^\s*\$ (?P<cmd>.*)$")
#: Lines after which no script command of the main script is running any more.
_SCRIPT_END = re.compile(
    r"^\s*(Running after_script|Job succeeded|ERROR: Job failed|Cleaning up|Uploading artifacts|"
    r"section_end:\d+:(step_script|build_script)\b)",
    re.IGNORECASE,
)
#: ``after_script`` is not part of the build's critical path in GitLab's own timing either,
#: but it is in the job's total; its commands are left to "other".
_AFTER_SCRIPT = re.compile(r"^\s*Running after_script", re.IGNORECASE)

_PREFIX = re.compile(
    r"^(?:(?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|\"[^\"]*\"|\S*)\s+)|(?:time|sudo|exec|command|env)\s+)*"
)
#: Global options between the client and its subcommand (``docker -H tcp://x:2376 build``).
_OPTS = r"(?:\s+-{1,2}[\w.-]+(?:[= ](?!-)\S+)?)*"
#: Tools may come after a pipe or ``&&`` (``echo "$PW" | docker login ...``) or with a path.
_TOOL = r"(?:^|[\s;&|(])(?:\S*/)?"
_LOGIN = re.compile(
    _TOOL + r"(?:docker|buildah|podman|skopeo|crane|regctl|nerdctl)" + _OPTS + r"\s+login\b"
    # kaniko and BuildKit have no login command: the job writes the auth file itself.
    r"|>\s*\S*(?:\.docker/config|containers/auth)\.json"
)
_PUSH = re.compile(
    _TOOL + r"(?:(?:docker|nerdctl)" + _OPTS + r"\s+(?:image\s+)?push"
    r"|(?:buildah|podman|skopeo|crane)" + _OPTS + r"\s+push)\b"
)
#: A script loop waiting for a service's daemon (dind's ``until docker info``) is the rest of
#: the service's start-up as the job sees it: the runner's port check passes before dockerd
#: answers API calls.
_WAIT = re.compile(
    r"^\s*(?:i=\S*;\s*)?(?:until|while)\b.*\b(?:docker|buildctl|podman)"
    + _OPTS
    + r"\s+(?:info|version|debug workers)\b"
)
#: Pulling a ``--cache-from`` image is the price of a registry cache: it counts as build.
_BUILD = re.compile(
    _TOOL + r"(?:"
    r"(?:docker|nerdctl)" + _OPTS + r"\s+(?:image\s+)?(?:build|pull)\b"
    r"|docker" + _OPTS + r"\s+buildx\s+(?:build|bake)\b"
    r"|(?:buildah|podman)" + _OPTS + r"\s+(?:bud|build|pull)\b"
    r"|(?:kaniko/)?executor\b"
    r"|buildctl(?:-daemonless\.sh)?\b.*\sbuild\b"
    r")"
)


@dataclass(frozen=True)
class LogLine:
    """One line of a job log and the time (seconds since the epoch) it was emitted."""

    t: float
    text: str


@dataclass(frozen=True)
class ServiceSpan:
    """A service container: when it was started and when its ports answered (or the wait ended)."""

    name: str
    started: float
    ready: float


@dataclass(frozen=True)
class Step:
    """A script command and the seconds it ran, with the phase it counts for."""

    command: str
    phase: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text).replace("\r", "")


def classify(command: str) -> str:
    """``services``, ``login``, ``build``, ``push`` or ``other`` for one shell command line.

    A compound line (``docker build . && docker push x``) counts for what it runs first.
    """
    cmd = _COLLAPSED.sub("", command.strip())
    cmd = _PREFIX.sub("", cmd)
    if _WAIT.search(cmd):
        return "services"
    found: list[tuple[int, int, str]] = []
    for order, (name, pattern) in enumerate((("login", _LOGIN), ("push", _PUSH), ("build", _BUILD))):
        m = pattern.search(cmd)
        if m:
            found.append((m.start(), order, name))
    return min(found)[2] if found else "other"


def steps(lines: Sequence[LogLine], *, script_end: float | None = None) -> tuple[Step, ...]:
    """The echoed commands of the main script (``before_script`` + ``script``) with durations.

    The last command ends at the first runner marker after it (``Running after_script``,
    ``Job succeeded``...), else at ``script_end``, else at the last log line.
    """
    out: list[Step] = []
    current: tuple[str, float] | None = None
    last_t: float | None = None
    for line in lines:
        text = strip_ansi(line.text)
        m = _CMD.match(text)
        if m:
            if current is not None:
                out.append(_step(current, line.t))
            current = (m.group("cmd"), line.t)
        elif _SCRIPT_END.match(text):
            if current is not None:
                out.append(_step(current, line.t))
                current = None
            if _AFTER_SCRIPT.match(text):
                break
        last_t = line.t
    if current is not None:
        end = script_end if script_end is not None else (last_t if last_t is not None else current[1])
        out.append(_step(current, max(end, current[1])))
    return tuple(out)


def last_output(lines: Sequence[LogLine]) -> float | None:
    """When the main script printed its last line: the last line before the runner's first
    end-of-script marker (``Job succeeded``, ``Running after_script``...). ``run`` prints nothing
    while it tears the job down, so what follows is the runner's, not the last command's."""
    last: float | None = None
    seen_cmd = False
    for line in lines:
        text = strip_ansi(line.text)
        if _CMD.match(text):
            seen_cmd = True
        elif seen_cmd and _SCRIPT_END.match(text):
            break
        if seen_cmd:
            last = line.t
    return last


def _step(current: tuple[str, float], end: float) -> Step:
    command, start = current
    return Step(command=command, phase=classify(command), start=start, end=end)


def services_seconds(spans: Iterable[ServiceSpan]) -> float | None:
    """Wall time from the first service start to the last one ready; ``None`` without services.

    GitLab Runner starts services and then waits for all of them, so overlapping waits count once.
    """
    spans = list(spans)
    if not spans:
        return None
    return max(0.0, max(s.ready for s in spans) - min(s.started for s in spans))


def extract_phases(
    lines: Sequence[LogLine],
    *,
    services: Iterable[ServiceSpan] = (),
    script_end: float | None = None,
) -> Phases:
    """Phases of one job from its timestamped log and its services' start/ready times."""
    totals: dict[str, float] = {}
    for step in steps(lines, script_end=script_end):
        if step.phase != "other":
            totals[step.phase] = totals.get(step.phase, 0.0) + step.seconds
    started = services_seconds(services)
    waited = totals.get("services")
    service_s = None if started is None and waited is None else (started or 0.0) + (waited or 0.0)
    return Phases(
        services=service_s,
        login=totals.get("login"),
        build=totals.get("build"),
        push=totals.get("push"),
    )
