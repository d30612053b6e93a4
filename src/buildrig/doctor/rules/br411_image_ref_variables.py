"""BR411 — kaniko/docker/buildah: image references built from variables that are empty or invalid here.

What it checks, on the image names a job builds, tags or pushes (kaniko ``--destination``,
``docker build -t``/``docker tag``/``docker push``, ``buildah build -t``/``buildah push``):

- ``$CI_COMMIT_TAG`` in a job that is not limited to tag pipelines (``rules: - if:
  $CI_COMMIT_TAG``, ``only: [tags]``): on branch pipelines the variable is empty, leaving
  ``registry/group/app:``;
- ``$CI_COMMIT_REF_NAME``/``$CI_COMMIT_BRANCH`` as a tag: branch names such as ``feature/login``
  contain ``/``, which a tag may not;
- with the error text the job printed (``--symptom``) showing a reference whose start is missing
  (``invalid argument ":latest"``, ``push permission for "/group/app:latest"``): the variable the
  reference starts with was empty in that pipeline. A variable no file defines is a project or
  group CI/CD variable, empty where it is *protected* and the branch is not (kaniko#702); the
  predefined ``$CI_REGISTRY_IMAGE``/``$CI_REGISTRY`` are unset when the project's container
  registry is disabled (gitlab-foss#31182). Neither shows in the files, so doctor names them only
  from the symptom.

Severity: the ``$CI_COMMIT_TAG`` case is an error, since every branch pipeline runs the job and
fails (only tag pipelines pass); a branch name with ``/`` depends on branches doctor cannot see, so
that case is a warning, and so is an empty variable named from the symptom (it depends on settings
and branches doctor cannot see).

Why it fails::

    invalid argument "registry.example.com/group/app:" for "-t, --tag" flag: invalid reference format
    error checking push permissions -- ...: could not parse reference: registry.example.com/group/app:

Fix: tag with ``$CI_COMMIT_REF_SLUG`` or ``$CI_COMMIT_SHORT_SHA``; use ``$CI_COMMIT_TAG`` only in
jobs with ``rules: - if: $CI_COMMIT_TAG``.

Docs: https://docs.gitlab.com/user/packages/container_registry/build_and_push_images/#container-registry-examples-with-gitlab-cicd
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.gitlab.model import Job

ID = "BR411"
TITLE = "kaniko/docker/buildah: image tag from a variable that is empty or has a slash"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = (
    "https://docs.gitlab.com/user/packages/container_registry/build_and_push_images/"
    "#container-registry-examples-with-gitlab-cicd"
)

_TAG_VAR = re.compile(r":\$\{?(CI_COMMIT_TAG|CI_COMMIT_REF_NAME|CI_COMMIT_BRANCH)\}?")
# The script checks or defaults the tag itself: [ -n "$CI_COMMIT_TAG" ], ${CI_COMMIT_TAG:-x}...
_GUARD = re.compile(
    r"-[nz]\s+[\"']?\$\{?CI_COMMIT_TAG|\[\[?\s+[\"']?\$\{?CI_COMMIT_TAG\}?[\"']?\s+\]|CI_COMMIT_TAG:?[-+=?]"
)
_REFS = re.compile(
    r"(?<![\w./$-])(?:docker|buildah|podman)\s+(?:image\s+)?(?:build|buildx\s+build|bud|tag|push)\b"
    r"|/kaniko/executor|(?<![\w./$-])executor\s"
)


def _tag_only(job: Job) -> bool:
    def mentions(value: Any) -> bool:
        return "CI_COMMIT_TAG" in str(value) or "tags" in str(value)

    return mentions(job.raw.get("rules")) or mentions(job.raw.get("only"))


# A reference whose first part is gone: `":latest"`, `"/group/app:latest"`, next to the refusal.
_EMPTY_START = re.compile(r'"[:/][\w.${}-]')
_REFUSED = re.compile(
    r"invalid reference format|invalid repository name|could not parse reference|push permission",
    re.IGNORECASE,
)
# The variable a reference starts with.
_LEAD_VAR = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?(?=[/:]|$)")
_REGISTRY_VARS = frozenset({"CI_REGISTRY_IMAGE", "CI_REGISTRY"})


def _empty_start(text: str | None) -> bool:
    return bool(text and _EMPTY_START.search(text) and _REFUSED.search(text))


def _references(line: str) -> list[str]:
    """The image references a build, tag or push line names (not its context or other paths)."""
    words = u.split_words(line)
    refs = u.option_values(words, "-t", "--tag", "-d", "--destination")
    for verb in ("push", "tag"):
        if verb in words:
            refs += [w for w in words[words.index(verb) + 1 :] if not w.startswith("-")]
    return refs


def _empty_variable(ctx: Context) -> Iterator[Issue]:
    """From the symptom: the variable a pushed reference starts with, empty in that pipeline."""
    for jv in ctx.jobs:
        for sl in u.script_lines(jv.job):
            if not _REFS.search(sl.text):
                continue
            for ref in _references(sl.text):
                m = _LEAD_VAR.match(ref)
                if m is None:
                    continue
                var = m.group(1)
                if var in _REGISTRY_VARS:
                    why = (f"${var} is unset when the project's container registry is disabled "
                           "(Settings > General > Visibility > Container registry)")
                    fix = (f"Enable the project's container registry, or push to another registry "
                           f"with a variable of your own instead of ${var}.")
                elif var not in jv.env and not var.startswith("CI_"):
                    why = (f"${var} is defined in no file, so it comes from the project's CI/CD "
                           "settings, where a protected variable is empty on unprotected branches")
                    fix = (f"Unprotect ${var} (or run the job on protected branches and tags only), "
                           f"or fail early: test -n \"${var}\" || exit 1.")
                else:
                    continue
                yield finding(
                    f"{u.jname(jv.job)} builds a reference starting with ${var} ({sl.loc}) and the "
                    f"job printed one with its start missing: {why}.",
                    fix,
                    loc=sl.loc,
                    job=jv.job.name,
                    severity=Severity.WARNING,
                )
                return


def check(ctx: Context) -> Iterator[Issue]:
    if _empty_start(ctx.symptom):
        yield from _empty_variable(ctx)
    workflow = ctx.pipeline is not None and "workflow" in ctx.pipeline.key_locs
    for jv in ctx.jobs:
        for sl in u.script_lines(jv.job):
            if not _REFS.search(sl.text):
                continue
            m = _TAG_VAR.search(sl.text)
            if m is None:
                continue
            var = m.group(1)
            if var == "CI_COMMIT_TAG":
                if (
                    _tag_only(jv.job)
                    or workflow
                    or "CI_COMMIT_TAG" in str(jv.job.raw.get("except", ""))
                    or any(_GUARD.search(x.text) for x in u.script_lines(jv.job))
                ):
                    continue
                why = ("$CI_COMMIT_TAG is empty in branch and merge-request pipelines, and this job is "
                       "not limited to tags")
                severity = Severity.ERROR
            else:
                why = f"${var} holds branch names such as feature/login, and '/' is not allowed in a tag"
                severity = Severity.WARNING
            yield finding(
                f"{u.jname(jv.job)} tags an image with ${var} ({sl.loc}: `{sl.text.strip()[:70]}`): "
                f"{why}, so the reference is invalid: \"invalid reference format\" (kaniko: \"could "
                "not parse reference\").",
                "Tag with $CI_COMMIT_REF_SLUG or $CI_COMMIT_SHORT_SHA"
                + ("; keep $CI_COMMIT_TAG for jobs with rules: - if: $CI_COMMIT_TAG."
                   if var == "CI_COMMIT_TAG" else "."),
                loc=sl.loc,
                job=jv.job.name,
                severity=severity,
            )
            break
