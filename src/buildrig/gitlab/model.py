"""Typed models of the files GitLab CI image builds depend on.

These dataclasses are the contract between the parsers in this package (``ci.py``,
``runner_config.py``, ``dockerd.py``) and the features that read them (``run``, ``doctor``,
``bench``). Every value that came from a file carries the :class:`~buildrig.errors.Loc` it came
from so that diagnostics can name file:line. Parsers may add fields; they never rename these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from buildrig.errors import Loc

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NO_LOCS: Mapping[str, Loc] = MappingProxyType({})


@dataclass(frozen=True)
class Variable:
    """A CI/CD variable. ``file`` variables are written to a temp file whose path is the value."""

    name: str
    value: str
    loc: Loc | None = None
    expand: bool = True
    file: bool = False
    masked: bool = False
    description: str | None = None


# --- .gitlab-ci.yml ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageSpec:
    """``image:`` as a string or ``{name, entrypoint, pull_policy, docker: {user, platform}}``."""

    name: str
    entrypoint: tuple[str, ...] | None = None
    pull_policy: tuple[str, ...] | None = None
    user: str | None = None
    loc: Loc | None = None
    platform: str | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """One entry of ``services:`` (job, default, or the runner's ``[[runners.docker.services]]``)."""

    name: str
    alias: str | None = None  # as written; may hold several comma/space separated aliases
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    variables: tuple[Variable, ...] = ()
    pull_policy: tuple[str, ...] | None = None
    loc: Loc | None = None


@dataclass(frozen=True)
class Job:
    """A job after ``default:``, ``extends:``, ``!reference`` and ``include: local`` are applied.

    ``variables`` holds only the job's own (merged with what it extends); global variables live on
    :class:`Pipeline`. ``raw`` is the fully merged mapping (plain Python types) for keys this model
    does not type; ``key_locs`` maps each of the job's top-level keys to where it was written (the
    place in the file it was inherited from, when inherited).
    """

    name: str
    stage: str
    loc: Loc
    image: ImageSpec | None = None
    services: tuple[ServiceSpec, ...] = ()
    variables: tuple[Variable, ...] = ()
    before_script: tuple[str, ...] = ()
    script: tuple[str, ...] = ()
    after_script: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    when: str = "on_success"
    allow_failure: bool = False
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    key_locs: Mapping[str, Loc] = field(default_factory=lambda: _NO_LOCS)
    # ``inherit: variables``: True (all globals), False (none) or the names inherited.
    inherit_variables: bool | tuple[str, ...] = True
    extends: tuple[str, ...] = ()  # as written on the job (after its own extends chain merged)


@dataclass(frozen=True)
class Pipeline:
    """A whole ``.gitlab-ci.yml`` with its local includes."""

    path: Path
    stages: tuple[str, ...]
    variables: tuple[Variable, ...]
    jobs: tuple[Job, ...]  # in file order; hidden jobs (".name") are not listed
    files: tuple[Path, ...] = ()  # every file read: the main one first, then includes
    # includes not followed (remote, template, project, component, paths with variables)
    skipped_includes: tuple[tuple[str, Loc], ...] = ()
    # extends/!reference targets not found while includes were skipped (they may live there)
    unresolved: tuple[tuple[str, Loc], ...] = ()
    key_locs: Mapping[str, Loc] = field(default_factory=lambda: _NO_LOCS)  # top-level keys
    default_keys: Mapping[str, Loc] = field(default_factory=lambda: _NO_LOCS)  # default: + legacy globals

    def job(self, name: str) -> Job | None:
        return next((j for j in self.jobs if j.name == name), None)


# --- config.toml --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DockerSection:
    """``[runners.docker]`` (also used by docker-autoscaler and docker+machine)."""

    image: str | None = None
    host: str | None = None
    tls_verify: bool = False
    privileged: bool = False
    services_privileged: bool | None = None
    allowed_privileged_services: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    network_mode: str | None = None
    network_mtu: int | None = None
    pull_policy: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    userns_mode: str | None = None
    user: str | None = None
    wait_for_services_timeout: int = 30
    disable_cache: bool = False
    services: tuple[ServiceSpec, ...] = ()
    loc: Loc | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    key_locs: Mapping[str, Loc] = field(default_factory=lambda: _NO_LOCS)
    allowed_privileged_images: tuple[str, ...] = ()
    allowed_images: tuple[str, ...] = ()
    allowed_services: tuple[str, ...] = ()
    tls_cert_path: str | None = None
    devices: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()


@dataclass(frozen=True)
class KubeVolume:
    """One ``[[runners.kubernetes.volumes.<kind>]]`` entry (kind: empty_dir, host_path, ...)."""

    kind: str
    name: str
    mount_path: str
    host_path: str | None = None
    loc: Loc | None = None
    read_only: bool = False
    medium: str | None = None


@dataclass(frozen=True)
class KubernetesSection:
    """``[runners.kubernetes]``."""

    image: str | None = None
    privileged: bool = False
    allow_privilege_escalation: bool | None = None
    volumes: tuple[KubeVolume, ...] = ()
    services: tuple[ServiceSpec, ...] = ()
    pod_annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    loc: Loc | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    key_locs: Mapping[str, Loc] = field(default_factory=lambda: _NO_LOCS)
    host: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class Runner:
    """One ``[[runners]]`` entry."""

    name: str
    executor: str
    loc: Loc
    url: str | None = None
    tags: tuple[str, ...] = ()
    run_untagged: bool | None = None  # None: not stated in the file
    locked: bool | None = None
    # where config.toml declares the runner dedicated to trusted projects ("# buildrig: dedicated"
    # inside its [[runners]] entry); None: not declared
    dedicated: Loc | None = None
    shell: str | None = None
    builds_dir: str | None = None
    environment: tuple[Variable, ...] = ()
    feature_flags: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    docker: DockerSection | None = None
    kubernetes: KubernetesSection | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    key_locs: Mapping[str, Loc] = field(default_factory=lambda: _NO_LOCS)


@dataclass(frozen=True)
class RunnerConfig:
    path: Path
    concurrent: int | None
    runners: tuple[Runner, ...]


# --- dockerd ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaemonConfig:
    """dockerd's effective settings from ``daemon.json`` and the unit's ExecStart flags."""

    hosts_json: tuple[str, ...] = ()  # "hosts" in daemon.json
    hosts_flags: tuple[str, ...] = ()  # -H/--host flags on ExecStart (unit + drop-ins, last wins)
    tls: bool | None = None
    tlsverify: bool | None = None
    tlscacert: str | None = None
    tlscert: str | None = None
    tlskey: str | None = None
    userns_remap: str | None = None
    selinux_enabled: bool | None = None
    mtu: int | None = None
    insecure_registries: tuple[str, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    storage_driver: str | None = None
    files: tuple[Path, ...] = ()
    raw_json: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    key_locs: Mapping[str, Loc] = field(default_factory=lambda: _NO_LOCS)  # json keys and flags ("-H")
    exec_start: tuple[str, ...] = ()  # the ExecStart that runs, split into words
    exec_start_loc: Loc | None = None
    unit_environment: tuple[str, ...] = ()  # Environment= lines of the unit, as written
    # subjectAltNames of the server certificate at ``tlscert`` ("DNS:x", "IP:y"); None: not read
    tlscert_sans: tuple[str, ...] | None = None
    tlscert_not_after: datetime | None = None  # expiry of that certificate (UTC)
