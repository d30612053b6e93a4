"""The doctor engine: read the inputs, derive each job's view, run every rule.

The rules are ``catalog.RULES`` (a test keeps it equal to the modules of
:mod:`buildrig.doctor.rules`); each meets the :class:`~buildrig.doctor.base.Rule` contract. Rules
yield issues; the engine makes each a finding stamped with its rule's ID, category and docs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from buildrig.doctor import derive
from buildrig.doctor.analysis import running
from buildrig.doctor.base import Context, Finding, Issue, JobView, LiveFacts, Rule, Severity
from buildrig.errors import BuildrigError, InputError, Loc
from buildrig.gitlab.ci import load_pipeline
from buildrig.gitlab.dockerd_config import load_daemon_json, load_docker_units, merge_daemon, with_cert_sans
from buildrig.gitlab.model import DaemonConfig, Pipeline, RunnerConfig
from buildrig.gitlab.runner_config import load_runner_config

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}

# Where doctor looks in DIR when a file is not named on the command line.
CI_CANDIDATES = (".gitlab-ci.yml", ".gitlab-ci.yaml", "gitlab-ci.yml")
RUNNER_CANDIDATES = (
    "config.toml",
    "runner/config.toml",
    ".gitlab/runner/config.toml",
    "gitlab-runner/config.toml",
    "etc/gitlab-runner/config.toml",
)
SYSTEM_RUNNER_CONFIG = Path("/etc/gitlab-runner/config.toml")
DAEMON_CANDIDATES = (
    "daemon.json",
    "runner/host/daemon.json",
    "runner/host/etc/docker/daemon.json",
    "etc/docker/daemon.json",
)
# where a copy of a host's systemd units may sit in DIR (docker.service and/or docker.service.d/)
UNIT_DIRS = (
    "",
    "etc/systemd/system",
    "run/systemd/system",
    "lib/systemd/system",
    "usr/lib/systemd/system",
    "runner/host",
)


def find_units(directory: Path) -> tuple[Path, ...]:
    """docker.service and its drop-ins as systemd would combine them, from copies under DIR:
    the first unit file found, then every ``docker.service.d/*.conf`` in name order (a drop-in in
    an earlier directory hides one of the same name in a later one, as /etc hides /lib)."""
    main: Path | None = None
    dropins: dict[str, Path] = {}
    for sub in UNIT_DIRS:
        unit_dir = directory / sub if sub else directory
        if main is None and (unit_dir / "docker.service").is_file():
            main = unit_dir / "docker.service"
        for conf in (unit_dir / "docker.service.d").glob("*.conf"):
            dropins.setdefault(conf.name, conf)
    found = [main] if main is not None else []
    return tuple(found + [dropins[name] for name in sorted(dropins)])


@cache
def discover_rules() -> tuple[Rule, ...]:
    """``catalog.RULES`` in ID order; two rules with one ID is a bug the first run reports."""
    from buildrig.doctor.catalog import RULES

    found: dict[str, Rule] = {}
    for rule in RULES:
        if rule.ID in found:
            raise BuildrigError(f"rule {rule.ID} is listed twice or defined twice: {rule!r}")
        found[rule.ID] = rule
    return tuple(found[k] for k in sorted(found))


def rule_by_id(rule_id: str) -> Rule | None:
    return next((r for r in discover_rules() if r.ID.upper() == rule_id.strip().upper()), None)


def _matches(rule_id: str, patterns: Iterable[str]) -> bool:
    return any(rule_id.upper().startswith(p.strip().upper()) for p in patterns if p.strip())


def select_rules(
    rules: Sequence[Rule], select: Sequence[str] = (), ignore: Sequence[str] = ()
) -> tuple[Rule, ...]:
    """``select``/``ignore`` take IDs or prefixes (``BR1`` = the dind family)."""
    out = [r for r in rules if not select or _matches(r.ID, select)]
    return tuple(r for r in out if not _matches(r.ID, ignore))


@dataclass(frozen=True)
class Inputs:
    directory: Path = Path(".")
    ci_file: Path | None = None
    runner_config: Path | None = None
    daemon_json: Path | None = None
    docker_units: tuple[Path, ...] = ()
    live: bool = False
    # whom --live checks (group, dotfiles, rootless socket); None: the runner service's --user
    runner_user: str | None = None
    symptom: str | None = None  # the error text the user saw (--symptom)


@dataclass(frozen=True)
class Report:
    context: Context
    findings: tuple[Finding, ...]
    rules: tuple[Rule, ...] = field(default=())
    problems: tuple[str, ...] = ()

    @property
    def ways(self) -> dict[str, str | None]:
        return {jv.job.name: jv.way for jv in self.context.jobs}

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)


def _pick(given: Path | None, directory: Path, candidates: Sequence[str]) -> Path | None:
    """The file named on the command line (read whatever it is, within the limits of
    :func:`~buildrig.fsutil.read_user_file`), else the first candidate in DIR. A candidate found in
    DIR must stay in DIR: a symlink to a host file is not read unless named explicitly."""
    if given is not None:
        if not given.exists():
            raise InputError(f"{given}: file not found")
        return given
    for name in candidates:
        path = directory / name
        if path.is_file():
            return _inside(path, directory)
    return None


def _inside(path: Path, directory: Path) -> Path:
    if not path.resolve().is_relative_to(directory.resolve()):
        raise InputError(f"{path}: leads outside {directory}; not read (name it explicitly to check it)")
    return path


def load_inputs(
    inputs: Inputs,
) -> tuple[Pipeline | None, RunnerConfig | None, DaemonConfig | None, list[str]]:
    directory = inputs.directory
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory")
    limits: list[str] = []
    ci_path = _pick(inputs.ci_file, directory, CI_CANDIDATES)
    runner_path = _pick(inputs.runner_config, directory, RUNNER_CANDIDATES)
    if runner_path is None and inputs.live and os.access(SYSTEM_RUNNER_CONFIG, os.R_OK):
        runner_path = SYSTEM_RUNNER_CONFIG
        limits.append(f"--live: using this machine's {SYSTEM_RUNNER_CONFIG}")
    daemon_path = _pick(inputs.daemon_json, directory, DAEMON_CANDIDATES)
    units = inputs.docker_units
    for unit in units:
        if not unit.exists():
            raise InputError(f"{unit}: file not found")
    if not units:
        units = find_units(directory)
        for unit in units:
            _inside(unit, directory)
    pipeline = load_pipeline(ci_path) if ci_path is not None else None
    runners = load_runner_config(runner_path) if runner_path is not None else None
    daemon = merge_daemon(
        load_daemon_json(daemon_path) if daemon_path is not None else None,
        load_docker_units(units) if units else None,
    )
    daemon = with_cert_sans(
        daemon,
        daemon_path.parent if daemon_path is not None else directory,
        search=[directory / "runner" / "host" / "certs", directory / "certs"],
    )
    if pipeline is None:
        limits.append(f"no .gitlab-ci.yml in {directory} (--ci-file): job checks skipped")
    else:
        for what, loc in pipeline.skipped_includes:
            limits.append(f"include not followed ({what}) at {loc}: jobs from it are not checked")
        for what, loc in pipeline.unresolved:
            limits.append(f"{what} at {loc} not found (from a skipped include?): checked without it")
    if runners is None:
        limits.append(
            "no config.toml (--runner-config): privileged, volumes, executor and runner environment "
            "unknown; runner-side checks skipped and runner-dependent ones assume the documented set-up"
        )
    elif not derive.tags_known(runners):
        limits.append(
            "config.toml lists no runner tags (GitLab keeps them server-side): every runner is "
            "assumed able to take every job"
        )
    if daemon is None:
        limits.append("no daemon.json or docker unit (--daemon-json/--docker-unit): dockerd checks skipped")
    return pipeline, runners, daemon, limits


def build_context(
    pipeline: Pipeline | None,
    runner_config: RunnerConfig | None,
    daemon: DaemonConfig | None = None,
    live: LiveFacts | None = None,
    limits: Sequence[str] = (),
    symptom: str | None = None,
) -> Context:
    views = []
    known = derive.tags_known(runner_config)
    with running():
        for written in pipeline.jobs if pipeline is not None else ():
            job = derive.expand_names(pipeline, written)
            runners = derive.runners_for(job, runner_config, tags_known=known)
            base = derive.base_env(pipeline, job, runners, derive.image_name(job, runners))
            way = derive.detect_way(job, runners, base)
            env, services = derive.effective_env(pipeline, job, runners)
            views.append(
                JobView(
                    job=job,
                    way=way,
                    runners=runners,
                    env=MappingProxyType(env),
                    service_env=MappingProxyType({k: MappingProxyType(v) for k, v in services.items()}),
                )
            )
    return Context(
        pipeline=pipeline,
        runner_config=runner_config,
        daemon=daemon,
        live=live,
        jobs=tuple(views),
        limits=tuple(limits),
        symptom=symptom or None,
    )


def stamp(rule: Rule, issue: Issue) -> Finding:
    """The finding of ``rule`` for ``issue``: the rule's ID, category, docs and default severity."""
    return Finding(
        rule=rule.ID,
        severity=issue.severity or rule.SEVERITY,
        category=rule.CATEGORY,
        message=issue.message,
        fix=issue.fix,
        loc=issue.loc,
        job=issue.job,
        docs=rule.DOCS,
    )


def check_rule(rule: Rule, ctx: Context) -> list[Finding]:
    """One rule's findings, in the order it yields them."""
    with running():
        return [stamp(rule, issue) for issue in rule.check(ctx)]


def run_rules(
    ctx: Context, rules: Sequence[Rule], problems: list[str] | None = None
) -> tuple[Finding, ...]:
    """Every rule's findings, deduplicated and sorted by job, severity and place.

    A rule that raises is a bug in that rule, not in the user's set-up: its failure is noted in
    ``problems`` and the other rules still run.
    """
    findings: list[Finding] = []
    seen: set[tuple[str, str | None, Loc | None, str]] = set()
    with running():
        for rule in rules:
            try:
                produced = check_rule(rule, ctx)
            except Exception as exc:
                if problems is None:
                    raise
                problems.append(f"rule {rule.ID} failed and was skipped: {type(exc).__name__}: {exc}")
                continue
            for f in produced:
                key = (f.rule, f.job, f.loc, f.message)
                if key not in seen:
                    seen.add(key)
                    findings.append(f)
    findings.sort(key=_order)
    return tuple(findings)


def _order(f: Finding) -> tuple[str, int, str, int, str]:
    loc = f.loc or Loc("")
    return (f.job or "", _SEVERITY_ORDER[f.severity], loc.file, loc.line, f.rule)


def diagnose(
    inputs: Inputs, *, select: Sequence[str] = (), ignore: Sequence[str] = (), live: LiveFacts | None = None
) -> Report:
    pipeline, runners, daemon, limits = load_inputs(inputs)
    if inputs.live and live is None:
        from buildrig.doctor.live import gather

        live = gather(runners, runner_user=inputs.runner_user)
    if live is None:
        limits.append(
            "--live not given: host facts (runner user's groups and dotfiles, docker CLI and engine "
            "versions, sockets, SELinux, userns-remap, MTU) not checked; findings that depend on one "
            "name the check"
        )
    rules = select_rules(discover_rules(), select, ignore)
    problems: list[str] = []
    with running():  # one analysis for the views and the rules, dropped when the run ends
        ctx = build_context(pipeline, runners, daemon, live, limits, inputs.symptom)
        findings = run_rules(ctx, rules, problems)
    return Report(context=ctx, findings=findings, rules=rules, problems=tuple(problems))
