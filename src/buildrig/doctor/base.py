"""The contract between the doctor engine and its rules.

A rule is one module under ``buildrig.doctor.rules`` (yamllint style), listed in
``catalog.RULES`` (typed against :class:`Rule`, so mypy rejects a module that lacks part of the
contract). The module docstring is the rule's documentation (``buildrig doctor --explain ID``
prints it) and it defines::

    ID = "BR101"                      # stable, never reused
    TITLE = "dind: client port does not match the daemon's TLS mode"
    SEVERITY = Severity.ERROR         # the default; an issue may lower it
    CATEGORY = Category.FAILURE
    DOCS = "https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/"

    def check(ctx: Context) -> Iterator[Issue]: ...

A rule yields :class:`Issue` values (what is wrong, the fix, where); the engine turns each into a
:class:`Finding`, stamping the rule's ID, category, docs and (unless the issue names one) severity.
Rules are pure: they read the :class:`Context`, never the disk, the network or the engine.
Where a rule is not sure, it says WARNING, not ERROR.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from buildrig.errors import Loc
from buildrig.gitlab.model import DaemonConfig, Job, Pipeline, Runner, RunnerConfig, Variable


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Category(StrEnum):
    FAILURE = "failure"
    SECURITY = "security"
    PERFORMANCE = "performance"
    MAINTAINABILITY = "maintainability"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    category: Category
    message: str  # names the job and what is wrong; quotes the symptom users see
    fix: str
    loc: Loc | None = None
    job: str | None = None
    docs: str | None = None


@dataclass(frozen=True)
class LiveFacts:
    """Facts read from the machine with ``--live`` (None: not known)."""

    socket_path: str | None = None
    socket_exists: bool | None = None
    socket_mode: int | None = None
    socket_group: str | None = None
    engine_version: str | None = None
    engine_api: str | None = None
    engine_min_api: str | None = None
    docker_host: str | None = None
    docker_host_reachable: bool | None = None
    docker_cli_present: bool | None = None
    runner_user: str | None = None
    runner_user_groups: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # the docker CLI the runner user finds on PATH and the API it speaks by default
    docker_cli_path: str | None = None
    docker_cli_api: str | None = None
    # a rootless daemon's socket ($XDG_RUNTIME_DIR/docker.sock) when one exists, else None
    rootless_socket: str | None = None
    # container runtimes' sockets other than dockerd's (containerd, CRI-O) found on this node
    cri_sockets: tuple[str, ...] = ()
    selinux_enforcing: bool | None = None
    # from the engine (``docker info`` SecurityOptions) or, without one, dockerd's daemon.json
    userns_remap: bool | None = None
    selinux_labels: bool | None = None  # the engine runs with selinux-enabled
    seccomp_default: bool | None = None
    apparmor: bool | None = None
    max_user_namespaces: int | None = None
    # smallest MTU of the interfaces that carry this host's default routes
    uplink_mtu: int | None = None
    # the runner user's home, once read; each hazard "FILE:LINE: text" is a dotfile line that
    # makes the shell executor's non-interactive bash fail (``.bash_logout`` running clear_console)
    runner_home: str | None = None
    runner_dotfile_hazards: tuple[str, ...] = ()
    # where the runner user came from: "--runner-user", "service" (the --user of the runner's
    # systemd unit) or "default" (gitlab-runner)
    runner_user_source: str | None = None
    cgroup_v2: bool | None = None  # the unified hierarchy (kaniko < 1.9 misses containers on it)


@dataclass(frozen=True)
class JobView:
    """One job with what the engine derived for it.

    ``way``: the strategy name the job uses (``dind``, ``docker_sock``, ``docker_host``, ``shell``,
    ``kaniko``, ``buildah``, ``buildkit``) or None when it builds no image. ``runners``: the runners
    of config.toml that can pick it up (tags and ``run_untagged``); empty when no config.toml was
    given. ``env``: the effective environment in the job container, highest precedence last
    applied: runner ``environment``, global and job ``variables``, then what the job image's
    entrypoint sets itself (e.g. ``DOCKER_HOST`` from the docker image when certs exist), each
    Variable keeping the Loc it came from (None for image defaults). ``service_env`` maps each
    service (keyed by ``derive.service_key``: its first alias, else its first derived name) to that
    service's effective environment (job variables + service variables +
    the service image's defaults, e.g. dind's ``DOCKER_TLS_CERTDIR=/certs``).
    """

    job: Job
    way: str | None
    runners: tuple[Runner, ...] = ()
    env: Mapping[str, Variable] = field(default_factory=lambda: MappingProxyType({}))
    service_env: Mapping[str, Mapping[str, Variable]] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True)
class Context:
    """Everything a rule may read. Missing inputs are None; ``limits`` says what that rules out."""

    pipeline: Pipeline | None = None
    runner_config: RunnerConfig | None = None
    daemon: DaemonConfig | None = None
    live: LiveFacts | None = None
    jobs: tuple[JobView, ...] = ()
    limits: tuple[str, ...] = ()
    # the error text the user saw (``--symptom``): host-fact checks it matches become warnings
    symptom: str | None = None


@dataclass(frozen=True)
class Issue:
    """What a rule found; the engine makes it a :class:`Finding` of that rule."""

    message: str  # names the job and what is wrong; quotes the symptom users see
    fix: str
    loc: Loc | None = None
    job: str | None = None
    severity: Severity | None = None  # None: the rule's SEVERITY


class Rule(Protocol):
    """The contract of a rule module (a module type-checks against this Protocol)."""

    ID: str
    TITLE: str
    SEVERITY: Severity
    CATEGORY: Category
    DOCS: str

    def check(self, ctx: Context) -> Iterator[Issue]: ...


def finding(
    message: str,
    fix: str,
    *,
    loc: Loc | None = None,
    job: str | None = None,
    severity: Severity | None = None,
) -> Issue:
    """An :class:`Issue` (kept under this name so rules read ``yield finding(...)``)."""
    return Issue(message=message, fix=fix, loc=loc, job=job, severity=severity)
