"""The fixed choices of CLI options, as enums so ``--help`` lists them and typer checks them.

The values mirror data owned below the CLI (the way catalogue, the executors, the cache modes);
``tests/cli/test_choices.py`` keeps the two in step.
"""

from __future__ import annotations

from enum import StrEnum


class Way(StrEnum):
    shell = "shell"
    docker_sock = "docker_sock"
    docker_host = "docker_host"
    dind = "dind"
    kaniko = "kaniko"
    buildah = "buildah"
    buildkit = "buildkit"
    auto = "auto"


class Executor(StrEnum):
    shell = "shell"
    docker = "docker"
    docker_autoscaler = "docker-autoscaler"
    kubernetes = "kubernetes"


class RunExecutor(StrEnum):
    """The executors ``run`` emulates."""

    docker = "docker"
    shell = "shell"


class Cache(StrEnum):
    registry = "registry"
    none = "none"


class BenchCache(StrEnum):
    registry = "registry"
    none = "none"
    both = "both"


class Format(StrEnum):
    """``--format`` of run --list, try, bench and strategies: the text for people, or JSON."""

    text = "text"
    json = "json"


class DoctorFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    codequality = "codequality"
