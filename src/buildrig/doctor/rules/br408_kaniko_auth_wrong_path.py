"""BR408 — kaniko: registry credentials written where kaniko does not look.

What it checks: a kaniko job writes a Docker ``config.json`` somewhere else than
``/kaniko/.docker/config.json`` (``~/.docker/config.json``, ``/root/.docker/config.json``,
``$HOME/.docker/...``) and neither writes the kaniko path nor points ``DOCKER_CONFIG`` at the
directory it wrote.

Why it fails: the kaniko image sets ``DOCKER_CONFIG=/kaniko/.docker/`` and reads credentials only
from there, so it pushes anonymously::

    error checking push permissions -- make sure you entered the correct tag name, and that you
    are authenticated correctly, and try again: ... UNAUTHORIZED: authentication required

Pushes only to the project's own registry (``$CI_REGISTRY_IMAGE``) work from kaniko 1.9 on, which
reads ``CI_REGISTRY``/``CI_REGISTRY_USER``/``CI_REGISTRY_PASSWORD`` by itself (its GitLab CI credential
helper, kaniko commit f930b75b8): then the write is only dead code and doctor says so as info, unless the
files redefine ``CI_REGISTRY_IMAGE`` or ``CI_REGISTRY`` (a global or included ``variables:`` entry
overrides GitLab's predefined value): the name then points wherever that value says.

Fix: write the file to ``/kaniko/.docker/config.json`` (or set ``DOCKER_CONFIG`` to the directory
you write).

Docs: https://github.com/GoogleContainerTools/kaniko#pushing-to-different-registries
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR408"
TITLE = "kaniko: config.json written outside /kaniko/.docker"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://github.com/GoogleContainerTools/kaniko#pushing-to-different-registries"

_WRITE = re.compile(r">>?\s*[\"']?([^\s\"';|&]*config\.json)")


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        if not u.kaniko_commands(jv.job):
            continue
        cfg = (u.env_value(jv, "DOCKER_CONFIG") or "").rstrip("/")
        targets = [(sl, m.group(1)) for sl in u.script_lines(jv.job) for m in _WRITE.finditer(sl.text)]
        if not targets:
            continue
        good = [t for _, t in targets if t.startswith(("/kaniko/.docker/", "$DOCKER_CONFIG",
                                                       "${DOCKER_CONFIG}"))]
        if cfg:
            good += [t for _, t in targets if t.rsplit("/", 1)[0].rstrip("/") == cfg]
        if good:
            continue
        dests = [d for _, words in u.kaniko_commands(jv.job)
                 for d in u.option_values(words, "--destination", "-d")]
        redefined = any(u.explicit_env(jv, n) is not None for n in ("CI_REGISTRY", "CI_REGISTRY_IMAGE"))
        own = [] if redefined else [d for d in dests if re.match(r"\$\{?CI_REGISTRY(_IMAGE)?\b", d)]
        sl, target = targets[0]
        if dests and len(own) == len(dests) and u.kaniko_infers_gitlab_registry(
            u.image_name(jv.job, jv.runners)
        ):
            # kaniko >= 1.9 asks its bundled GitLab CI credential helper (kaniko f930b75b8, #2040),
            # so the push works: the write is dead code that breaks on an older pinned image
            yield finding(
                f"{u.jname(jv.job)} writes registry credentials to '{target}' ({sl.loc}), which "
                "kaniko never reads; the push works only because kaniko 1.9 and later take "
                "$CI_REGISTRY_USER/$CI_REGISTRY_PASSWORD for $CI_REGISTRY by themselves.",
                "Drop the write, or write /kaniko/.docker/config.json if you pin a kaniko "
                "older than 1.9 or push elsewhere.",
                loc=sl.loc,
                job=jv.job.name,
                severity=Severity.INFO,
            )
            continue
        yield finding(
            f"{u.jname(jv.job)} writes registry credentials to '{target}' ({sl.loc}), but kaniko "
            "reads only $DOCKER_CONFIG (/kaniko/.docker/config.json in its image), so it pushes "
            "anonymously: \"error checking push permissions ... UNAUTHORIZED: authentication "
            "required\".",
            "Write the file to /kaniko/.docker/config.json (or set DOCKER_CONFIG to its directory).",
            loc=sl.loc,
            job=jv.job.name,
        )
