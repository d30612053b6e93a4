"""BR413 — kaniko: the executor does not believe it runs in a container.

What it checks: a kaniko job whose error text (``--symptom``) is kaniko's refusal::

    kaniko should only be run inside of a container, run with the --force flag if you are sure
    you want to continue

kaniko looks for its container in ``/proc/1/cgroup`` and ``/.dockerenv``-like markers before it
dares to replace the root file system. On cgroup v2 hosts (Debian 11+, Ubuntu 21.10+, RHEL 9; every
current Kubernetes node) ``/proc/1/cgroup`` reads ``0::/`` and some runtimes leave no other marker,
so releases with the old check refuse to run in a perfectly good docker-executor or Kubernetes job
(kaniko#1542, #1592; the maintained fork still discusses the Kubernetes case, osscontainertools/
kaniko#235). It is a fact of the runner host and its runtime, which no file shows: without the
error text doctor says nothing, since the same job runs fine elsewhere.

Severity: WARNING with the symptom (the job fails on this host, not on every host).

Fix: a current release of the maintained fork (``ghcr.io/osscontainertools/kaniko:<version>-debug``);
where the old image must stay, set the job variable ``container: docker`` (kaniko reads it as the
marker) or pass ``--force`` to ``/kaniko/executor``: both are safe in a job container, which is
thrown away after the job.

Docs: https://github.com/GoogleContainerTools/kaniko/issues/1542
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding

ID = "BR413"
TITLE = "kaniko: the executor does not detect its container"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://github.com/GoogleContainerTools/kaniko/issues/1542"

_SYMPTOM = re.compile(r"kaniko should only be run inside of a container", re.IGNORECASE)


def _forced(jv: JobView) -> bool:
    """The job already tells kaniko it is in a container (then the refusal has another cause)."""
    if (u.env_value(jv, "container") or "").strip():
        return True
    return any("--force" in sl.text.split() for sl in u.script_lines(jv.job))


def check(ctx: Context) -> Iterator[Issue]:
    if hostfacts.said(ctx, _SYMPTOM) is not True:
        return
    for jv in u.jobs(ctx, "kaniko"):
        if _forced(jv):
            continue
        job = jv.job
        yield finding(
            f"{u.jname(job)} runs kaniko ({job.image.name if job.image else 'its image'}), which "
            "refused with \"kaniko should only be run inside of a container\": its container check "
            "reads /proc/1/cgroup, which on a cgroup v2 host (or some runtimes) shows no container.",
            "Use a current image of the maintained fork (ghcr.io/osscontainertools/kaniko:<version>-debug), "
            "or keep the image and set the job variable container: docker (or pass --force to "
            "/kaniko/executor): the job container is thrown away after the job.",
            loc=u.image_loc(job),
            job=job.name,
            severity=Severity.WARNING,
        )
