"""BR708 — security: the registry login is stored inside the project directory it builds.

What it checks: a job points ``DOCKER_CONFIG`` into its project directory (``$CI_PROJECT_DIR/...``,
``$PWD/...``, ``$(pwd)/...`` or a relative path, as a variable or an ``export`` in the script), logs
in there (``docker login``, or writes ``$DOCKER_CONFIG/config.json``), and runs ``docker build`` /
``docker buildx build`` on a context inside that directory (``.``, ``$CI_PROJECT_DIR``, a relative
path).

Why it matters: the login's ``config.json`` (the job token, or a deploy token that outlives the job)
is part of the build context: it is sent to the daemon with every build, and a ``COPY . .`` puts it
in an image layer that everyone who can pull the image can read. The build succeeds; nothing says
the token went with it. It is the fix many guides give for a login that persists on the shell
executor (``DOCKER_CONFIG: $CI_PROJECT_DIR/.docker``), so it is common. A ``.dockerignore`` entry
for the directory keeps it out; doctor does not read ``.dockerignore``, hence a warning.

Fix: keep the client config outside the project: ``variables: DOCKER_CONFIG:
"$RUNNER_TEMP_PROJECT_DIR/docker-config"`` (GitLab Runner 16.0+, a directory per concurrent slot
next to the project), removed in ``after_script`` (``rm -rf "$DOCKER_CONFIG"``).

Docs: https://docs.docker.com/build/concepts/context/#dockerignore-files
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding
from buildrig.doctor.facts import Line
from buildrig.errors import Loc

ID = "BR708"
TITLE = "security: registry login stored in the build context"
SEVERITY = Severity.WARNING
CATEGORY = Category.SECURITY
DOCS = "https://docs.docker.com/build/concepts/context/#dockerignore-files"

_EXPORT = re.compile(r"(?:^|[\s;&|])(?:export\s+)?DOCKER_CONFIG=(\"[^\"]*\"|'[^']*'|[^\s;&|]+)")
_LOGIN = re.compile(r"(?<![\w./$-])docker\s+login\b")
_WRITES_CONFIG = re.compile(r">>?\s*[\"']?\$\{?DOCKER_CONFIG\}?/config\.json")
_BUILD = re.compile(r"(?<![\w./$-])docker\s+(?:buildx\s+build|image\s+build|build)\b(?P<rest>.*)")
# where a job's script starts: the project directory
_PROJECT = re.compile(r"^(?:\$\{?CI_PROJECT_DIR\}?|\$\{?PWD\}?|\$\(pwd\)|\.)(?:/|$)")
# options of `docker build`/`buildx build` that never take a separate value
_FLAGS = {
    "--pull", "--no-cache", "--rm", "--force-rm", "-q", "--quiet", "--push", "--load", "--squash",
    "--compress", "--disable-content-trust", "--check",
}


def _inside_project(path: str) -> bool:
    path = path.strip("\"'")
    if not path:
        return False
    if _PROJECT.match(path):
        return True
    # relative to the working directory, which is the project's when the job starts
    return not path.startswith(("/", "$", "~"))


def _context(rest: str) -> str | None:
    """The build context of a ``docker build`` command (the first positional word)."""
    words = u.split_words(rest.split("&&")[0].split(";")[0].split("|")[0])
    skip = False
    for w in words:
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            skip = "=" not in w and w not in _FLAGS
            continue
        return w
    return None


def _config(jv: JobView, lines: tuple[Line, ...]) -> tuple[str, Loc] | None:
    for sl in lines:
        m = _EXPORT.search(sl.text)
        if m:
            return m.group(1), sl.loc
    var = u.explicit_env(jv, "DOCKER_CONFIG")
    if var is not None and var.value:
        return var.value, u.var_loc(var, jv.job, "variables")
    return None


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        lines = u.script_lines(jv.job)
        found = _config(jv, lines)
        if found is None or not _inside_project(found[0]):
            continue
        if not any(_LOGIN.search(sl.text) or _WRITES_CONFIG.search(sl.text) for sl in lines):
            continue
        build = next(
            (sl for sl in lines
             for m in [_BUILD.search(sl.text)] if m and _inside_project(_context(m.group("rest")) or "")),
            None,
        )
        if build is None:
            continue
        value, loc = found
        yield finding(
            f"{u.jname(jv.job)} stores its registry login in DOCKER_CONFIG={value} ({loc}), inside the "
            f"project directory that its docker build ({build.loc}) sends as the build context: the "
            "token goes to the daemon with every build and a COPY . . puts it in an image layer, "
            "unless .dockerignore excludes that directory.",
            'Keep the client config outside the project: DOCKER_CONFIG: "$RUNNER_TEMP_PROJECT_DIR/'
            'docker-config" (GitLab Runner 16.0+), and rm -rf "$DOCKER_CONFIG" in after_script.',
            loc=loc,
            job=jv.job.name,
        )
