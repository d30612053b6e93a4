"""BR706 — security: credentials written into ``.gitlab-ci.yml``.

What it checks: literal secrets in the pipeline file, which every developer with read access to
the repository (and its whole history) can see:

- ``variables:`` (global, job or service) whose name says secret (``*PASSWORD*``, ``*TOKEN*``,
  ``*SECRET*``, ``*API_KEY*``, ``DOCKER_AUTH_CONFIG``, ...) with a literal value instead of a
  ``$VARIABLE`` reference;
- ``docker``/``buildah``/``podman``/``helm login ... -p <literal>`` (or ``--password``), and
  ``echo <literal> | ... login --password-stdin``;
- Docker ``config.json`` content with a literal ``"auth"``/``"password"`` value.

Not flagged: ``$VAR`` references, placeholders and dummy values (``password``, ``postgres``...),
a file path where a variable names where a credential lives (``GOOGLE_APPLICATION_CREDENTIALS:
/secrets/gcp/key.json``, as Google's client libraries read it),
and the throw-away passwords of test-database services (``POSTGRES_PASSWORD``,
``MYSQL_ROOT_PASSWORD``...). ERROR for registry/cloud/forge credentials and known token shapes
(``glpat-``, ``ghp_``, ``AKIA``...), WARNING for other secret-named variables. Values are never
printed: findings show ``[MASKED]``.

Fix: delete the value from the file (and rotate it: it stays in git history), store it as a
masked (and protected) CI/CD variable in Settings > CI/CD > Variables or use ``$CI_REGISTRY_PASSWORD``
/ ``$CI_JOB_TOKEN`` for the GitLab registry; log in with ``--password-stdin``.

Docs: https://docs.gitlab.com/ci/variables/#cicd-variable-security
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.errors import Loc
from buildrig.gitlab.model import Variable

ID = "BR706"
TITLE = "security: credentials written into .gitlab-ci.yml"
SEVERITY = Severity.ERROR
CATEGORY = Category.SECURITY
DOCS = "https://docs.gitlab.com/ci/variables/#cicd-variable-security"

_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|(^|_)PASS$|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY(?!_ID)|"
    r"AUTH_CONFIG|(^|_)AUTH$|CREDENTIAL",
    re.I,
)
_NOT_SECRET_NAME = re.compile(
    r"(_FILE|_PATH|_PATHS|_URL|_USER|_USERNAME|_NAME|_ID|_HEADER|_TYPE|_DIR|_ENABLED|_DISABLED|_EXCLUDED"
    r"|_VERSION|_LENGTH|_TTL|_EXPIRY|_EXPIRES|_SCOPES?|_METHOD|_MODE|_FORMAT|_HOST|_PORT|_REGION"
    r"|_ENDPOINT|_LOCATION|_PREFIX)$|^SECRET_DETECTION",
    re.I,
)
# Throw-away passwords of service containers (test databases) are not leaked credentials.
_SERVICE_CONFIG = re.compile(
    r"^(POSTGRES|PG|MYSQL|MARIADB|MONGO|MONGO_INITDB|RABBITMQ|REDIS|MINIO|ELASTIC|KEYCLOAK|MSSQL|SA"
    r"|ORACLE|INFLUXDB|NEO4J|CLICKHOUSE|COUCHDB|ARANGO)_",
    re.I,
)
_DUMMY = frozenset(
    {"password", "passwd", "secret", "test", "testing", "tests", "root", "admin", "postgres", "mysql",
     "example", "changeme", "change_me", "dummy", "guest", "pass", "123456", "12345678", "password123",
     "secret123", "mysecret", "mysecretpassword", "notsecret", "fake", "unused", "ci", "gitlab"}
)
# Names or value shapes that mean a real, reusable credential (registry, cloud, forge tokens).
_HIGH_VALUE = re.compile(
    r"(^|_)(REGISTRY|DOCKER|DOCKERHUB|HARBOR|QUAY|GHCR|ECR|GCR|ACR|NEXUS|ARTIFACTORY|AWS|AZURE|GCP|GOOGLE"
    r"|NPM|PYPI|GITHUB|GITLAB|GL|DEPLOY|KUBE|K8S|SSH|SONAR|VAULT|SLACK|HUB|CI|RUNNER)(_|$)",
    re.I,
)
_TOKEN_SHAPE = re.compile(r"^(glpat-|gldt-|glrt-|ghp_|gho_|github_pat_|AKIA|xox[abp]-|npm_|dckr_pat_|sk-)")
# A path to a key file, not the key: two or more segments and a file name with an extension, or
# under a directory secrets are mounted in. A base64 secret may hold '/' but not this shape.
_PATH = re.compile(
    r"^(~|\.{1,2})?/(?:[\w.@-]+/)+[\w@-]+\.[A-Za-z0-9]{1,8}$"
    r"|^/(etc|run|var|home|root|tmp|builds|secrets?|opt|usr|kaniko|mnt)(/[\w.@-]+)+/?$"
)
_PLACEHOLDER = re.compile(r"^(|\s+|<.*>|x{3,}|\*+|null|none|true|false|yes|no|\[MASKED\])$", re.I)
_LOGIN = re.compile(r"(?<![\w./$-])(docker|buildah|podman|helm|skopeo|crane|oras)\b.*\blogin\b")
_PW_OPT = re.compile(r"(?:\s-p|\s--password)(?:\s+|=)(['\"]?)([^\s'\"]+)\1")
_STDIN = re.compile(r"(?:echo|printf)\s+(['\"]?)([^\s'\"|]+)\1\s*\|\s*\S*.*--password-stdin")
_JSON_SECRET = re.compile(r'\\?"(?:auth|password|identitytoken)\\?"\s*:\s*\\?"([^"\\$]{8,})\\?"')


def _literal(value: str) -> bool:
    v = value.strip()
    if not v or "$" in v or _PLACEHOLDER.match(v) or len(v) < 6 or v.lower() in _DUMMY:
        return False
    if _PATH.match(v):
        return False
    # a URL without userinfo or a plain number is configuration, not a secret
    return not re.match(r"^https?://[^@\s]+$", v) and not re.match(r"^\d{1,7}$", v)


def _secret_var(v: Variable) -> bool:
    if v.file and v.value.strip().startswith("$"):
        return False
    return (
        bool(_SECRET_NAME.search(v.name))
        and not _NOT_SECRET_NAME.search(v.name)
        and not _SERVICE_CONFIG.match(v.name)
        and _literal(v.value)
    )


def _severity(v: Variable) -> Severity:
    if _HIGH_VALUE.search(v.name) or _TOKEN_SHAPE.match(v.value.strip()):
        return Severity.ERROR
    return Severity.WARNING


def check(ctx: Context) -> Iterator[Issue]:
    seen: set[tuple[str, str]] = set()

    def var_finding(v: Variable, where: str, job: str | None) -> Iterator[Issue]:
        key = (v.name, str(v.loc))
        if key in seen:
            return
        seen.add(key)
        yield finding(
            f"{where} sets {v.name} = [MASKED] ({v.loc or 'the pipeline'}): a literal credential in "
            ".gitlab-ci.yml is readable by everyone with access to the repository and stays in its "
            "history.",
            f"Remove the value, rotate it, and define {v.name} as a masked (protected) CI/CD "
            "variable in Settings > CI/CD > Variables.",
            loc=v.loc,
            job=job,
            severity=_severity(v),
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
        for sl in u.script_lines(job, after=True):
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
                f"{u.jname(job)} runs {what} ({loc}: [MASKED]): the credential is readable by "
                "everyone with access to the repository and its history.",
                "Rotate the credential, store it as a masked CI/CD variable and log in with "
                "echo \"$REGISTRY_PASSWORD\" | docker login -u \"$REGISTRY_USER\" --password-stdin "
                "(or $CI_REGISTRY_PASSWORD / $CI_JOB_TOKEN for the GitLab registry).",
                loc=loc,
                job=job.name,
                severity=Severity.ERROR,
            )
