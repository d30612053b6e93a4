"""BR404 — kaniko: ``/kaniko/.docker/config.json`` has credentials for another registry than the push target.

What it checks: a kaniko job writes ``{"auths": {...}}`` into ``/kaniko/.docker/config.json`` and
pushes with ``--destination`` to a registry that has no entry there (e.g. credentials for
``$CI_REGISTRY`` but a push to Docker Hub or to ``$HARBOR_HOST``; an entry keyed with a
repository path instead of the registry host; Docker Hub keyed as something else than
``https://index.docker.io/v1/``).

Why it fails: kaniko looks credentials up by the destination's registry host, finds none and
pushes anonymously; it checks push access before building::

    error checking push permissions -- make sure you entered the correct tag name, and that you
    are authenticated correctly, and try again: checking push permission for "...":
    POST https://.../blobs/uploads/: UNAUTHORIZED: authentication required

Pushes to the project's own registry (``$CI_REGISTRY_IMAGE``) are exempt from kaniko 1.9 on:
kaniko then reads ``CI_REGISTRY``/``CI_REGISTRY_USER``/``CI_REGISTRY_PASSWORD`` itself. So are
pushes to a cloud registry whose credentials kaniko's built-in helpers find by themselves when the
job provides them: Google (``gcr.io``, ``*-docker.pkg.dev``) with ``GOOGLE_APPLICATION_CREDENTIALS``,
Amazon ECR with ``AWS_*`` credentials, Azure ACR with ``AZURE_*`` ones.

Fix: key the ``auths`` entry by the destination's registry host (``$CI_REGISTRY`` for
``$CI_REGISTRY_IMAGE``, ``https://index.docker.io/v1/`` for Docker Hub); add one entry per registry
you push to or pull private bases from.

Docs: https://github.com/GoogleContainerTools/kaniko#pushing-to-different-registries
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding
from buildrig.gitlab.imageref import DOCKER_HUB_NAMES

ID = "BR404"
TITLE = "kaniko: auth config does not cover the --destination registry"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://github.com/GoogleContainerTools/kaniko#pushing-to-different-registries"

_KEY = re.compile(r'\\*"([^"\\]+)\\*"\s*:\s*\{\s*\\*"(?:auth|username|password|identitytoken)\\*"')


def _norm(key: str) -> str:
    k = re.sub(r"\$\{(\w+)\}", r"$\1", key.strip())
    k = re.sub(r"^https?://", "", k)
    k = re.sub(r"/v[12]/?$", "", k).rstrip("/")
    return "docker.io" if k in DOCKER_HUB_NAMES else k


# Registries kaniko's built-in credential helpers serve, and the variables they read.
_CLOUD = (
    (re.compile(r"(^|\.)gcr\.io$|-docker\.pkg\.dev$"), "GOOGLE_APPLICATION_CREDENTIALS"),
    (re.compile(r"\.dkr\.ecr\.[\w-]+\.amazonaws\.com(\.cn)?$"), "AWS_"),
    (re.compile(r"\.azurecr\.io$"), "AZURE_"),
)


def _cloud_helper(jv: JobView, reg: str) -> bool:
    """kaniko's own helper for this cloud registry gets credentials the job provides."""
    for pattern, var in _CLOUD:
        if pattern.search(reg):
            return any(n.startswith(var) for n in jv.env) or any(
                var in sl.text for sl in u.script_lines(jv.job)
            )
    return False


def _dest_registry(dest: str) -> str:
    d = re.sub(r"\$\{(\w+)\}", r"$\1", dest)
    if d.startswith("$CI_REGISTRY_IMAGE"):
        return "$CI_REGISTRY"
    ref = u.parse_image(d)
    return ref.registry or "docker.io"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        cmds = u.kaniko_commands(jv.job)
        if not cmds:
            continue
        keys: list[str] = []
        write_loc = None
        for sl in u.script_lines(jv.job):
            if "/kaniko/.docker/config.json" in sl.text and ">" in sl.text:
                found = _KEY.findall(sl.text)
                if not found:
                    keys = []
                    write_loc = None
                    break  # written from a variable or file: we cannot see the registries
                if any("%" in k or not k.strip() for k in found):
                    keys = []
                    write_loc = None
                    break  # printf-style keys: the registries are in its arguments
                keys += found
                write_loc = sl.loc
        if not keys or write_loc is None:
            continue
        infers = u.kaniko_infers_gitlab_registry(u.image_name(jv.job, jv.runners))
        norm = {_norm(u.expand(jv, k)) for k in keys}
        with_path = [k for k in keys if "/" in _norm(k) and not _norm(k).startswith("$")]
        for sl, words in cmds:
            for dest in u.option_values(words, "--destination", "-d"):
                reg = _norm(u.expand(jv, _dest_registry(u.expand(jv, dest))))
                if reg in norm or (reg == "$CI_REGISTRY" and ("$CI_REGISTRY" in norm or infers)):
                    continue  # kaniko >= 1.9 finds the GitLab registry's job credentials itself
                if _cloud_helper(jv, reg):
                    continue
                unknown = reg.startswith("$") or any(k.startswith("$") and k != "$CI_REGISTRY"
                                                     for k in norm)
                if with_path and not unknown:
                    why = (f"the auths key '{with_path[0]}' includes a repository path; kaniko "
                           "matches on the registry host only")
                else:
                    why = f"it holds credentials for {', '.join(sorted(norm))} only"
                yield finding(
                    f"{u.jname(jv.job)} pushes to '{dest}' (registry {reg}) at {sl.loc}, but the "
                    f"/kaniko/.docker/config.json it writes ({write_loc}): {why}. kaniko pushes "
                    "anonymously and stops with \"error checking push permissions -- make sure you "
                    "entered the correct tag name, and that you are authenticated correctly\" "
                    "(UNAUTHORIZED: authentication required).",
                    f"Add an auths entry keyed by the destination registry host ({reg}"
                    + ("; Docker Hub is https://index.docker.io/v1/" if reg == "docker.io" else "")
                    + ").",
                    loc=sl.loc,
                    job=jv.job.name,
                    severity=Severity.WARNING if unknown else Severity.ERROR,
                )
