"""BR606 — shell/runner: a Kubernetes runner mounts the node's ``/var/run/docker.sock``.

What it checks: a ``[[runners.kubernetes.volumes.host_path]]`` that exposes the node's Docker
socket to build pods.

Why it fails: Kubernetes 1.24 removed dockershim; EKS, GKE, AKS and most clusters run containerd
(or CRI-O) with no Docker Engine on the nodes, so the socket path does not exist::

    Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?
    MountVolume.SetUp failed for volume "docker-sock" : hostPath type check failed:
    /var/run/docker.sock is not a socket file

Even where a node still runs Docker, the build sees and can control every container of that node.
This rule cannot see the nodes, hence a warning. ``--live`` run on a node checks it: no
``/var/run/docker.sock`` there but a containerd or CRI-O socket makes it an error; a Docker Engine
answering there clears it. A runner with a ``[runners.kubernetes]`` section and no ``executor``
key (an excerpt, as often posted) is taken as a Kubernetes runner.

Fix: build without the node's daemon: a ``docker:dind`` service (privileged runner), rootless
BuildKit or Buildah; or pin such jobs with ``node_selector`` to dedicated nodes that do run Docker.

Docs: https://kubernetes.io/blog/2022/02/17/dockershim-faq/
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import hostfacts
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR606"
TITLE = "shell/runner: Kubernetes build pods use the node's Docker socket"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://kubernetes.io/blog/2022/02/17/dockershim-faq/"

SYMPTOM = re.compile(
    r"Cannot connect to the Docker daemon at unix://\S*docker\.sock|hostPath type check failed|"
    r"docker\.sock is not a socket file",
    re.IGNORECASE,
)

def check(ctx: Context) -> Iterator[Issue]:
    if ctx.runner_config is None:
        return
    live = ctx.live
    confirmed: bool | None = None
    if live is not None and live.socket_exists is False and live.cri_sockets:
        confirmed = True
    elif live is not None and live.socket_exists and live.engine_version:
        confirmed = False
    for r in ctx.runner_config.runners:
        if r.kubernetes is None or not (u.is_kubernetes(r) or not r.executor):
            continue
        vol = next(
            (v for v in r.kubernetes.volumes if v.kind == "host_path"
             and ((v.host_path or "").endswith("docker.sock") or v.mount_path.endswith("docker.sock"))),
            None,
        )
        if vol is None:
            continue
        loc = vol.loc or u.kube_loc(r, "volumes")
        jobs = [jv.job.name for jv in ctx.jobs if r in jv.runners and u.docker_command_lines(jv.job)]
        jtxt = f" (used by {', '.join(jobs)})" if jobs else ""
        severity = hostfacts.grade(ctx, SYMPTOM, confirmed=confirmed, shape=Severity.WARNING)
        if severity is None:
            continue
        if confirmed and live is not None:
            jtxt += (f"; this node has no {live.socket_path or '/var/run/docker.sock'} but "
                     f"{', '.join(live.cri_sockets)}")
        yield finding(
            f"{u.rname(r)} mounts the node's {vol.host_path or vol.mount_path} into build pods "
            f"({loc}){jtxt}: since Kubernetes 1.24 most nodes run containerd without a Docker "
            "Engine, so jobs fail with \"Cannot connect to the Docker daemon at "
            "unix:///var/run/docker.sock\" (or the pod with \"hostPath type check failed\").",
            "Build without the node's daemon (docker:dind service on a privileged runner, rootless "
            "BuildKit, Buildah), or pin these jobs with node_selector to nodes that run Docker.",
            loc=loc,
            job=jobs[0] if len(jobs) == 1 else None,
            severity=severity,
        )
