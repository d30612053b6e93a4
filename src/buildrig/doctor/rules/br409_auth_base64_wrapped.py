r"""BR409 — kaniko/BuildKit: a registry ``auth`` built with ``base64`` that wraps its output.

What it checks: a job writes a Docker ``config.json`` whose ``"auth"`` value comes from
``$(... | base64)`` without ``-w 0`` (or a following ``tr -d '\n'``). GNU and busybox ``base64``
break their output every 76 characters; ``$CI_REGISTRY_PASSWORD``/``$CI_JOB_TOKEN`` are long JWTs,
so the encoded ``user:password`` always wraps and the JSON gets a raw newline inside a string.

Why it fails: kaniko (and docker/buildctl) cannot read the file and push without credentials::

    Unable to parse "/kaniko/.docker/config.json": invalid character '\n' in string literal
    error checking push permissions -- ...: UNAUTHORIZED: authentication required

Fix: ``$(printf '%s:%s' "$CI_REGISTRY_USER" "$CI_REGISTRY_PASSWORD" | base64 | tr -d '\n')`` (or
``base64 -w 0`` where supported), or write ``"username"``/``"password"`` fields instead of ``auth``.

Docs: https://github.com/banzaicloud/drone-kaniko/pull/6
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR409"
TITLE = "kaniko/BuildKit: base64-encoded auth wraps at 76 characters"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://github.com/banzaicloud/drone-kaniko/pull/6"

_B64 = re.compile(r"\|\s*base64\b(?P<opts>[^|)`]*)(?P<rest>[^)`]*)")
_LONG = re.compile(r"CI_REGISTRY_PASSWORD|CI_JOB_TOKEN|CI_DEPENDENCY_PROXY_PASSWORD|TOKEN|PASSWORD", re.I)


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        for sl in u.script_lines(jv.job):
            if "config.json" not in sl.text or "auth" not in sl.text:
                continue
            for m in _B64.finditer(sl.text):
                opts, rest = m.group("opts"), m.group("rest")
                if re.search(r"-w\s*0|--wrap[= ]0", opts) or re.search(r"tr\s+-d\s+['\"]?\\n", rest):
                    continue
                if re.search(r"-d\b|--decode", opts):
                    continue
                long_secret = bool(_LONG.search(sl.text[: m.start()]))
                yield finding(
                    f"{u.jname(jv.job)} builds a registry auth with `| base64` and no -w 0 / tr -d "
                    f"'\\n' ({sl.loc}): base64 wraps every 76 characters, so the config.json gets a "
                    "newline inside a string: \"invalid character '\\n' in string literal\", and the "
                    "push runs unauthenticated (\"UNAUTHORIZED: authentication required\").",
                    "Append | tr -d '\\n' to the base64 pipeline (or use base64 -w 0), or write "
                    "\"username\"/\"password\" fields instead of \"auth\".",
                    loc=sl.loc,
                    job=jv.job.name,
                    severity=Severity.ERROR if long_secret else Severity.WARNING,
                )
                break
