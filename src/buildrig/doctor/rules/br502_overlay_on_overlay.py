"""BR502 — buildah: overlay storage in a container that has no /dev/fuse.

What it checks: a Buildah job that does not select the ``vfs`` storage driver (``STORAGE_DRIVER:
vfs`` or ``--storage-driver vfs``) on a container runner that gives the job no ``/dev/fuse`` and is
not privileged. With no runner known, it reminds only when the job leaves the driver to the
image; a job that sets ``STORAGE_DRIVER: overlay`` itself (as ``buildrig init`` generates, with
``devices = ["/dev/fuse"]`` on the runner) is taken as set up. Runners without containers (shell,
SSH, VMs) have neither problem.

Why it fails: the job's root filesystem is itself overlayfs; the kernel refuses overlay on
overlay, and the ``quay.io/buildah/stable`` default (``fuse-overlayfs``) needs ``/dev/fuse``::

    'overlay' is not supported over overlayfs, a mount_program is required: backing file
    system is unsupported for this graph driver
    fuse: device not found, try 'modprobe fuse' first

Fix: give the runner ``devices = ["/dev/fuse"]`` (fuse-overlayfs stores layers as diffs), or set
``variables: STORAGE_DRIVER: vfs`` where the device cannot be had (GitLab's Buildah example does
this; vfs copies every layer in full).

Docs: https://docs.gitlab.com/ci/docker/using_docker_build/#buildah-example
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.gitlab.model import Runner

ID = "BR502"
TITLE = "buildah: overlay storage without /dev/fuse (and not vfs)"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#buildah-example"

_VFS_FLAG = re.compile(r"--storage-driver(?:\s+|=)[\"']?vfs|STORAGE_DRIVER=[\"']?vfs")


def _has_fuse(r: Runner) -> bool:
    if u.runner_privileged(r):
        return True
    devices = r.docker.raw.get("devices") if r.docker is not None else None
    return isinstance(devices, list) and any("/dev/fuse" in str(d) for d in devices)


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        if not u.is_buildah_job(jv):
            continue
        driver = (u.env_value(jv, "STORAGE_DRIVER") or "").strip()
        if driver == "vfs" or any(_VFS_FLAG.search(sl.text) for sl in u.script_lines(jv.job)):
            continue
        var = u.explicit_env(jv, "STORAGE_DRIVER")
        runners = [r for r in jv.runners if not u.is_shell(r)]
        if jv.runners and not runners:
            continue  # no container: no overlay root to stack on, no device to pass
        bad = [r for r in runners if not _has_fuse(r)]
        if runners and not bad:
            continue
        if not runners and var is not None and driver == "overlay":
            continue  # chosen on purpose; whether the runner passes /dev/fuse is unknown here
        loc = var.loc if var is not None and var.loc else u.job_loc(jv.job, "variables", "image")
        what = (f"STORAGE_DRIVER={driver}" if var is not None and driver
                else "no STORAGE_DRIVER: vfs (the image's storage.conf uses overlay)")
        on = f" on {u.rname(bad[0])} (no /dev/fuse device, not privileged)" if bad else ""
        yield finding(
            f"{u.jname(jv.job)} runs Buildah with {what}{on}: overlay cannot stack on the job's "
            "overlay root and fuse-overlayfs needs /dev/fuse, so storage fails with \"'overlay' "
            "is not supported over overlayfs\" or \"fuse: device not found\".",
            "Give the runner devices = [\"/dev/fuse\"] (fuse-overlayfs), or set variables: "
            "STORAGE_DRIVER: vfs for the job where the device cannot be had.",
            loc=loc,
            job=jv.job.name,
        )
