"""BR504 — buildkit: rootless buildkitd without ``--oci-worker-no-process-sandbox`` on an unprivileged runner.

What it checks: a job that starts rootless BuildKit itself (``buildctl-daemonless.sh`` with
``moby/buildkit:rootless``) whose ``BUILDKITD_FLAGS`` lack ``--oci-worker-no-process-sandbox``, on
a runner that is neither privileged nor ``systempaths=unconfined``.

Why it fails: without that flag buildkitd gives every ``RUN`` step its own PID namespace and mounts
a fresh ``/proc``, which an unprivileged container may not do (``/proc`` is masked); every RUN
step fails::

    mount proc:/proc (via /proc/self/fd/6), flags: 0xe: operation not permitted

(GitLab's page: "Rootless permission errors: ensure BUILDKITD_FLAGS=--oci-worker-no-process-sandbox").

Fix: ``variables: BUILDKITD_FLAGS: --oci-worker-no-process-sandbox``.

Docs: https://docs.gitlab.com/ci/docker/using_buildkit/
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.gitlab.model import Runner

ID = "BR504"
TITLE = "buildkit: rootless buildkitd without --oci-worker-no-process-sandbox"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/using_buildkit/"

_FLAG = "--oci-worker-no-process-sandbox"


def _sandbox_ok(r: Runner) -> bool:
    return u.runner_privileged(r) or "systempaths:unconfined" in u.security_opts(r)


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        if not u.is_rootless_buildkit_job(jv) or not u.daemonless_buildkit_lines(jv.job):
            continue
        flags = u.env_value(jv, "BUILDKITD_FLAGS") or ""
        lines = u.daemonless_buildkit_lines(jv.job)
        if _FLAG in flags or any(_FLAG in sl.text for sl in u.script_lines(jv.job)):
            continue
        runners = [r for r in jv.runners if not u.is_shell(r)]
        bad = [r for r in runners if not _sandbox_ok(r)]
        if runners and not bad:
            continue
        sev = u.severity_for(len(bad), len(runners)) if runners else Severity.WARNING
        on = f" on the unprivileged {u.rname(bad[0])}" if bad else ""
        var = u.explicit_env(jv, "BUILDKITD_FLAGS")
        yield finding(
            f"{u.jname(jv.job)} starts rootless buildkitd ({lines[0].loc}){on} without "
            f"{_FLAG} in BUILDKITD_FLAGS: every RUN step fails with \"mount proc:/proc (via "
            "/proc/self/fd/6), flags: 0xe: operation not permitted\" (runc mounting /proc for the step).",
            f"Set variables: BUILDKITD_FLAGS: {_FLAG} (keep any other flags).",
            loc=var.loc if var is not None and var.loc else lines[0].loc,
            job=jv.job.name,
            severity=sev,
        )
