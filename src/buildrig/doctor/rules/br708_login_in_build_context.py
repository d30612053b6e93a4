"""BR708 — security: the registry login is stored inside the build context.

What it checks: a job points ``DOCKER_CONFIG`` into its project directory (``$CI_PROJECT_DIR/...``,
``$PWD/...``, ``$(pwd)/...`` or a relative path, as a variable, an ``export`` or ``docker --config``),
logs in there (``docker login``, or writes ``$DOCKER_CONFIG/config.json``), and runs ``docker
build`` / ``docker buildx build`` on a context that contains that directory (``.``,
``$CI_PROJECT_DIR``, a directory above the config; a context named by a variable the files set is
resolved). Standard input (``-``) and URL contexts are not checked.

Why it matters: the login's ``config.json`` is then part of the build context. The classic builder
sends the whole context to the daemon; with either builder a ``COPY . .`` (or a ``COPY`` of the
directory) puts it in an image layer that everyone who can pull the image can read. The build
succeeds and nothing says the file went with it. With the job token (``$CI_REGISTRY_PASSWORD``)
the leak expires with the job; a deploy or personal token does not. It is the fix many guides give
for a login that persists on the shell executor (``DOCKER_CONFIG: $CI_PROJECT_DIR/.docker``), so it
is common. A ``.dockerignore`` entry for the directory keeps it out; doctor does not read
``.dockerignore``, hence a warning.

Fix: keep the client config outside the project: ``variables: DOCKER_CONFIG:
"$RUNNER_TEMP_PROJECT_DIR/docker-config"`` (GitLab Runner 15.7+, a directory per concurrent slot
next to the project), removed in ``after_script`` (``rm -rf "$DOCKER_CONFIG"``).

Docs: https://docs.docker.com/build/concepts/context/#dockerignore-files
"""

from __future__ import annotations

import posixpath
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

# DOCKER_CONFIG=... at a command's start (an assignment or an export), not inside an echo
_EXPORT = re.compile(r"(?:^|[;&|(]\s*|\bexport\s+)DOCKER_CONFIG=(\"[^\"]*\"|'[^']*'|[^\s;&|)]+)")
_CONFIG_FLAG = re.compile(r"(?<![\w./$-])docker\s+--config[=\s]+(\"[^\"]*\"|'[^']*'|[^\s;&|]+)\s+login\b")
_LOGIN = re.compile(r"(?<![\w./$-])docker\s+(?:--config[=\s]+\S+\s+)?login\b")
_WRITES_CONFIG = re.compile(r">>?\s*[\"']?\$\{?DOCKER_CONFIG\}?/config\.json")
_BUILD = re.compile(
    r"(?<![\w./$-])docker\s+(?:--\S+\s+)*(?:buildx\s+build|builder\s+build|image\s+build|build)\b(?P<rest>.*)"
)
# where a job's script starts: the project directory
_PROJECT = re.compile(r"^(?:\$\{?CI_PROJECT_DIR\}?|\$\{?PWD\}?|\$\(pwd\))(?=/|$)")
_VAR = re.compile(r"^\$\{?(\w+)\}?$")
# options of `docker build`/`buildx build` that take a separate value; any other is a flag
_VALUED = {
    "-t", "--tag", "-f", "--file", "--build-arg", "--cache-from", "--cache-to", "--label", "--target",
    "--platform", "--secret", "--ssh", "--network", "--progress", "--iidfile", "-o", "--output",
    "--add-host", "--shm-size", "--ulimit", "-m", "--memory", "--memory-swap", "-c", "--cpu-shares",
    "--cpuset-cpus", "--cpuset-mems", "--cgroup-parent", "--isolation", "--metadata-file",
    "--build-context", "--attest", "--annotation", "--builder", "--allow", "--call",
}


def _in_project(path: str) -> str | None:
    """``path`` relative to the project directory (where the job's script starts), ``"."`` for
    the directory itself; ``None`` when it is elsewhere or cannot be told (absolute, another
    variable, a URL, standard input)."""
    words = u.split_words(path)
    path = words[0] if words else ""
    if not path or path == "-" or "://" in path or path.startswith("git@"):
        return None
    path = _PROJECT.sub(".", path, count=1)
    if path.startswith(("/", "$", "~", "`")):
        return None
    rel = posixpath.normpath(path)
    return None if rel == ".." or rel.startswith("../") else rel


def _contains(context: str, inner: str) -> bool:
    return context == "." or inner == context or inner.startswith(context + "/")


def _context(jv: JobView, rest: str) -> str | None:
    """The build context of a ``docker build`` command (its first positional word), a variable
    the job sets resolved."""
    words = u.split_words(re.split(r"&&|\|\||;|\|", rest, maxsplit=1)[0])
    skip = False
    for w in words:
        if skip:
            skip = False
            continue
        if w.startswith("-") and w != "-":
            skip = "=" not in w and w in _VALUED
            continue
        var = None if _PROJECT.match(w) else _VAR.match(w)
        if var:
            return u.env_value(jv, var.group(1))
        return w
    return None


def _config(jv: JobView, lines: tuple[Line, ...]) -> tuple[str, Loc] | None:
    for sl in lines:
        m = _EXPORT.search(sl.text) or _CONFIG_FLAG.search(sl.text)
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
        inner = _in_project(found[0]) if found is not None else None
        if found is None or inner is None:
            continue
        if not any(_LOGIN.search(sl.text) or _WRITES_CONFIG.search(sl.text) for sl in lines):
            continue
        build = None
        for sl in u.docker_command_lines(jv.job):
            m = _BUILD.search(sl.text)
            where = _in_project(_context(jv, m.group("rest")) or "") if m else None
            if where is not None and _contains(where, inner):
                build = sl
                break
        if build is None:
            continue
        value, loc = found
        yield finding(
            f"{u.jname(jv.job)} stores its registry login in DOCKER_CONFIG={value} ({loc}), inside the "
            f"build context of its docker build ({build.loc}): a COPY of that directory (COPY . .) "
            "puts the login's config.json in an image layer, and the classic builder sends it to the "
            "daemon with every build, unless .dockerignore excludes it. A job token expires with the "
            "job; a deploy or personal token does not.",
            'Keep the client config outside the project: DOCKER_CONFIG: "$RUNNER_TEMP_PROJECT_DIR/'
            'docker-config" (GitLab Runner 15.7+), and rm -rf "$DOCKER_CONFIG" in after_script.',
            loc=loc,
            job=jv.job.name,
        )
