"""BR410 — kaniko: executor flags that kaniko rejects or that break a second build.

What it checks, on each ``/kaniko/executor`` command:

- neither ``--destination`` nor ``--no-push``: kaniko refuses to start with ``you must provide
  --destination, or use --no-push``;
- ``--cache=true`` with ``--no-push`` and no ``--cache-repo``: ``cache flags invalid: if using cache
  with --no-push, specify cache repo with --cache-repo``;
- several executor runs in one job without ``--cleanup`` on the earlier ones: kaniko unpacks each
  image over the job container's own ``/``, so the next build starts from the previous image's
  files (``error building image: ... file exists``, wrong contents, missing tools).

Fix: add ``--destination <image>`` (or ``--no-push`` with ``--tar-path``), give ``--cache-repo``
when caching without pushing, and pass ``--cleanup`` to every build but the last (or split them
into separate jobs).

Docs: https://github.com/osscontainertools/kaniko#flags
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR410"
TITLE = "kaniko: executor flags rejected by kaniko or unsafe for a second build"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://github.com/osscontainertools/kaniko#flags"


def _flag(words: list[str], name: str) -> bool:
    for i, w in enumerate(words):
        if w == name:
            nxt = words[i + 1] if i + 1 < len(words) else ""
            return nxt.lower() not in ("false", "0")
        if w.startswith(name + "="):
            return w.split("=", 1)[1].lower() not in ("false", "0")
    return False


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        cmds = u.kaniko_commands(jv.job)
        for sl, words in cmds:
            if any(w in ("--help", "-h", "version") for w in words[1:2]):
                continue
            where = f"({sl.loc}: `{sl.text.strip()[:70]}`)"
            dests = u.option_values(words, "--destination", "-d")
            no_push = _flag(words, "--no-push")
            if not dests and not no_push and not any("$@" in w or "${@" in w for w in words):
                yield finding(
                    f"{u.jname(jv.job)} runs kaniko without --destination or --no-push {where}: "
                    "kaniko stops at once with \"you must provide --destination, or use --no-push\".",
                    "Add --destination \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA\" (or --no-push "
                    "--tar-path image.tar).",
                    loc=sl.loc,
                    job=jv.job.name,
                )
            if no_push and _flag(words, "--cache") and not u.option_values(words, "--cache-repo"):
                yield finding(
                    f"{u.jname(jv.job)} runs kaniko with --cache and --no-push but no --cache-repo "
                    f"{where}: \"if using cache with --no-push, specify cache repo with --cache-repo\".",
                    "Add --cache-repo \"$CI_REGISTRY_IMAGE/cache\" or drop --cache.",
                    loc=sl.loc,
                    job=jv.job.name,
                )
        for sl, words in cmds[:-1]:
            if not _flag(words, "--cleanup"):
                yield finding(
                    f"{u.jname(jv.job)} runs kaniko {len(cmds)} times; the build at {sl.loc} has no "
                    "--cleanup, so the next build starts on top of this image's files (kaniko "
                    "unpacks images over the job container's /).",
                    "Pass --cleanup to every kaniko build but the last, or build each image in its "
                    "own job.",
                    loc=sl.loc,
                    job=jv.job.name,
                    severity=Severity.WARNING,
                )
                break
