"""``run_jobs``: run a pipeline's jobs locally with GitLab Runner's executor semantics."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from buildrig.errors import InputError
from buildrig.fsutil import read_user_text
from buildrig.gitlab.expand import expand
from buildrig.gitlab.model import DockerSection, Job, Pipeline, Runner, Variable
from buildrig.run.artifacts import (
    ArtifactFile,
    CacheSpec,
    cache_file,
    cache_specs,
    load_cache,
    matches,
    save_cache,
    sources,
    split_dotenv,
    wanted,
)
from buildrig.run.cleanup import (
    Terminated,
    Tracker,
    cache_slot,
    project_scope,
    signals_deferred,
    terminate_raises,
)
from buildrig.run.executor import Executor, JobError, Outcome
from buildrig.run.hints import variable_hints
from buildrig.run.inputs import DEFAULT_STAGES, load_pipeline, load_runner, project_files, select_jobs
from buildrig.run.log import JobLog
from buildrig.run.model import JobResult, RegistryInfo, RunInterrupted, RunOptions, RunResult
from buildrig.run.rules import Decision, decide
from buildrig.run.variables import (
    ALWAYS_MASKED,
    JobVariables,
    Masker,
    PipelineContext,
    git_info,
    new_context,
    plain,
    predefined,
    project_identity,
    resolve,
    slug,
)

#: Without a config.toml buildrig uses images already in the engine before trying to pull: a local
#: run should not need a registry for an image you have. With a config.toml, its pull_policy (or
#: the runner's default, ``always``) applies as written.
NO_CONFIG_PULL_POLICY = ("if-not-present",)
RUNNER_DEFAULT_PULL_POLICY = ("always",)
JOB_STREAM_TIMEOUT = 24 * 3600  # seconds; GitLab's longest job timeout is a month, its default one hour


def new_run_id() -> str:
    return secrets.token_hex(4)


@dataclass
class _Run:
    opts: RunOptions
    pipeline: Pipeline
    runner: Runner | None
    executor_name: str
    ctx: PipelineContext
    file_vars: list[Variable]
    project_vars: list[Variable] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    variables_file: Path | None = None
    executor: Executor | None = None
    tracker: Tracker | None = None
    finished: list[Job] = field(default_factory=list)
    artifacts: dict[str, tuple[ArtifactFile, ...]] = field(default_factory=dict)
    dotenv: dict[str, dict[str, str]] = field(default_factory=dict)


def job_variables(run: _Run, job: Job, index: int, rule_vars: tuple[Variable, ...] = ()) -> JobVariables:
    from buildrig.gitlab.ci import job_variables as yaml_vars

    image = (
        job.image.name
        if job.image
        else (run.runner.docker.image if run.runner and run.runner.docker else None)
    )
    pre = plain(predefined(run.ctx, job, index, image if run.executor_name == "docker" else None))
    layers: list[list[Variable]] = [
        list(run.runner.environment) if run.runner else [],  # below everything the job sets
        pre,
        list(yaml_vars(run.pipeline, job).values()),
        list(rule_vars),  # rules:variables override the job's own
        _dotenv_vars(run, job),  # dotenv reports of the jobs it gets artifacts from: above yml
        run.project_vars,  # the project's settings: above the yml, below pipeline variables
        [Variable(k, v) for k, v in run.opts.variables.items()],
        run.file_vars,
    ]
    tmp = f"{run.ctx.tmp_dir}/"
    return resolve(
        layers, always_masked=ALWAYS_MASKED, masked_names=run.opts.masked, file_path=lambda k: tmp + k
    )


def _dotenv_vars(run: _Run, job: Job) -> list[Variable]:
    order = {s: i for i, s in enumerate(run.pipeline.stages or DEFAULT_STAGES)}
    return [
        Variable(k, v, expand=False)
        for name in sources(job, run.finished, order)
        for k, v in run.dotenv.get(name, {}).items()
    ]


def _prepare(opts: RunOptions) -> _Run:
    pipeline = load_pipeline(opts)
    found = project_files(opts)
    opts = replace(opts, runner_config=found.runner_config, variables_file=found.variables_file)
    runner = load_runner(opts)
    project_vars: list[Variable] = []
    if found.variables_file is not None:
        from buildrig.gitlab.variables_file import load as load_variables

        project_vars = [pv.variable for pv in load_variables(found.variables_file)]
    executor = opts.executor or (
        runner.executor if runner and runner.executor in ("docker", "shell") else None
    )
    if executor is None:
        if runner is not None:
            raise InputError(
                f"{runner.loc}: executor {runner.executor!r} is not emulated (docker, shell are)"
            )
        executor = "docker"
    if executor not in ("docker", "shell"):
        raise InputError(f"executor {executor!r} is not emulated (docker, shell are)")
    file_vars: list[Variable] = []
    for name, path in opts.file_variables.items():
        try:
            # A regular file, bounded: --file-var K=/dev/zero must not read forever.
            file_vars.append(Variable(name, read_user_text(Path(path)), expand=False, file=True))
        except InputError as exc:
            raise InputError(f"{exc} (file variable {name})") from None
    registry = opts.registry
    notes = found.notes
    ca_var = _registry_ca_variable(registry, [*file_vars, *project_vars], opts.variables)
    if ca_var is not None:
        # What a user of a private-CA registry sets in the project's settings for kaniko and
        # BuildKit jobs; jobs of the other ways ignore it.
        project_vars.append(ca_var)
        notes = (*notes, f"Setting File variable {ca_var.name} to the CA of the registry "
                 f"{registry.host if registry else ''} (--file-var overrides)")
    run_id = opts.run_id or new_run_id()
    git = git_info(opts.project_dir)
    project = project_identity(opts.project_dir, git, opts.namespace, opts.project_name)
    if executor == "docker":
        builds = (runner.builds_dir if runner and runner.builds_dir else None) or "/builds"
    else:
        from buildrig.paths import state_dir

        base = opts.builds_dir or (Path(runner.builds_dir) if runner and runner.builds_dir else None)
        builds = str((base or state_dir() / "builds" / run_id).resolve())
    ctx = new_context(
        run_id,
        project,
        git,
        registry,
        executor,
        runner.name if runner else "buildrig-local",
        runner.tags if runner else (),
        builds,
    )
    return _Run(
        opts, pipeline, runner, executor, ctx, file_vars, project_vars, notes, found.variables_file
    )


def _registry_ca_variable(
    registry: RegistryInfo | None, given: list[Variable], variables: Mapping[str, str]
) -> Variable | None:
    """``BUILD_REGISTRY_CA`` with the registry's own CA, unless the user set it."""
    if registry is None or registry.ca_path is None:
        return None  # before the import: the strategies package loads every way's module
    from buildrig.strategies.base import REGISTRY_CA_VARIABLE

    if REGISTRY_CA_VARIABLE in variables:
        return None
    if any(v.name == REGISTRY_CA_VARIABLE for v in given):
        return None
    try:
        pem = read_user_text(Path(registry.ca_path))
    except InputError as exc:
        raise InputError(f"{exc} (the registry's CA, for {REGISTRY_CA_VARIABLE})") from None
    return Variable(REGISTRY_CA_VARIABLE, pem, expand=False, file=True)


