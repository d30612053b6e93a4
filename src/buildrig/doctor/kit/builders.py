"""Daemonless builders in a job: kaniko executor commands, buildah, rootless BuildKit."""

from __future__ import annotations

import re

from buildrig.doctor.analysis import remembered
from buildrig.doctor.base import JobView
from buildrig.doctor.facts import Line, image_name, script_lines
from buildrig.doctor.kit.images import (
    is_buildah_image,
    is_buildkit_image,
    is_kaniko_image,
    is_rootless_buildkit_image,
)
from buildrig.doctor.kit.scripts import split_words
from buildrig.gitlab.model import Job


def kaniko_commands(job: Job) -> tuple[tuple[Line, list[str]], ...]:
    """Lines that run the kaniko executor, with their words from the executor on (the caller's
    own lists: the shared answer is worked out once per run)."""
    found = remembered("kaniko_commands", job, _kaniko_commands, job)
    return tuple((sl, list(words)) for sl, words in found)


def _kaniko_commands(job: Job) -> tuple[tuple[Line, list[str]], ...]:
    out: list[tuple[Line, list[str]]] = []
    for sl in script_lines(job):
        if "executor" not in sl.text:
            continue  # cheap filter before the shell-word split
        words = split_words(sl.text)
        for i, w in enumerate(words):
            if w == "/kaniko/executor" or (w.endswith("/executor") and "kaniko" in w) or (
                w == "executor" and (i == 0 or words[i - 1] in ("&&", ";", "||", "exec"))
            ):
                out.append((sl, words[i:]))
                break
    return tuple(out)


def is_kaniko_job(jv: JobView) -> bool:
    name = image_name(jv.job, jv.runners)
    if name is not None and is_kaniko_image(name):
        return True
    return jv.way == "kaniko" or bool(kaniko_commands(jv.job))


_BUILDAH_CMD = re.compile(r"(?<![\w./$-])buildah\s+(?:bud|build|from|run|commit|push|login|images|info)\b")
_DAEMONLESS = re.compile(r"buildctl-daemonless\.sh|(?<![\w./$-])buildkitd(?=\s|$)|rootlesskit")


def buildah_lines(job: Job) -> tuple[Line, ...]:
    return tuple(sl for sl in script_lines(job) if _BUILDAH_CMD.search(sl.text))


def is_buildah_job(jv: JobView) -> bool:
    name = image_name(jv.job, jv.runners)
    if jv.way == "buildah" or (name is not None and is_buildah_image(name)):
        return True
    return bool(buildah_lines(jv.job)) and jv.way not in ("shell",)


def daemonless_buildkit_lines(job: Job) -> tuple[Line, ...]:
    return tuple(sl for sl in script_lines(job) if _DAEMONLESS.search(sl.text))


def is_rootless_buildkit_job(jv: JobView) -> bool:
    """A job that starts its own rootless buildkitd (the GitLab "BuildKit rootless" recipe)."""
    name = image_name(jv.job, jv.runners)
    if name is not None and is_rootless_buildkit_image(name):
        return True
    if jv.way == "buildkit" and daemonless_buildkit_lines(jv.job):
        return name is None or "rootless" in name or not is_buildkit_image(name)
    return False
