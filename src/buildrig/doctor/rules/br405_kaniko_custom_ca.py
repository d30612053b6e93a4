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

With the error text the job printed (``--symptom``) showing kaniko's x509 "certificate signed by
unknown authority" for a registry, a kaniko job that hands kaniko no CA is named even when no file
signals a private CA: the registry (its name is read from the ``https://<host>/v2/`` in the text)
serves a certificate from a CA kaniko's bundle lacks, a private root or a TLS-inspecting proxy's
(gitlab-ce#53656: a ``FROM`` on the GitLab instance's own registry). Which CA signed a registry's
certificate shows in no file, so this is named only from the text, as a WARNING naming the check
(``openssl s_client -connect <host>:443 -showcerts``). A job that already hands kaniko a CA is left
alone: its CA is then the wrong one or empty, which the text cannot tell apart.

Fix: ``cat "$CA_CERTIFICATE" >> /kaniko/ssl/certs/additional-ca-cert-bundle.crt`` before
``/kaniko/executor`` (or ``--registry-certificate registry.example.com=/path/ca.crt``).

Docs: https://github.com/GoogleContainerTools/kaniko/issues/1539
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding

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


# kaniko's refusal of a registry's certificate, and the registry it names (``https://<host>/v2/``)
_UNKNOWN_CA = re.compile(r"x509: certificate signed by unknown authority", re.IGNORECASE)
_REGISTRY = re.compile(r"https://([\w.-]+(?::\d+)?)/v2/")


def _from_files(jv: JobView, lines: tuple[u.Line, ...]) -> Issue | None:
    """The CA the files show, never handed to kaniko (None: the files show none, or it is handed)."""
    over = next((sl for sl in lines if _OVERWRITE.search(sl.text)), None)
    if over is not None:
        return finding(
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
    if any(_HANDLED.search(sl.text) for sl in lines):
        return None
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
        return None
    return finding(
        f"{u.jname(jv.job)} builds with kaniko and {signal}, but never gives it to kaniko: "
        "the debug image trusts only /kaniko/ssl/certs, so pulls and pushes fail with \"x509: "
        "certificate signed by unknown authority\".",
        "Append the CA before building: cat \"$CA_CERTIFICATE\" >> "
        "/kaniko/ssl/certs/additional-ca-cert-bundle.crt (or --registry-certificate "
        "<registry>=<ca file>).",
        loc=loc,
        job=jv.job.name,
    )


def _from_symptom(jv: JobView, text: str, lines: tuple[u.Line, ...]) -> Issue | None:
    """kaniko's x509 refusal in the error text, from a job that hands kaniko no CA."""
    if any(_HANDLED.search(sl.text) for sl in lines):
        return None
    m = _REGISTRY.search(text)
    host = m.group(1) if m else None
    where = host or "the registry"
    port = host if host and ":" in host else f"{host}:443" if host else "<registry>:443"
    return finding(
        f"{u.jname(jv.job)} runs kaniko, which refused {where}'s certificate (\"x509: certificate "
        "signed by unknown authority\"): it was signed by a CA kaniko's bundle lacks (a private "
        "root, or a TLS-inspecting proxy's), and the job never hands kaniko a CA; the debug image "
        "trusts only /kaniko/ssl/certs.",
        "Append that CA before building: cat \"$CA_CERTIFICATE\" >> "
        "/kaniko/ssl/certs/additional-ca-cert-bundle.crt (a file-type CI/CD variable holding the "
        f"PEM), or pass --registry-certificate {host or '<registry>'}=<ca file>. See which CA "
        f"signed it: openssl s_client -connect {port} -showcerts </dev/null.",
        loc=u.kaniko_commands(jv.job)[0][0].loc,
        job=jv.job.name,
        severity=Severity.WARNING,
    )


def check(ctx: Context) -> Iterator[Issue]:
    unknown_ca = hostfacts.said(ctx, _UNKNOWN_CA) is True
    for jv in ctx.jobs:
        if not u.kaniko_commands(jv.job):
            continue
        lines = u.script_lines(jv.job)
        issue = _from_files(jv, lines)
        if issue is None and unknown_ca and ctx.symptom:
            issue = _from_symptom(jv, ctx.symptom, lines)
        if issue is not None:
            yield issue