def _make_executor(run: _Run) -> None:
    opts = run.opts
    if run.executor_name == "shell":
        from buildrig.run.shell_executor import ShellExecutor

        run.executor = ShellExecutor(run.ctx, user=opts.user, shell=run.runner.shell if run.runner else None)
        run.executor.pre_build = _pre_build(run.runner)
        return
    from buildrig import engine
    from buildrig.run.docker_executor import DockerExecutor

    docker = run.runner.docker if run.runner and run.runner.docker else DockerSection()
    # [runners.docker] host names the engine the runner drives; --docker-host/DOCKER_HOST still win.
    # A TLS host would need the runner's cert dir: only plain sockets/TCP are followed.
    host = docker.host if docker.host and not docker.tls_verify and not docker.tls_cert_path else None
    # The client's timeout is also the read timeout of the log stream: a job may stay silent for
    # a long time (a quiet build step), so it must not be the usual 120 s.
    cli = engine.client(
        opts.docker_host or (host if not os.environ.get("DOCKER_HOST") else None), timeout=JOB_STREAM_TIMEOUT
    )
    run.tracker = Tracker(cli.api, run.ctx.run_id)
    overrides = dict(opts.image_overrides)
    default_policy = RUNNER_DEFAULT_PULL_POLICY if run.runner is not None else NO_CONFIG_PULL_POLICY
    extra_hosts: list[str] = []
    reg = run.ctx.registry
    if reg is not None and reg.address:
        extra_hosts.append(f"{reg.host.rsplit(':', 1)[0] if ':' in reg.host else reg.host}:{reg.address}")
    run.executor = DockerExecutor(
        cli.api,
        run.ctx,
        docker,
        tracker=run.tracker,
        overrides=overrides,
        default_pull_policy=default_policy,
        network_per_build=opts.network_per_build,
        extra_hosts=extra_hosts,
        feature_flags=run.runner.feature_flags if run.runner else None,
        cache_scope=opts.cache_scope,
        keep_cache=opts.keep_cache,
    )
    run.executor.pre_build = _pre_build(run.runner)


