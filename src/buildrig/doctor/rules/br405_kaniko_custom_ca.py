"""BR405 — kaniko: a private CA is in play but kaniko is never given it.

What it checks: a kaniko job where the set-up signals a registry or GitLab behind a private CA
(the runner's ``tls-ca-file``, a CI variable such as ``CA_CERTIFICATE``/``CUSTOM_CA``/
``ADDITIONAL_CA_CERT_BUNDLE``, or the job installing a CA with ``update-ca-certificates``/into
``/etc/ssl/certs``) while nothing hands that CA to kaniko: no write to
``/kaniko/ssl/certs/additional-ca-cert-bundle.crt`` (or ``/kaniko/ssl/certs/``), no
``--registry-certificate`` and no ``--skip-tls-verify*``.

Why it fails: the debug image trusts only the bundle under ``/kaniko/ssl/certs`` (``SSL_CERT_DIR``);
the system trust store of the job, the runner's ``tls-ca-file`` and Docker's ``certs.d`` do not
reach it::

    error checking push permissions -- ...: Get "https://registry.example.com/v2/":
    tls: failed to verify certificate: x509: certificate signed by unknown authority

It also checks the opposite mistake, the workaround GitLab's docs once gave: writing the CA *over*
kaniko's own bundle (``echo "$CA" > /kaniko/ssl/certs/ca-certificates.crt``). kaniko then trusts
only that CA, and every pull or push to a public registry (the Dockerfile's ``FROM`` on Docker Hub)
fails with the same x509 error (gitlab-org/gitlab!35295). A warning: the job fails only when it
reaches a registry the custom CA did not sign, which depends on the Dockerfile and the registries.

Fix: ``cat "$CA_CERTIFICATE" >> /kaniko/ssl/certs/additional-ca-cert-bundle.crt`` before
``/kaniko/executor`` (or ``--registry-certificate registry.example.com=/path/ca.crt``).

Docs: https://github.com/GoogleContainerTools/kaniko/issues/1539
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR405"
TITLE = "kaniko: custom CA not added to kaniko's trust bundle"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://github.com/GoogleContainerTools/kaniko/issues/1539"

_CA_VAR = re.compile(r"(^|_)(CA|ROOT_CA|CUSTOM_CA)(_|$)|CA_CERT|CA_BUNDLE|CACERT|CA_FILE|CA_PEM", re.I)
_HANDLED = re.compile(
    r"/kaniko/ssl/certs|--registry-certificate|--skip-tls-verify|--insecure(?:-registry|-pull)?\b"
)
# ">" (not ">>") onto kaniko's own bundle, or cp/mv over it
_OVERWRITE = re.compile(
    r"(?<!>)>\s*[\"']?/kaniko/ssl/certs/ca-certificates\.crt|\b(?:cp|mv)\s+\S+\s+[\"']?/kaniko/ssl/certs/"
    r"ca-certificates\.crt"
)
_SYSTEM_CA = re.compile(r"update-ca-certificates|/etc/ssl/certs|/usr/local/share/ca-certificates")


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        if not u.kaniko_commands(jv.job):
            continue
        lines = u.script_lines(jv.job)
        over = next((sl for sl in lines if _OVERWRITE.search(sl.text)), None)
        if over is not None:
            yield finding(
                f"{u.jname(jv.job)} writes over kaniko's own CA bundle ({over.loc}: "
                f"`{over.text.strip()[:70]}`): kaniko then trusts only that CA, so pulls and pushes to "
                "public registries (the Dockerfile's FROM on Docker Hub) fail with \"x509: certificate "
                "signed by unknown authority\".",
                "Append instead of replacing: cat \"$CA_CERTIFICATE\" >> "
                "/kaniko/ssl/certs/additional-ca-cert-bundle.crt (kaniko reads every file in "
                "/kaniko/ssl/certs).",
                loc=over.loc,
                job=jv.job.name,
            )
            continue
        if any(_HANDLED.search(sl.text) for sl in lines):
            continue
        signal: str | None = None
        loc = u.kaniko_commands(jv.job)[0][0].loc
        sys_ca = next((sl for sl in lines if _SYSTEM_CA.search(sl.text)), None)
        if sys_ca is not None:
            signal = (f"it installs a CA into the system trust store ({sys_ca.loc}), which kaniko "
                      "does not read")
            loc = sys_ca.loc
        if signal is None:
            var = next((v for v in jv.env.values() if _CA_VAR.search(v.name) and v.value), None)
            if var is None:
                var = next((v for v in jv.job.variables if _CA_VAR.search(v.name) and v.value), None)
            if var is not None:
                signal = f"the variable {var.name}{f' ({var.loc})' if var.loc else ''} holds a CA"
        if signal is None:
            r = next((r for r in jv.runners if r.raw.get("tls-ca-file")), None)
            if r is not None:
                signal = (f"{u.rname(r)} trusts a private CA (tls-ca-file at "
                          f"{u.runner_loc(r, 'tls-ca-file')})")
        if signal is None:
            continue
        yield finding(
            f"{u.jname(jv.job)} builds with kaniko and {signal}, but never gives it to kaniko: "
            "the debug image trusts only /kaniko/ssl/certs, so pulls and pushes fail with \"x509: "
            "certificate signed by unknown authority\".",
            "Append the CA before building: cat \"$CA_CERTIFICATE\" >> "
            "/kaniko/ssl/certs/additional-ca-cert-bundle.crt (or --registry-certificate "
            "<registry>=<ca file>).",
            loc=loc,
            job=jv.job.name,
        )
