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
hence a warning. A rootless BuildKit *service* gets none of the job's ``security_opt``: the Docker
executor applies ``services_security_opt`` to services (gitlab-runner!3760), or privileged.
Without config.toml the runner is the one GitLab's install registers (unprivileged, default
profiles): an INFO naming the check, a WARNING when the error text the job printed
(``--symptom``) is the one above. ``--live`` on the runner host reads the engine's security options
(``docker info``) and ``user.max_user_namespaces``: ERROR when the default seccomp/AppArmor profile
is in force (or user namespaces are off), nothing when the engine runs unconfined.

Fix: in ``[runners.docker]``: ``security_opt = ["seccomp:unconfined", "apparmor:unconfined"]``; on
Kubernetes: ``[runners.kubernetes.pod_annotations]
"container.apparmor.security.beta.kubernetes.io/build" = "unconfined"``.

Docs: https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, LiveFacts, Severity, finding
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


SYMPTOM = re.compile(
    r"unshare\(CLONE_NEWUSER\): Operation not permitted|rootlesskit:(?:parent|child) ?\] error"
    r"|failed to share mount point|newuidmap: .*Operation not permitted"
    r"|cannot clone: Operation not permitted",
    re.IGNORECASE,
)
_UNCONFINED = ("seccomp:unconfined", "apparmor:unconfined")


def _service_blocked(r: Runner, jv: JobView) -> str | None:
    """A rootless BuildKit service on a Docker runner: security_opt never reaches services."""
    if not u.is_docker_executor(r) or r.docker is None or r.docker.privileged:
        return None
    rootless = [s for s in jv.job.services if u.is_rootless_buildkit_image(s.name)]
    if not rootless or r.docker.services_privileged:
        return None
    opts = r.docker.raw.get("services_security_opt") or ()
    given = {str(o).replace("=", ":") for o in opts} if isinstance(opts, list) else set()
    if all(o in given for o in _UNCONFINED):
        return None
    return (f"service {rootless[0].name} runs without services_security_opt = "
            "[\"seccomp:unconfined\", \"apparmor:unconfined\"] (the job's security_opt does not apply "
            "to services)")


def _engine_blocks(live: LiveFacts | None) -> bool | None:
    """--live: whether this engine's default confinement (or the kernel) refuses user namespaces."""
    if live is None:
        return None
    if live.max_user_namespaces == 0:
        return True
    if live.seccomp_default is None and live.apparmor is None:
        return None
    return bool(live.seccomp_default or live.apparmor)


def _why_blocked(live: LiveFacts) -> str:
    if live.max_user_namespaces == 0:
        return "; this kernel has user.max_user_namespaces = 0"
    profile = "its default seccomp profile" if live.seccomp_default else "AppArmor"
    return f"; this host's engine confines containers with {profile}"


def check(ctx: Context) -> Iterator[Issue]:
    blocks = _engine_blocks(ctx.live)
    for jv in ctx.jobs:
        buildah = u.is_buildah_job(jv)
        rootless_service = any(u.is_rootless_buildkit_image(s.name) for s in jv.job.services)
        if not buildah and not u.is_rootless_buildkit_job(jv) and not rootless_service:
            continue
        bad = [(r, why) for r in jv.runners if (why := _blocked(r) or _service_blocked(r, jv)) is not None]
        if jv.runners and not bad:
            continue
        tool = "Buildah" if buildah else "rootless BuildKit"
        symptom = ("\"Error during unshare(CLONE_NEWUSER): Operation not permitted\"" if buildah else
                   "\"[rootlesskit:parent] error: failed to start the child: fork/exec "
                   "/proc/self/exe: operation not permitted\"")
        check_cmd = "docker info --format '{{.SecurityOptions}}' and the runner's [runners.docker]"
        if bad:
            r, why = bad[0]
            severity = hostfacts.grade(ctx, SYMPTOM, confirmed=blocks, shape=Severity.WARNING)
            where = f"on {u.rname(r)}, which is not privileged and whose {why}"
        else:
            severity = hostfacts.grade(ctx, SYMPTOM, confirmed=blocks)
            where = ("on a runner config.toml does not show; as GitLab's install registers it (not "
                     f"privileged, default seccomp/AppArmor) {hostfacts.not_checked(ctx, check_cmd)}")
        if severity is None:
            continue
        if blocks and ctx.live is not None:
            where += _why_blocked(ctx.live)
        yield finding(
            f"{u.jname(jv.job)} builds with {tool} {where}: the default profile blocks user "
            f"namespaces and the build fails with {symptom}.",
            "Add security_opt = [\"seccomp:unconfined\", \"apparmor:unconfined\"] to that runner's "
            "[runners.docker] (services: services_security_opt; Kubernetes: pod annotation "
            f"\"{_ANNOTATION}\" = \"unconfined\").",
            loc=u.job_loc(jv.job, "image", "script"),
            job=jv.job.name,
            severity=severity,
        )
