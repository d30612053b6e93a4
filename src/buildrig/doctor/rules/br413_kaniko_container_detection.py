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
error text doctor says nothing about current or floating releases, since the same job runs fine
elsewhere.

From the files alone it points (INFO) at a job that pins a kaniko release whose check is known to
miss containers on cgroup v2: v1.5.0 moved to a cgroup-only detection (kaniko#1502, in v1.5.0), v1.7.0
added a marker-file check (#1686) that not every runtime satisfies (the field case saw v1.8.0 refuse in
a Docker-executor job, kaniko#1542), and v1.9.0 detects containers by their overlay root mount
(#2054). So ``gcr.io/kaniko-project/executor`` tags from v1.5 to v1.8 only; floating tags
(``debug``, ``latest``) and other releases say nothing. The pointer names the check
(``stat -fc %T /sys/fs/cgroup``: ``cgroup2fs`` is v2); an error text of another cause drops it, and
``--live`` settles it (cgroup v2 on the runner host: ERROR; v1: nothing).

Severity: WARNING with the symptom (the job fails on this host, not on every host); INFO for a
pinned release in the known-bad range without it.

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


# v1.5.0 (kaniko#1502) to v1.8.x: v1.9.0 detects containers by their overlay root mount (#2054)
_BAD_RANGE = ((1, 5), (1, 9))


def _pinned_bad(jv: JobView) -> str | None:
    """The job's image when it pins an upstream kaniko release with the broken check."""
    name = u.job_image(jv)
    if name is None or u.known_kaniko_repo(name) != "kaniko-project/executor":
        return None
    ver = u.kaniko_version(name)
    return name if ver is not None and _BAD_RANGE[0] <= ver < _BAD_RANGE[1] else None


def _pointer(ctx: Context) -> Iterator[Issue]:
    """The files alone: a pinned release whose check misses containers on cgroup v2 hosts."""
    confirmed = ctx.live.cgroup_v2 if ctx.live is not None else None
    severity = hostfacts.grade(ctx, _SYMPTOM, confirmed=confirmed)
    if severity is None:
        return
    check = hostfacts.not_checked(ctx, "stat -fc %T /sys/fs/cgroup")
    for jv in u.jobs(ctx, "kaniko"):
        name = _pinned_bad(jv)
        if name is None or _forced(jv):
            continue
        yield finding(
            f"{u.jname(jv.job)} pins {name}: kaniko v1.5 to v1.8 refuse to run with \"kaniko should "
            "only be run inside of a container\" on runner hosts with cgroup v2 (Debian 11+, Ubuntu "
            "21.10+, RHEL 9), whose /proc/1/cgroup shows no container "
            f"{check}.",
            "Pin kaniko v1.9.0 or later (or a current ghcr.io/osscontainertools/kaniko:<version>-debug), "
            "or set the job variable container: docker (or pass --force to /kaniko/executor).",
            loc=u.image_loc(jv.job),
            job=jv.job.name,
            severity=severity,
        )


def check(ctx: Context) -> Iterator[Issue]:
    if hostfacts.said(ctx, _SYMPTOM) is not True:
        yield from _pointer(ctx)
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
