"""BR702 — security: a privileged runner takes untagged jobs (a shared runner).

What it checks: a runner with ``privileged = true`` (``[runners.docker]``, ``services_privileged``
or ``[runners.kubernetes]``) that also runs untagged jobs: ``run_untagged = true``, no ``tags``
while other runners of the file have some, or a name such as ``shared-...``. Any job of any
project that can use the runner then gets a privileged container. (Registration keeps tags on
the server, so a file without any ``tags`` proves nothing and is not flagged.)

Why it matters: privileged containers disable the container security mechanisms; a job can mount
the host's disks, load kernel modules and take over the host and every other job on it. GitLab's
security guidance: use privileged mode only on dedicated, tagged runners (ideally ephemeral VMs,
protected branches only).

Allowed risk: a runner declared dedicated to trusted projects with a ``# buildrig: dedicated``
comment line inside its ``[[runners]]`` entry is not flagged (see ``--explain BR703``).

Fix: give the privileged runner ``tags`` (e.g. ``dind``) and ``run_untagged = false``, let only
the image-build jobs select it, and restrict it (``allowed_privileged_images``/
``allowed_privileged_services`` to the dind images). Or build without privileges (Buildah,
rootless BuildKit).

Docs: https://docs.gitlab.com/runner/security/#usage-of-docker-executor
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR702"
TITLE = "security: privileged runner runs untagged (any) jobs"
SEVERITY = Severity.WARNING
CATEGORY = Category.SECURITY
DOCS = "https://docs.gitlab.com/runner/security/#usage-of-docker-executor"


def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is None:
        return
    for r in ctx.runner_config.runners:
        what: str | None = None
        loc = r.loc
        if r.docker is not None and u.is_docker_executor(r):
            if r.docker.privileged:
                what, loc = "[runners.docker] privileged = true", u.docker_loc(r, "privileged")
            elif r.docker.services_privileged:
                what = "[runners.docker] services_privileged = true"
                loc = u.docker_loc(r, "services_privileged")
        elif r.kubernetes is not None and u.is_kubernetes(r) and r.kubernetes.privileged:
            what, loc = "[runners.kubernetes] privileged = true", u.kube_loc(r, "privileged")
        if what is None or r.dedicated is not None or not u.is_shared(r, ctx.runner_config):
            continue
        why = "run_untagged = true" if r.run_untagged else "it is a shared runner that takes untagged jobs"
        yield finding(
            f"{u.rname(r)} sets {what} ({loc}) and {why}: every job that lands there, from any "
            "project using the runner, gets a privileged container that can take over the host.",
            "Give this runner tags (e.g. tags = [\"dind\"]) and run_untagged = false so only the "
            "image-build jobs select it; restrict allowed_privileged_images/services to the dind "
            "image; or build without privileges (Buildah, rootless BuildKit).",
            loc=loc,
        )
