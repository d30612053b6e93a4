"""docker_host: TLS on, but the job never puts client certificates where the CLI looks.

With ``DOCKER_TLS_VERIFY`` set the CLI reads ``ca.pem``, ``cert.pem`` and ``key.pem`` from
``DOCKER_CERT_PATH`` (default ``~/.docker``). Nothing in GitLab writes them: the job has to,
usually from CI/CD variables. A **file**-type variable holds a *path* to a temp file, so
``echo "$DOCKER_CA" > ca.pem`` writes the path, not the certificate (use ``cp``); a missing
client certificate is rejected by a ``--tlsverify`` daemon. Symptoms::

    could not read CA certificate "/root/.docker/ca.pem": open /root/.docker/ca.pem: no such file or
    directory
    remote error: tls: certificate required

Fix: in ``before_script``: ``mkdir -p "$DOCKER_CERT_PATH"``, then ``cp "$DOCKER_CA_FILE"
"$DOCKER_CERT_PATH/ca.pem"`` (file variables) or ``printf '%s' "$DOCKER_CA" > ...`` (variables),
for ca.pem, cert.pem and key.pem; or mount the directory through the runner's volumes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, tls_on, var_loc

ID = "BR303"
TITLE = "docker_host: client certificates are never written for the TLS connection"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/security/protect-access/#use-tls-https-to-protect-the-docker-daemon-socket"
_FILES = ("ca.pem", "cert.pem", "key.pem")


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "docker_host"):
        ep = endpoint(jv.env)
        if ep is None or ep.scheme != "tcp" or not tls_on(jv.env):
            continue
        cert_var = jv.env.get("DOCKER_CERT_PATH")
        cert_path = cert_var.value.rstrip("/") if cert_var is not None and cert_var.value else "~/.docker"
        # jobs run as root unless the image says otherwise: ~ is /root
        mounted = cert_path.replace("~", "/root", 1) if cert_path.startswith("~") else cert_path
        if any(F.shares_path(r, mounted) for r in jv.runners):
            continue
        if any("-----BEGIN" in v.value for v in jv.env.values()):
            continue
        text = "\n".join(ln.text for ln in F.script_lines(jv.job))
        mentions_dir = (
            cert_path in text
            or "DOCKER_CERT_PATH" in text
            or (cert_path.startswith("~") and re.search(r"(~|\$HOME|/root)/\.docker", text) is not None)
        )
        written = [f for f in _FILES if f in text]
        if mentions_dir and len(written) == len(_FILES):
            continue
        if written and mentions_dir:
            missing = [f for f in _FILES if f not in written]
            what = f"writes {', '.join(written)} but not {', '.join(missing)}"
            symptom = "remote error: tls: certificate required"
        else:
            what = f"never writes ca.pem, cert.pem and key.pem to {cert_path}"
            symptom = (
                f'could not read CA certificate "{cert_path}/ca.pem": open {cert_path}/ca.pem: '
                "no such file or directory"
            )
        yield finding(
            f'{label(jv.job)} verifies TLS to {ep.raw} but {what}; the job fails with "{symptom}" '
            "(unless the runner or image provides them).",
            f'In before_script: mkdir -p "{cert_path}" and write ca.pem, cert.pem and key.pem there from '
            'CI/CD variables (cp "$FILE_VAR" for file-type variables, printf \'%s\' "$VAR" for the others).',
            loc=var_loc(cert_var, jv.job, "before_script", "script", "variables"),
            job=jv.job.name,
        )
