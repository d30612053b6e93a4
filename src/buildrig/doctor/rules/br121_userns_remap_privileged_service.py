"""dind: a userns-remap daemon refuses to start the privileged dind service.

A daemon with user-namespace remapping (``"userns-remap"`` in daemon.json, ``--userns-remap``) runs
every container in the remapped namespace unless it asks for the host's; a privileged container
must ask for it, or the daemon refuses to create it and the job fails before its script::

    ERROR: Preparation failed: Error response from daemon: privileged mode is incompatible with
    user namespaces. You must run the container in the host namespace when running privileged mode

GitLab Runner starts services privileged from ``privileged`` (or ``services_privileged``) and with
the runner's ``userns_mode`` (executors/docker/docker.go:366-370 and :395 at v17.9.3). So a dind
service on a userns-remap daemon needs ``userns_mode = "host"`` in ``[runners.docker]``. Runners
before 13.4 passed ``userns_mode`` to the job container only (gitlab-runner#6221, fixed by
"Enabled userns mode for services"): there the service fails even with it, which only the error
text tells (``--symptom``: a WARNING naming ``gitlab-runner --version``).

Without daemon.json, ``--live`` reads the engine's security options; the error text alone makes it
a WARNING naming the check.

Fix: add ``userns_mode = "host"`` to that runner's ``[runners.docker]`` (and run GitLab Runner 13.4
or later), or give dind jobs a runner on a daemon without userns-remap.

Docs: https://docs.docker.com/engine/security/userns-remap/#user-namespace-known-limitations
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import derive, hostfacts
from buildrig.doctor import facts as F
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR121"
TITLE = "dind: userns-remap daemon refuses the privileged dind service"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/security/userns-remap/#user-namespace-known-limitations"

SYMPTOM = re.compile(r"privileged mode is incompatible with user namespaces", re.IGNORECASE)
_CHECK = "docker info --format '{{.SecurityOptions}}' on the runner host (name=userns)"


def _remap(ctx: Context) -> tuple[str, Severity] | None:
    """What says the daemon remaps, and the severity that evidence supports."""
    d = ctx.daemon
    if d is not None and d.userns_remap:
        loc = d.key_locs.get("userns-remap") or d.key_locs.get("--userns-remap")
        return f"userns-remap={d.userns_remap}" + (f" ({loc})" if loc else ""), Severity.ERROR
    confirmed = ctx.live.userns_remap if ctx.live is not None else None
    graded = hostfacts.grade(ctx, SYMPTOM, confirmed=confirmed)
    if graded is None or graded is Severity.INFO:
        return None  # nothing says so: every dind runner would get this pointer
    if confirmed:
        return "userns-remap (docker info on this host lists name=userns)", graded
    return f"userns-remap, as the error says {hostfacts.not_checked(ctx, _CHECK)}", graded


def check(ctx: Context) -> Iterator[Issue]:
    remap = _remap(ctx)
    if remap is None:
        return
    said, severity = remap
    old_runner = hostfacts.said(ctx, SYMPTOM) is True
    for jv in u.jobs(ctx, "dind"):
        docker_runners = [r for r in jv.runners if u.is_docker_executor(r) and r.docker is not None]
        for svc in derive.dind_services(jv.job, jv.runners):
            refused = [
                r
                for r in docker_runners
                if F.privileged_for_service(r, svc) and (r.docker is None or r.docker.userns_mode != "host")
            ]
            hosted = [r for r in docker_runners if r not in refused and F.privileged_for_service(r, svc)]
            if refused:
                r = refused[0]
                yield finding(
                    f"{u.label(jv.job)}: dockerd runs with {said} and {u.rname(r)} starts {svc.name} "
                    f"privileged ({u.docker_loc(r, 'privileged')}) without userns_mode = \"host\"; the "
                    'daemon refuses it: "privileged mode is incompatible with user namespaces".',
                    'Add userns_mode = "host" to that runner\'s [runners.docker] (GitLab Runner 13.4 or '
                    "later passes it to services), or run dind jobs on a daemon without userns-remap.",
                    loc=u.docker_loc(r, "privileged"),
                    job=jv.job.name,
                    # a WARNING from the error text alone stays one; the daemon file's ERROR holds
                    # only where every runner that can take the job refuses the service
                    severity=(
                        u.severity_for(len(refused), len(jv.runners))
                        if severity is Severity.ERROR
                        else severity
                    ),
                )
                break
            if hosted and old_runner:
                r = hosted[0]
                yield finding(
                    f"{u.label(jv.job)}: dockerd runs with {said}; {u.rname(r)} sets userns_mode = "
                    f"\"host\" ({u.docker_loc(r, 'userns_mode')}), yet {svc.name} was refused "
                    '("privileged mode is incompatible with user namespaces"): GitLab Runner before 13.4 '
                    "applies userns_mode to the job container only (not checked: run `gitlab-runner "
                    "--version` on the runner host).",
                    "Upgrade GitLab Runner to 13.4 or later, or run dind jobs on a daemon without "
                    "userns-remap.",
                    loc=u.docker_loc(r, "userns_mode"),
                    job=jv.job.name,
                    severity=Severity.WARNING,
                )
                break
