"""docker CLI: ``DOCKER_TLS_VERIFY=0`` (or ``false``) still turns verification on.

The docker CLI enables TLS verification when ``DOCKER_TLS_VERIFY`` is set to any non-empty value;
``"0"``, ``"false"`` and ``"no"`` included. Jobs that mean to switch TLS off this way still
require certificates and fail with, e.g.::

    could not read CA certificate "/root/.docker/ca.pem": open /root/.docker/ca.pem: no such file or
    directory

Fix: set it to an empty string (``DOCKER_TLS_VERIFY: ""``) or remove it.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, label

ID = "BR308"
TITLE = "docker CLI: DOCKER_TLS_VERIFY=0/false still enables TLS verification"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/reference/cli/docker/#environment-variables"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx):
        var = jv.env.get("DOCKER_TLS_VERIFY")
        if var is None or var.loc is None or var.value.strip().lower() not in ("0", "false", "no", "off"):
            continue
        yield finding(
            f"{label(jv.job)} sets DOCKER_TLS_VERIFY={var.value!r} ({var.loc}), which the docker CLI "
            'reads as ON (any non-empty value); it still demands certificates: "could not read CA '
            'certificate ...".',
            'Set DOCKER_TLS_VERIFY: "" (empty) or remove it to turn verification off.',
            loc=var.loc,
            job=jv.job.name,
        )
