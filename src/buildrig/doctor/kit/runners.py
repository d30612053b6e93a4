"""config.toml runners: volumes and the Docker socket, privilege, sharing, places and names."""

from __future__ import annotations

import re

from buildrig.doctor.facts import docker_mounts as docker_mounts
from buildrig.errors import Loc
from buildrig.gitlab.model import DockerSection, KubernetesSection, Runner, RunnerConfig
from buildrig.gitlab.mounts import Mount as Mount

SOCKET_PATHS = ("/var/run/docker.sock", "/run/docker.sock")
SOCKET_DIRS = ("/var/run", "/run")


def socket_mount(r: Runner) -> Mount | None:
    """The bind mount that puts the host's Docker socket into job containers, if any."""
    for m in docker_mounts(r):
        host = m.host_path
        if host is None:
            continue
        target = m.destination.rstrip("/")
        if target in SOCKET_PATHS or (target in SOCKET_DIRS and host.rstrip("/") in SOCKET_DIRS):
            return m
        if host.endswith("docker.sock") and target.endswith("docker.sock"):
            return m
    return None


def kube_socket_volume(r: Runner) -> str | None:
    if r.kubernetes is None:
        return None
    for v in r.kubernetes.volumes:
        if v.kind == "host_path" and (
            (v.host_path or "").endswith("docker.sock") or v.mount_path.endswith("docker.sock")
        ):
            return v.host_path or v.mount_path
    return None


def mounts_socket(r: Runner) -> bool:
    return socket_mount(r) is not None or kube_socket_volume(r) is not None


def runner_privileged(r: Runner) -> bool:
    if r.docker is not None and r.docker.privileged:
        return True
    return r.kubernetes is not None and r.kubernetes.privileged


def security_opts(r: Runner) -> tuple[str, ...]:
    if r.docker is None:
        return ()
    return tuple(o.replace("=", ":", 1).replace(" ", "").lower() for o in r.docker.security_opt)


def is_shared(r: Runner, config: RunnerConfig | None = None) -> bool:
    """A runner that takes jobs without tags: any project's job can land on it.

    Registration keeps tags server-side, so a runner without ``tags`` in config.toml only counts
    as untagged when the file states tags at all (on some runner) or says ``run_untagged``.
    """
    if r.run_untagged is True:
        return True
    if r.run_untagged is False or r.tags:
        return False
    if re.search(r"(^|[^a-z])(shared|instance|public)([^a-z]|$)", r.name.lower()):
        return True  # named as an instance/shared runner
    return config is not None and any("tags" in o.raw for o in config.runners)


def _section_loc(r: Runner, section: DockerSection | KubernetesSection | None, keys: tuple[str, ...]) -> Loc:
    """The first of ``keys`` the section sets, else the section's header, else the runner's."""
    if section is not None:
        for k in keys:
            if k in section.key_locs:
                return section.key_locs[k]
        if section.loc is not None:
            return section.loc
    return r.loc


def docker_loc(r: Runner, *keys: str) -> Loc:
    return _section_loc(r, r.docker, keys)


def kube_loc(r: Runner, *keys: str) -> Loc:
    return _section_loc(r, r.kubernetes, keys)


def runner_loc(r: Runner, *keys: str) -> Loc:
    for k in keys:
        if k in r.key_locs:
            return r.key_locs[k]
    return r.loc


def rname(r: Runner) -> str:
    return f"runner '{r.name}' ({r.loc})"
