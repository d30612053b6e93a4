"""The job's script text: docker command lines, shell words and options."""

from __future__ import annotations

import re
import shlex

from buildrig.doctor.analysis import remembered
from buildrig.doctor.facts import Line, script_lines
from buildrig.gitlab.model import Job

# docker in command position: line start, after ; && || | ( $( ` or a shell keyword / wrapper, with
# optional VAR=value prefixes and a /usr/bin path; not "docker" inside an echo'd sentence.
_DOCKER_CMD = re.compile(
    r"(?:^|[;&|(`]|\$\(|\b(?:then|do|else|sudo|exec|time|xargs|if|while|until|timeout\s+\S+|retry)\s|!\s)"
    r"\s*(?:\w+=\S*\s+)*(?:/usr(?:/local)?/bin/)?docker(?:-compose)?(?=\s|$)"
)
_INSTALLS_DOCKER = re.compile(
    r"(apk\s+add[^;&|]*\bdocker)|(apt(-get)?\s+install[^;&|]*\bdocker)|(yum\s+install[^;&|]*\bdocker)"
    r"|(dnf\s+install[^;&|]*\bdocker)|get\.docker\.com|download\.docker\.com"
)


def docker_command_lines(job: Job) -> tuple[Line, ...]:
    """Lines that run docker (rules ask many times per job: worked out once per run)."""
    return remembered("docker_command_lines", job, _docker_command_lines, job)


def _docker_command_lines(job: Job) -> tuple[Line, ...]:
    return tuple(sl for sl in script_lines(job) if "docker" in sl.text and _DOCKER_CMD.search(sl.text))


# Subcommands that never talk to a daemon: a job using only these needs no socket.
_DAEMONLESS_DOCKER = re.compile(
    r"(?<![\w./$-])docker\s+(?:--version|-v\b|version\s+--format\s+\S*Client|manifest\b|help\b"
    r"|buildx\s+(?:imagetools|version)\b|context\s+(?:ls|inspect)\b)"
)
_SETS_DOCKER_HOST = re.compile(
    r"(?:^|[\s;&|])(?:export\s+)?DOCKER_HOST=|(?<![\w./$-])docker\s+(?:-H|--host|--context|-c)[\s=]"
    r"|docker\s+context\s+use\b|DOCKER_CONTEXT="
)


def daemon_docker_lines(job: Job) -> tuple[Line, ...]:
    """Lines whose docker command needs a daemon."""
    return tuple(sl for sl in docker_command_lines(job) if not _DAEMONLESS_DOCKER.search(sl.text))


def script_sets_docker_host(job: Job) -> bool:
    """The script chooses its daemon itself (``export DOCKER_HOST=``, ``docker -H``, contexts)."""
    return any(_SETS_DOCKER_HOST.search(sl.text) for sl in script_lines(job))


def installs_docker(job: Job) -> bool:
    return any(_INSTALLS_DOCKER.search(sl.text) for sl in script_lines(job))


def split_words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=False, posix=True)
    except ValueError:
        return line.split()


def option_values(words: list[str], *names: str) -> list[str]:
    """Values of ``--name value``, ``--name=value`` and short ``-n value`` options."""
    out: list[str] = []
    for i, w in enumerate(words):
        for n in names:
            if w == n and i + 1 < len(words):
                out.append(words[i + 1])
            elif n.startswith("--") and w.startswith(n + "="):
                out.append(w[len(n) + 1 :])
    return out
