"""BR403 — kaniko: ``--context``/``--dockerfile`` paths that kaniko resolves differently than expected.

What it checks, on each ``/kaniko/executor`` command of a job:

- no ``--context``: kaniko defaults to ``/workspace/``, an empty directory in a GitLab job (the
  checkout is ``$CI_PROJECT_DIR``), so every ``COPY``/``ADD`` fails;
- a relative ``--context``: older kaniko releases ``chdir /`` before reading it;
- a relative ``--dockerfile`` with a ``--context`` other than the project directory: kaniko looks
  the path up in the *working directory* (``$CI_PROJECT_DIR``) first and only then inside the
  context, so it may build the top-level ``Dockerfile`` instead of the one in the context, or
  stop with::

      error resolving dockerfile path: please provide a valid path to a Dockerfile within the
      build context with --dockerfile

Fix: pass absolute paths built from ``$CI_PROJECT_DIR``: ``--context "${CI_PROJECT_DIR}/app"
--dockerfile "${CI_PROJECT_DIR}/app/Dockerfile"``.

Docs: https://github.com/GoogleContainerTools/kaniko/issues/1363
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR403"
TITLE = "kaniko: missing or relative --context / relative --dockerfile"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://github.com/GoogleContainerTools/kaniko/issues/1363"

_PROJECT_DIR = re.compile(r"^(\$\{?CI_PROJECT_DIR\}?|\.)/?$")


def _absolute(p: str) -> bool:
    return p.startswith(("/", "$", "~")) or "://" in p


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        for sl, words in u.kaniko_commands(jv.job):
            ctxs = u.option_values(words, "--context", "-c")
            dfs = u.option_values(words, "--dockerfile", "-f")
            cmd = f"({sl.loc}: `{sl.text.strip()[:70]}`)"
            if not ctxs and not u.option_values(words, "--bucket", "-b"):
                yield finding(
                    f"{u.jname(jv.job)} runs kaniko without --context {cmd}: kaniko then uses "
                    "/workspace/, which is empty in a GitLab job, so COPY/ADD steps fail (\"no such "
                    "file or directory\") or the wrong files are built.",
                    "Add --context \"${CI_PROJECT_DIR}\" (or the sub-directory you build).",
                    loc=sl.loc,
                    job=jv.job.name,
                )
                continue
            c = ctxs[-1]
            if not _absolute(c) and not _PROJECT_DIR.match(c):
                yield finding(
                    f"{u.jname(jv.job)} passes a relative --context '{c}' {cmd}: kaniko releases "
                    "that chdir to / before resolving it fail with \"error resolving dockerfile "
                    "path\"; the path depends on the job's working directory.",
                    f"Use --context \"${{CI_PROJECT_DIR}}/{c.lstrip('./')}\".",
                    loc=sl.loc,
                    job=jv.job.name,
                )
            if dfs and not _absolute(dfs[-1]) and not _PROJECT_DIR.match(c):
                d = dfs[-1]
                yield finding(
                    f"{u.jname(jv.job)} passes a relative --dockerfile '{d}' with --context '{c}' "
                    f"{cmd}: kaniko resolves it against the working directory ($CI_PROJECT_DIR) "
                    "before the context, so it may build another Dockerfile or fail with \"error "
                    "resolving dockerfile path: please provide a valid path to a Dockerfile within "
                    "the build context with --dockerfile\".",
                    "Pass an absolute path, e.g. --dockerfile \"${CI_PROJECT_DIR}/<dir>/Dockerfile\".",
                    loc=sl.loc,
                    job=jv.job.name,
                )
