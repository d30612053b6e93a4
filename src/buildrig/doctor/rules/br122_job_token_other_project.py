"""docker push with the job token to an image path of another project.

The CI job token (``$CI_JOB_TOKEN``, formerly ``$CI_BUILD_TOKEN``; ``$CI_REGISTRY_PASSWORD`` is
the same token) logs in to GitLab's container registry, but it may push only to the registry of
the project the job runs in: ``$CI_REGISTRY_IMAGE`` (``<namespace>/<project>``) and the images below
it. ``docker login`` succeeds; the push to any other project's path is refused::

    unauthorized: authentication required
    denied: requested access to the resource is denied

Which project a pipeline runs in is not in the files, so a literal image path is a host fact of
sorts. Two literal paths pushed with the job token to one registry that share fewer than two path
components (``myproject/backend`` and ``myproject/docs``: a project path is at least
``<namespace>/<project>``) cannot both be this project's: a WARNING. A single literal path is named
only when the error text (``--symptom``) says the registry refused the push: a WARNING naming the
check (the project's path, ``$CI_PROJECT_PATH``).

Fix: push to ``$CI_REGISTRY_IMAGE`` (or ``$CI_REGISTRY_IMAGE/<name>``); to push to another
project, log in with a deploy token or a project access token of that project (``write_registry``),
kept in a masked CI/CD variable.

Docs: https://docs.gitlab.com/ci/jobs/ci_job_token/
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.facts import Line

ID = "BR122"
TITLE = "docker push with the CI job token to another project's image path"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/jobs/ci_job_token/"

SYMPTOM = re.compile(
    r"unauthorized: authentication required|denied: requested access to the resource is denied"
    r"|insufficient_scope",
    re.IGNORECASE,
)
_JOB_TOKEN = re.compile(r"\$\{?(?:CI_JOB_TOKEN|CI_BUILD_TOKEN|CI_REGISTRY_PASSWORD)\b|\bgitlab-ci-token\b")
_LOGIN = re.compile(r"(?<![\w./$-])docker\s+login\b")
_PUSH = re.compile(r"(?<![\w./$-])docker\s+(?:image\s+)?push\b")
_CHECK = "echo $CI_PROJECT_PATH in the job, or Settings > General of the project"


@dataclass(frozen=True)
class _Push:
    job: str
    line: Line
    host: str
    path: str


def _host_and_path(ref: str) -> tuple[str, str]:
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "docker.io", ref
    path = path.split("@", 1)[0]
    if ":" in path.rsplit("/", 1)[-1]:
        path = path.rsplit(":", 1)[0]
    return host, path


def _token_logins(lines: tuple[Line, ...]) -> list[str]:
    """The registries the job logs in to with the job token ("" for a variable: any)."""
    out = []
    for ln in lines:
        m = _LOGIN.search(ln.text)
        if m is None or not _JOB_TOKEN.search(ln.text):
            continue
        words = u.split_words(ln.text[m.end() :])
        args = [w for i, w in enumerate(words) if not w.startswith("-") and not (
            i > 0 and words[i - 1] in ("-u", "-p", "--username", "--password"))]
        target = args[-1] if args else "docker.io"
        out.append("" if "$" in target else target.split("/", 1)[0])
    return out


def _pushes(ctx: Context) -> list[_Push]:
    out: list[_Push] = []
    for jv in ctx.jobs:
        lines = u.script_lines(jv.job)
        logins = _token_logins(lines)
        if not logins:
            continue
        for ln in lines:
            m = _PUSH.search(ln.text)
            if m is None:
                continue
            refs = [w for w in u.split_words(ln.text[m.end() :]) if not w.startswith("-")]
            if not refs or "$" in refs[0]:
                continue  # $CI_REGISTRY_IMAGE and friends: this project's, or not known
            host, path = _host_and_path(refs[0])
            if any(reg in ("", host) for reg in logins):
                out.append(_Push(jv.job.name, ln, host, path))
    return out


def _project_key(path: str) -> tuple[str, ...]:
    """The first two path components: a project path is at least ``<namespace>/<project>``, so
    two image paths whose keys differ (or a path too short to hold one) share no project."""
    return tuple(path.split("/")[:2])


def check(ctx: Context) -> Iterator[Issue]:
    pushes = _pushes(ctx)
    keys: dict[str, dict[tuple[str, ...], _Push]] = {}
    for p in pushes:
        keys.setdefault(p.host, {}).setdefault(_project_key(p.path), p)
    seen: set[str] = set()
    for p in pushes:
        mine = _project_key(p.path)
        others = [q for k, q in keys[p.host].items() if (k != mine or len(k) < 2) and q.path != p.path]
        if others and p.job not in seen:
            seen.add(p.job)
            q = others[0]
            yield finding(
                f"job '{p.job}' ({p.line.loc}) pushes {p.host}/{p.path} and job '{q.job}' pushes "
                f"{q.host}/{q.path}, both logged in with the CI job token; no one project holds both "
                "paths, and the job token may push only to its own project's registry: the other push "
                'fails with "unauthorized: authentication required" '
                f"(not checked: {_CHECK}).",
                "Push to $CI_REGISTRY_IMAGE (or $CI_REGISTRY_IMAGE/<name>); for another project's "
                "registry log in with a deploy token or project access token of that project.",
                loc=p.line.loc,
                job=p.job,
            )
    if hostfacts.said(ctx, SYMPTOM) is not True:
        return
    for p in pushes:
        if p.job in seen:
            continue
        seen.add(p.job)
        yield finding(
            f"job '{p.job}' ({p.line.loc}) pushes {p.host}/{p.path} after logging in with the CI job "
            "token, and the registry refused it: the job token may push only to the project the "
            f"pipeline runs in (not checked: {_CHECK} must be {p.path} or hold it).",
            "Push to $CI_REGISTRY_IMAGE (or $CI_REGISTRY_IMAGE/<name>); for another project's "
            "registry log in with a deploy token or project access token of that project.",
            loc=p.line.loc,
            job=p.job,
        )
