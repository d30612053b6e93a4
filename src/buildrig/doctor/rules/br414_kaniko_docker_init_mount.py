"""BR414 — kaniko: the runner starts the job container with Docker's ``--init`` (docker-init in /sbin).

What it checks: a kaniko job on the Docker executor where the build container is started with
Docker's ``--init``: Docker then bind-mounts its init binary at ``/sbin/docker-init`` inside the job
container. kaniko unpacks the Dockerfile's base image over the job container's own ``/``; when that
image makes ``/sbin`` a symlink (merged-``/usr`` images), kaniko must remove the ``/sbin`` directory,
and the mount point inside it cannot go::

    error building image: error building stage: failed to get filesystem from image: error removing
    sbin to make way for new symlink: unlinkat //sbin/docker-init: device or resource busy

Two runner set-ups start the build container that way:

- GitLab Runner **16.6.0** starts every container with ``Init`` on, whatever the job says
  (helpers/docker/official_docker_client.go:116-117 at v16.6.0; gitlab-runner#37003, kaniko#946);
- from 16.6.1 on it does so only with the feature flag ``FF_USE_INIT_WITH_DOCKER_EXECUTOR``
  (gitlab-runner!4488; executors/docker/docker.go:373 for services and :754 for the build
  container at v17.9.3), which ``[runners.feature_flags]``, the runner's ``environment`` or the
  job's ``variables`` can turn on.

The runner's version is a fact of the runner host no file shows, so doctor names it from the error
text (``--symptom``); the feature flag shows in the files and is named from them.

Severity: WARNING. With the error text the job fails on that runner (not on one with another
version); with the flag on in the files it fails only for base images whose ``/sbin`` is a
symlink, which doctor does not follow through the Dockerfile's ``FROM`` chain.

Fix: run ``gitlab-runner --version`` on the runner host; 16.6.0 is the only release that forces
``--init``: upgrade it (16.6.1 or later, or stay on 16.5). Keep ``FF_USE_INIT_WITH_DOCKER_EXECUTOR``
off for kaniko jobs: drop it from ``[runners.feature_flags]`` or set the job variable
``FF_USE_INIT_WITH_DOCKER_EXECUTOR: "false"`` (a ``[runners.feature_flags]`` entry wins over it).

Docs: https://gitlab.com/gitlab-org/gitlab-runner/-/issues/37003
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import facts as F
from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding
from buildrig.errors import Loc
from buildrig.gitlab import features

ID = "BR414"
TITLE = "kaniko: docker-init mounted in /sbin (runner 16.6.0 or FF_USE_INIT_WITH_DOCKER_EXECUTOR)"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://gitlab.com/gitlab-org/gitlab-runner/-/issues/37003"

FLAG = features.USE_INIT_WITH_DOCKER_EXECUTOR

# kaniko failing on Docker's init binary in /sbin: "unlinkat //sbin/docker-init: device or resource
# busy" (removing /sbin for a symlink), "text file busy" (writing over the running init)
_SYMPTOM = re.compile(
    r"/sbin/docker-init\S*:?\s*(?:device or resource busy|text file busy)"
    r"|(?:device or resource busy|text file busy)[^\n]*/sbin/docker-init",
    re.IGNORECASE,
)


def _flag_on(jv: JobView) -> tuple[str, Loc] | None:
    """Where the files turn the flag on for this job (None: they do not)."""
    for r in jv.runners:
        if not F.is_docker_executor(r) or not F.flag_on(r, FLAG, jv.env):
            continue
        if FLAG in r.feature_flags:
            where = u.runner_loc(r, "feature_flags")
            return f"{u.rname(r)} sets {FLAG} = true in [runners.feature_flags]", where
        var = u.explicit_env(jv, FLAG) or u.runner_env(r, FLAG)
        if var is not None:
            return f"{FLAG} is on ({u.origin(var)})", var.loc or u.runner_loc(r, "environment")
        return f"{FLAG} is on for {u.rname(r)}", r.loc
    if not jv.runners:
        var = u.explicit_env(jv, FLAG)
        if var is not None and features.go_bool(var.value):
            return f"{FLAG} is on ({u.origin(var)})", var.loc or u.key_loc(jv.job, "variables")
    return None


def _docker_executor(jv: JobView) -> bool:
    """The job may run on the Docker executor (no config.toml: GitLab's documented set-up)."""
    return not jv.runners or any(F.is_docker_executor(r) for r in jv.runners)


def check(ctx: Context) -> Iterator[Issue]:
    said = hostfacts.said(ctx, _SYMPTOM)
    for jv in ctx.jobs:
        if not u.is_kaniko_job(jv) or not _docker_executor(jv):
            continue
        job = jv.job
        on = _flag_on(jv)
        if on is None and said is not True:
            continue
        off = (
            f'set the job variable {FLAG}: "false"'
            if on is None or "[runners.feature_flags]" not in on[0]
            else f"remove {FLAG} from [runners.feature_flags] ({on[1]})"
        )
        if on is not None:
            why = (f"{on[0]}, so the runner starts the build container with Docker's --init, which "
                   "mounts docker-init at /sbin/docker-init")
        else:
            why = ("the runner started the build container with Docker's --init (GitLab Runner 16.6.0 "
                   f"does so for every job; later releases only with {FLAG})")
        yield finding(
            f"{u.jname(job)} runs kaniko and {why}: kaniko cannot replace /sbin with the base image's "
            "symlink (merged-/usr images) and fails with \"error removing sbin to make way for new "
            "symlink: unlinkat //sbin/docker-init: device or resource busy\".",
            "Run `gitlab-runner --version` on the runner host: 16.6.0 forces --init on every job, so "
            f"upgrade it (16.6.1 or later); and keep {FLAG} off for kaniko jobs ({off}).",
            loc=on[1] if on is not None else u.image_loc(job),
            job=job.name,
            severity=Severity.WARNING,
        )
