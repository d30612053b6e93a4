"""BR706 — security: credentials written into ``.gitlab-ci.yml``.

What it checks: literal secrets in the pipeline file, which every developer with read access to
the repository (and its whole history) can see:

- ``variables:`` (global, job or service) whose name says secret (``*PASSWORD*``, ``*TOKEN*``,
  ``*SECRET*``, ``*API_KEY*``, ``DOCKER_AUTH_CONFIG``, ...) with a literal value instead of a
  ``$VARIABLE`` reference;
- ``docker``/``buildah``/``podman``/``helm login ... -p <literal>`` (or ``--password``), and
  ``echo <literal> | ... login --password-stdin``;
- Docker ``config.json`` content with a literal ``"auth"``/``"password"`` value.

Values are never printed: findings show ``[MASKED]``.

Fix: delete the value from the file (and rotate it: it stays in git history), store it as a
masked (and protected) CI/CD variable in Settings > CI/CD > Variables or use ``$CI_REGISTRY_PASSWORD``
/ ``$CI_JOB_TOKEN`` for the GitLab registry; log in with ``--password-stdin``.

Docs: https://docs.gitlab.com/ci/variables/#cicd-variable-security
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Finding, Severity, finding
from buildrig.doctor.rules import _b_util as u
from buildrig.errors import Loc
from buildrig.gitlab.model import Variable

ID = "BR706"
TITLE = "security: credentials written into .gitlab-ci.yml"
SEVERITY = Severity.ERROR
CATEGORY = Category.SECURITY
DOCS = "https://docs.gitlab.com/ci/variables/#cicd-variable-security"

_SELF = sys.modules[__name__]
_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|(^|_)PASS$|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY(?!_ID)|"
    r"AUTH_CONFIG|(^|_)AUTH$|CREDENTIAL",
    re.I,
)
_NOT_SECRET_NAME = re.compile(r"(_FILE|_PATH|_URL|_USER|_USERNAME|_NAME|_ID|_HEADER|_TYPE|_DIR)$", re.I)
_PLACEHOLDER = re.compile(r"^(|\s+|changeme|change_me|<.*>|xxx+|\*+|null|none|true|false|\[MASKED\])$", re.I)
_LOGIN = re.compile(r"(?<![\w./$-])(docker|buildah|podman|helm|skopeo|crane|oras)\b.*\blogin\b")
_PW_OPT = re.compile(r"(?:\s-p|\s--password)(?:\s+|=)(['\"]?)([^\s'\"]+)\1")
_STDIN = re.compile(r"(?:echo|printf)\s+(['\"]?)([^\s'\"|]+)\1\s*\|\s*\S*.*--password-stdin")
_JSON_SECRET = re.compile(r'\\?"(?:auth|password|identitytoken)\\?"\s*:\s*\\?"([^"\\$]{8,})\\?"')


def _literal(value: str) -> bool:
    v = value.strip()
    return bool(v) and "$" not in v and not _PLACEHOLDER.match(v) and len(v) >= 6


def _secret_var(v: Variable) -> bool:
    if v.file and v.value.strip().startswith("$"):
        return False
    return (
        bool(_SECRET_NAME.search(v.name))
        and not _NOT_SECRET_NAME.search(v.name)
        and _literal(v.value)
    )


def check(ctx: Context) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()

    def var_finding(v: Variable, where: str, job: str | None) -> Iterator[Finding]:
        key = (v.name, str(v.loc))
        if key in seen:
            return
        seen.add(key)
        yield finding(
            _SELF,
            f"{where} sets {v.name} = [MASKED] ({v.loc or 'the pipeline'}): a literal credential in "
            ".gitlab-ci.yml is readable by everyone with access to the repository and stays in its "
            "history.",
            f"Remove the value, rotate it, and define {v.name} as a masked (protected) CI/CD "
            "variable in Settings > CI/CD > Variables.",
            loc=v.loc,
            job=job,
        )

    if ctx.pipeline is not None:
        for v in ctx.pipeline.variables:
            if _secret_var(v):
                yield from var_finding(v, "the global variables: block", None)
    for jv in ctx.jobs:
        job = jv.job
        for v in job.variables:
            if _secret_var(v):
                yield from var_finding(v, u.jname(job), job.name)
        for svc in job.services:
            for v in svc.variables:
                if _secret_var(v):
                    yield from var_finding(v, f"{u.jname(job)} service '{svc.name}'", job.name)
        for sl in u.script_lines(job, with_after=True):
            text = " " + sl.text
            what: str | None = None
            if _LOGIN.search(text):
                m = _PW_OPT.search(text) or _STDIN.search(text)
                if m is not None and _literal(m.group(2)):
                    what = "a registry login with a literal password"
            if what is None and _JSON_SECRET.search(text):
                what = "Docker config.json content with a literal auth/password"
            if what is None:
                continue
            key = (job.name, sl.text)
            if key in seen:
                continue
            seen.add(key)
            loc: Loc = sl.loc
            yield finding(
                _SELF,
                f"{u.jname(job)} runs {what} ({loc}: [MASKED]): the credential is readable by "
                "everyone with access to the repository and its history.",
                "Rotate the credential, store it as a masked CI/CD variable and log in with "
                "echo \"$REGISTRY_PASSWORD\" | docker login -u \"$REGISTRY_USER\" --password-stdin "
                "(or $CI_REGISTRY_PASSWORD / $CI_JOB_TOKEN for the GitLab registry).",
                loc=loc,
                job=job.name,
                severity=Severity.ERROR,
            )
