"""BR505 — buildkit: ``--local dockerfile=`` names a file instead of its directory.

What it checks: a ``buildctl``/``buildctl-daemonless.sh build`` command whose ``--local
dockerfile=<path>`` points at the Dockerfile itself (``dockerfile=Dockerfile``,
``dockerfile=./docker/app.Dockerfile``).

Why it fails: ``--local`` shares a *directory* with the builder; the file name goes in
``--opt filename=``. GitLab's BuildKit troubleshooting lists the error::

    error: invalid local: stat /builds/group/project/Dockerfile: not a directory

Fix: ``--local dockerfile=.`` (or the Dockerfile's directory) and, for another file name,
``--opt filename=app.Dockerfile``.

Docs: https://docs.gitlab.com/ci/docker/using_buildkit/#troubleshooting
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR505"
TITLE = "buildkit: --local dockerfile= points at a file, not a directory"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_buildkit/#troubleshooting"

_LOCAL = re.compile(r"--local(?:\s+|=)[\"']?dockerfile=[\"']?([^\s\"']+)")
_FILE = re.compile(r"(^|/)([^/]*[Dd]ockerfile[^/]*|[^/]+\.(?:dockerfile|Containerfile)|Containerfile)$")


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        for sl in u.script_lines(jv.job):
            if "buildctl" not in sl.text:
                continue
            for m in _LOCAL.finditer(sl.text):
                path = m.group(1).rstrip("/")
                if m.group(1).endswith("/") or not _FILE.search(path):
                    continue
                parent = path.rsplit("/", 1)[0] if "/" in path else "."
                name = path.rsplit("/", 1)[-1]
                yield finding(
                    f"{u.jname(jv.job)} passes --local dockerfile={m.group(1)} to buildctl "
                    f"({sl.loc}): --local takes a directory, so BuildKit fails with \"invalid local: "
                    f"stat .../{name}: not a directory\".",
                    f"Use --local dockerfile={parent}"
                    + (f" --opt filename={name}" if name != "Dockerfile" else "") + ".",
                    loc=sl.loc,
                    job=jv.job.name,
                )