def _pre_build(runner: Runner | None) -> tuple[str, ...]:
    script = runner.raw.get("pre_build_script") if runner else None
    return (script,) if isinstance(script, str) and script.strip() else ()


def run_jobs(opts: RunOptions) -> RunResult:
    """Run the selected jobs in stage order, each like GitLab Runner would; stop after a failure
    (later ``when: on_success`` jobs are skipped, ``always``/``on_failure`` ones still run).

    Raises :class:`RunInterrupted` on SIGINT/SIGTERM after removing everything the run created,
    :class:`~buildrig.errors.InputError` for bad input, :class:`~buildrig.errors.EngineError`
    when the engine does not answer. A failed job is not an exception: see ``RunResult.exit_code``.
    """
    started = time.monotonic()
    run = _prepare(opts)
    with contextlib.ExitStack() as held:
        if opts.keep_cache and opts.cache_scope is None:
            # After discovery: the runner entry actually used, however it was named.
            name = run.runner.name if run.runner else None
            scope = project_scope(opts.project_dir, run.opts.runner_config, name)
            run.opts = replace(run.opts, cache_scope=held.enter_context(cache_slot(scope)))
        return _run_jobs(run, started)


def _run_jobs(run: _Run, started: float) -> RunResult:
    opts = run.opts
    jobs = select_jobs(run.pipeline, opts.jobs, opts.stages)
    results: list[JobResult] = []
    interrupted: str | None = None
    explicit = bool(opts.jobs or opts.stages)
    clean_exit = True
    with terminate_raises(opts.install_signal_handlers):
        try:
            _make_executor(run)
            failed = False
            for index, job in enumerate(jobs):
                decision = decide(job, job_variables(run, job, index).as_dict(), opts.project_dir)
                allow = job.allow_failure if decision.allow_failure is None else decision.allow_failure
                skip: str | None = None
                if not explicit and not decision.include:
                    skip = f"not in a push pipeline: {decision.why}"
                elif not explicit and not _should_run(decision.when, failed):
                    skip = "an earlier job failed" if failed else f"when: {decision.when}"
                if skip is not None:
                    now = time.monotonic()
                    results.append(
                        JobResult(
                            job.name,
                            job.stage,
                            "skipped",
                            0,
                            now,
                            now,
                            time.time(),
                            reason=skip,
                            allow_failure=allow,
                        )
                    )
                    continue
                tries = 1 + _retry_max(job)
                previous: str | None = None
                for attempt in range(1, tries + 1):
                    jr = _run_one(run, job, index, decision, allow, attempt, tries, previous)
                    if jr.status != "failed" or attempt == tries or not _retryable(job, jr):
                        break
                    previous = jr.reason
                results.append(jr)
                if jr.status == "canceled":
                    interrupted = jr.reason or "SIGINT"
                    break
                if jr.status == "failed" and not allow:
                    failed = True
        except (KeyboardInterrupt, Terminated) as exc:
            # Between jobs (or while connecting): nothing is half-run, but the caller gets the same
            # error type as for an interrupted job.
            clean_exit = False
            interrupted = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        except BaseException:
            clean_exit = False
            raise
        finally:
            if run.tracker is not None:
                # Listing by label costs three API calls: only needed when something went wrong
                # between creating an object and recording it.
                with signals_deferred(opts.install_signal_handlers):
                    run.tracker.cleanup(sweep=not clean_exit or interrupted is not None)
            if (
                run.executor_name == "shell"
                and opts.builds_dir is None
                and not (run.runner and run.runner.builds_dir)
            ):
                import shutil

                shutil.rmtree(run.ctx.builds_dir, ignore_errors=True)
    result = RunResult(run.ctx.run_id, tuple(results), started, time.monotonic())
    if interrupted:
        raise RunInterrupted(interrupted, result)
    return result


def _should_run(when: str, failed: bool) -> bool:
    if when == "always":
        return True
    if when == "on_failure":
        return failed
    return when == "on_success" and not failed


def _retry_max(job: Job) -> int:
    spec = job.raw.get("retry")
    value = spec.get("max", 0) if isinstance(spec, Mapping) else spec
    return max(0, min(2, value)) if isinstance(value, int) and not isinstance(value, bool) else 0


def _retryable(job: Job, result: JobResult) -> bool:
    """GitLab's ``retry: when`` / ``exit_codes`` for the failures a local run can have."""
    spec = job.raw.get("retry")
    if not isinstance(spec, Mapping):
        return True
    codes = spec.get("exit_codes")
    if codes is not None:
        wanted = codes if isinstance(codes, list) else [codes]
        if result.exit_code not in wanted:
            return False
    when = spec.get("when", "always")
    whens = when if isinstance(when, list) else [when]
    timed_out = (result.reason or "").startswith("execution took longer")
    kind = "stuck_or_timeout_failure" if timed_out else "script_failure"
    return "always" in whens or kind in whens


