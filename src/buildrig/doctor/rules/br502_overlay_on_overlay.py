"""BR502 — buildah: overlay storage without /dev/fuse, or storage settings that contradict each other.

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

It also checks storage settings that contradict each other once ``vfs`` is chosen:

- ``STORAGE_OPTS``/``--storage-opt`` with ``overlay.*`` options next to ``vfs`` — an error, refused
  on every run: ``vfs driver does not support overlay.mount_program options``;
- ``vfs`` with buildah installed from the distribution's packages in the job (``dnf``/``yum``/
  ``microdnf install buildah``): the package's ``/etc/containers/storage.conf`` sets overlay mount
  options (Fedora/RHEL ship ``mountopt``), which buildah 1.10–1.11 (Fedora 30/31) refuse next to
  ``vfs``: ``vfs driver does not support overlay.mountopt options`` (buildah#1783). A warning: it
  depends on the package version the image's repositories serve.

Fix: give the runner ``devices = ["/dev/fuse"]`` (fuse-overlayfs stores layers as diffs), or set
``variables: STORAGE_DRIVER: vfs`` where the device cannot be had (GitLab's Buildah example does
this; vfs copies every layer in full).

Docs: https://docs.gitlab.com/ci/docker/using_docker_build/#buildah-example
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding
from buildrig.gitlab.model import Runner

ID = "BR502"
TITLE = "buildah: overlay storage without /dev/fuse (and not vfs), or vfs with overlay options"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_docker_build/#buildah-example"

_VFS_FLAG = re.compile(r"--storage-driver(?:\s+|=)[\"']?vfs|STORAGE_DRIVER=[\"']?vfs")


def _has_fuse(r: Runner) -> bool:
    if u.runner_privileged(r):
        return True
    devices = r.docker.raw.get("devices") if r.docker is not None else None
    return isinstance(devices, list) and any("/dev/fuse" in str(d) for d in devices)


_OVERLAY_OPT = re.compile(r"--storage-opt(?:\s+|=)[\"']?overlay\.")
_PACKAGE_BUILDAH = re.compile(r"\b(?:dnf|yum|microdnf)\b[^;&|]*\binstall\b[^;&|]*\bbuildah\b")


def _vfs_contradiction(jv: JobView) -> Issue | None:
    """vfs chosen while overlay options stay in force (the job's or the package's storage.conf)."""
    lines = u.script_lines(jv.job)
    opts = u.explicit_env(jv, "STORAGE_OPTS")
    flag = next((sl for sl in lines if _OVERLAY_OPT.search(sl.text)), None)
    if (opts is not None and "overlay." in opts.value) or flag is not None:
        where = flag.loc if flag is not None else (opts.loc if opts is not None else None)
        return finding(
            f"{u.jname(jv.job)} selects the vfs storage driver but passes overlay options "
            f"({where}): buildah refuses the pair on every run with \"vfs driver does not support "
            "overlay.* options\".",
            "Drop the overlay.* storage options, or use the overlay driver with /dev/fuse.",
            loc=where,
            job=jv.job.name,
            severity=Severity.ERROR,
        )
    install = next((sl for sl in lines if _PACKAGE_BUILDAH.search(sl.text)), None)
    if install is None or opts is not None:
        return None
    return finding(
        f"{u.jname(jv.job)} selects the vfs storage driver and installs buildah from the "
        f"distribution's packages ({install.loc}), whose /etc/containers/storage.conf sets overlay "
        "mount options: buildah 1.10-1.11 (Fedora 30/31) then stop with \"vfs driver does not "
        "support overlay.mountopt options\".",
        "Run the job in quay.io/buildah/stable, or clear the package's overlay options "
        "(STORAGE_OPTS: \"\" or sed the mountopt line out of /etc/containers/storage.conf).",
        loc=install.loc,
        job=jv.job.name,
        severity=Severity.WARNING,
    )


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        if not u.is_buildah_job(jv):
            continue
        driver = (u.env_value(jv, "STORAGE_DRIVER") or "").strip()
        if driver == "vfs" or any(_VFS_FLAG.search(sl.text) for sl in u.script_lines(jv.job)):
            contradiction = _vfs_contradiction(jv)
            if contradiction is not None:
                yield contradiction
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
