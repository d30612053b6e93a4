"""BR501 — buildah/buildkit: user namespaces are blocked by the runner's seccomp/AppArmor profile.

What it checks: a Buildah job or a rootless-BuildKit job (``moby/buildkit:rootless``,
``buildctl-daemonless.sh``) on a runner that is not privileged and does not relax the default
confinement: Docker executor without ``security_opt = ["seccomp:unconfined",
"apparmor:unconfined"]``; Kubernetes without the ``unconfined`` AppArmor pod annotation for the
build container.

Why it fails: both tools create a user namespace (and mounts inside it); Docker's default seccomp
profile refuses ``unshare(CLONE_NEWUSER)`` to containers without CAP_SYS_ADMIN and AppArmor's
``docker-default`` refuses the mounts::

    Error during unshare(CLONE_NEWUSER): Operation not permitted
    [rootlesskit:parent] error: failed to start the child: fork/exec /proc/self/exe: operation not permitted
    [rootlesskit:child ] error: failed to share mount point: /: permission denied   (Kubernetes)

Some hosts (SELinux-only, custom profiles, GitLab.com's privileged SaaS runners) do allow it,
hence a warning.

Fix: in ``[runners.docker]``: ``security_opt = ["seccomp:unconfined", "apparmor:unconfined"]``; on
Kubernetes: ``[runners.kubernetes.pod_annotations]
"container.apparmor.security.beta.kubernetes.io/build" = "unconfined"``.

Docs: https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.gitlab.model import Runner

ID = "BR501"
TITLE = "buildah/buildkit: user namespaces blocked (seccomp/AppArmor not unconfined)"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/"

_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/build"


def _blocked(r: Runner) -> str | None:
    if u.runner_privileged(r):
        return None
    if u.is_docker_executor(r):
        opts = u.security_opts(r)
        missing = [o for o in ("seccomp:unconfined", "apparmor:unconfined") if o not in opts]
        if missing:
            return (f"[runners.docker] security_opt ({u.docker_loc(r, 'security_opt')}) lacks "
                    f"{' and '.join(missing)}")
    elif (
        u.is_kubernetes(r)
        and r.kubernetes is not None
        and r.kubernetes.pod_annotations.get(_ANNOTATION, "").lower() != "unconfined"
    ):
        return (f"[runners.kubernetes.pod_annotations] ({u.kube_loc(r, 'pod_annotations')}) "
                f"does not set \"{_ANNOTATION}\" = \"unconfined\"")
    return None


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        buildah = u.is_buildah_job(jv)
        if not buildah and not u.is_rootless_buildkit_job(jv):
            continue
        bad = [(r, why) for r in jv.runners if (why := _blocked(r)) is not None]
        if not bad:
            continue
        r, why = bad[0]
        tool = "Buildah" if buildah else "rootless BuildKit"
        symptom = ("\"Error during unshare(CLONE_NEWUSER): Operation not permitted\"" if buildah else
                   "\"[rootlesskit:parent] error: failed to start the child: fork/exec "
                   "/proc/self/exe: operation not permitted\"")
        yield finding(
            f"{u.jname(jv.job)} builds with {tool} on {u.rname(r)}, which is not privileged and "
            f"whose {why}: the default profile blocks user namespaces and the build fails with "
            f"{symptom}.",
            "Add security_opt = [\"seccomp:unconfined\", \"apparmor:unconfined\"] to that runner's "
            f"[runners.docker] (Kubernetes: pod annotation \"{_ANNOTATION}\" = \"unconfined\").",
            loc=u.job_loc(jv.job, "image", "script"),
            job=jv.job.name,
        )
