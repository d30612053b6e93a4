"""BR506 — buildkit: registry credentials written where rootless BuildKit cannot use them.

What it checks: a rootless-BuildKit job (``moby/buildkit:rootless`` runs as uid 1000, ``HOME=
/home/user``) that writes its Docker ``config.json`` to ``/root/.docker/`` or
``/kaniko/.docker/`` instead of ``~/.docker/`` (``$HOME/.docker``) or ``$DOCKER_CONFIG``.

Why it fails: the rootless user may not write under ``/root`` (``sh: can't create
/root/.docker/config.json: Permission denied``) and ``buildctl`` reads ``$DOCKER_CONFIG`` or
``~/.docker/config.json`` only, so the push goes out anonymously::

    error: failed to solve: failed to push registry.example.com/group/app:...: ... 401 Unauthorized

Fix: ``mkdir -p ~/.docker`` and write ``~/.docker/config.json`` (GitLab's BuildKit example), or
set ``DOCKER_CONFIG`` to the directory you write.

Docs: https://docs.gitlab.com/ci/docker/using_buildkit/
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR506"
TITLE = "buildkit: config.json written outside the rootless user's ~/.docker"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_buildkit/"

_WRITE = re.compile(r">>?\s*[\"']?((?:/root|/kaniko)/\.docker/config\.json)")


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        if not u.is_rootless_buildkit_job(jv):
            continue
        cfg = (u.env_value(jv, "DOCKER_CONFIG") or "").rstrip("/")
        for sl in u.script_lines(jv.job):
            m = _WRITE.search(sl.text)
            if m is None or (cfg and m.group(1).startswith(cfg + "/")):
                continue
            yield finding(
                f"{u.jname(jv.job)} writes registry credentials to {m.group(1)} ({sl.loc}) but "
                "rootless BuildKit runs as uid 1000 with HOME=/home/user: the write is refused or "
                "ignored and the push fails with \"401 Unauthorized\".",
                "Write ~/.docker/config.json (mkdir -p ~/.docker first) or set DOCKER_CONFIG to "
                "the directory you write.",
                loc=sl.loc,
                job=jv.job.name,
            )
            break