def _cache_root(run: _Run) -> Path:
    from buildrig.paths import state_dir

    return state_dir() / "cache" / slug(run.ctx.project.path)


def _restore(root: Path, cache: CacheSpec, log: JobLog) -> list[ArtifactFile]:
    log.sys(f"Checking cache for {cache.key}...")
    files = load_cache(cache_file(root, cache.key))
    if files:
        log.sys(f"Successfully extracted cache ({len(files)} files)")
    else:
        log.warn("WARNING: file does not exist")
        log.warn("Failed to extract cache")
    return files


def _run_one(
    run: _Run,
    job: Job,
    index: int,
    decision: Decision,
    allow: bool,
    attempt: int = 1,
    tries: int = 1,
    previous: str | None = None,
) -> JobResult:
    opts = run.opts
    jv = job_variables(run, job, index, decision.variables)
    log = JobLog(job.name, Masker(jv.masked), opts.sink, opts.keep_lines)
    start, wall = time.monotonic(), time.time()
    log.sys(
        f"Running job {job.name!r} (stage {job.stage}) with buildrig's GitLab Runner emulation "
        f"on {run.ctx.runner_name} [run {run.ctx.run_id}]"
    )
    for note in run.notes:
        log.sys(note)
    if attempt > 1:
        log.warn(f"Retrying the job (attempt {attempt} of {tries}) after: {previous or 'a failure'}")
    if not decision.include:
        log.warn(f"WARNING: a push pipeline would not run this job ({decision.why}); running it as asked")
    order = {s: i for i, s in enumerate(run.pipeline.stages or DEFAULT_STAGES)}
    env = jv.as_dict()
    caches = cache_specs(job, lambda v: expand(v, env), run.ctx.project.dir)
    cache_root = _cache_root(run)
    # Cache first, then artifacts: what an earlier job of this pipeline made wins, as in GitLab.
    pulled = [c for c in caches if c.paths and c.policy in ("pull-push", "pull")]
    inputs = [f for c in pulled for f in _restore(cache_root, c, log)]
    inputs += [f for name in sources(job, run.finished, order) for f in run.artifacts.get(name, ())]
    cache_paths = [p for c in caches if c.policy in ("pull-push", "push") for p in c.paths]
    try:
        if run.executor is None:  # _make_executor runs before the first job
            raise JobError("no executor was set up")
        outcome: Outcome = run.executor.run(job, index, jv, log, inputs, cache_paths)
    except JobError as exc:
        outcome = Outcome("failed", 1, str(exc))
    except KeyboardInterrupt:
        log.flush()
        log.error("ERROR: Job failed: canceled (SIGINT)")
        return JobResult(
            job.name,
            job.stage,
            "canceled",
            130,
            start,
            time.monotonic(),
            wall,
            tuple(log.lines),
            "SIGINT",
            allow,
        )
    except Terminated:
        log.flush()
        log.error("ERROR: Job failed: canceled (SIGTERM)")
        return JobResult(
            job.name,
            job.stage,
            "canceled",
            143,
            start,
            time.monotonic(),
            wall,
            tuple(log.lines),
            "SIGTERM",
            allow,
        )
    for c in caches:
        if c.policy in ("pull-push", "push") and wanted(c.when, outcome.status == "success"):
            for path in c.outside:
                log.warn(f"WARNING: {path}: not supported: outside build directory")
            if not c.paths:
                continue
            files = [f for f in outcome.cache if any(matches(f.path, p) for p in c.paths)]
            log.sys(f"Creating cache {c.key}...")
            save_cache(cache_file(cache_root, c.key), files)
            log.sys(f"Created cache ({len(files)} files)")
    run.finished.append(job)
    run.artifacts[job.name], run.dotenv[job.name] = split_dotenv(job, outcome.artifacts)
    hints: tuple[str, ...] = ()
    if outcome.status == "success":
        log.ok("Job succeeded")
    else:
        hints = variable_hints(job, env, run.variables_file)
        for hint in hints:
            log.warn(hint)
        reason = outcome.reason or f"exit code {outcome.exit_code}"
        if allow:
            log.warn(f"WARNING: Job failed (allowed to fail): {reason}")
        else:
            log.error(f"ERROR: Job failed: {reason}")
    return JobResult(
        job.name,
        job.stage,
        outcome.status,
        outcome.exit_code,
        start,
        time.monotonic(),
        wall,
        tuple(log.lines),
        log.mask(outcome.reason) if outcome.reason else None,  # reasons are printed too
        allow,
        hints,
        tuple(log.notes),
    )
