"""Jobs as rules see them: each job on each runner, jobs by way, places and names, variables."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.analysis import remembered
from buildrig.doctor.base import Context, JobView, Severity
from buildrig.errors import Loc
from buildrig.gitlab.model import Job, Runner, ServiceSpec, Variable


@dataclass(frozen=True)
class RunnerView:
    """A job as it runs on one runner (runner None: no config.toml, documented defaults)."""

    runner: Runner | None
    env: Mapping[str, Variable]
    service_env: Mapping[str, Mapping[str, Variable]]

    @property
    def kubernetes(self) -> bool:
        return self.runner is not None and F.is_kubernetes(self.runner)

    @property
    def docker(self) -> bool:
        return self.runner is None or F.is_docker_executor(self.runner)

    @property
    def shell(self) -> bool:
        return self.runner is not None and F.is_shell(self.runner)


def per_runner(ctx: Context, jv: JobView) -> list[RunnerView]:
    """The job on each runner that can take it; worked out once per JobView in a run."""
    return remembered("per_runner", jv, _per_runner, ctx, jv)


def _signature(r: Runner) -> tuple[object, ...]:
    """What of a runner the job's effective environment depends on (once per runner in a run)."""
    return remembered("runner_signature", r, _compute_signature, r)


def _compute_signature(r: Runner) -> tuple[object, ...]:
    d, k = r.docker, r.kubernetes
    return (
        r.executor,
        tuple((v.name, v.value) for v in r.environment),
        tuple(sorted(r.feature_flags.items())),
        (d.image, d.volumes) if d is not None else None,
        (k.image, tuple(v.mount_path for v in k.volumes)) if k is not None else None,
    )


def _per_runner(ctx: Context, jv: JobView) -> list[RunnerView]:
    if not jv.runners:
        return [RunnerView(None, jv.env, jv.service_env)]
    out = []
    seen: dict[tuple[object, ...], tuple[dict[str, Variable], dict[str, dict[str, Variable]]]] = {}
    for r in jv.runners:
        sig = _signature(r)
        if sig not in seen:
            seen[sig] = derive.effective_env(ctx.pipeline, jv.job, [r])
        env, services = seen[sig]
        out.append(RunnerView(r, env, services))
    return out


def _by_way(ctx: Context) -> dict[str | None, tuple[JobView, ...]]:
    index: dict[str | None, list[JobView]] = {}
    for jv in ctx.jobs:
        index.setdefault(jv.way, []).append(jv)
    return {w: tuple(v) for w, v in index.items()}


def jobs(ctx: Context, *ways: str) -> Iterator[JobView]:
    """The jobs of these ways in pipeline order (all jobs without ``ways``), indexed once per run."""
    if not ways:
        return iter(ctx.jobs)
    by_way = remembered("jobs_by_way", ctx, _by_way, ctx)
    if len(ways) == 1:
        return iter(by_way.get(ways[0], ()))
    wanted = set(ways)
    return (jv for jv in ctx.jobs if jv.way in wanted)


def key_loc(job: Job, *keys: str) -> Loc:
    for k in keys:
        if k in job.key_locs:
            return job.key_locs[k]
    return job.loc


def var_loc(var: Variable | None, job: Job, *keys: str) -> Loc:
    if var is not None and var.loc is not None:
        return var.loc
    return key_loc(job, *keys)


def svc_env(view: RunnerView, svc: ServiceSpec) -> Mapping[str, Variable]:
    return view.service_env.get(derive.service_key(svc), {})


def origin(var: Variable | None) -> str:
    if var is None:
        return "unset"
    if var.loc is None:
        return "the image's default"
    return f"set at {var.loc}"


def severity_over(bad: int, total: int) -> Severity:
    """ERROR when every runner that can take the job is affected, WARNING when some are."""
    return Severity.ERROR if bad and bad == total else Severity.WARNING


def runner_names(runners: Sequence[Runner]) -> str:
    return ", ".join(F.describe_runner(r) for r in runners)


def jname(job: Job, loc: Loc | None = None) -> str:
    return f"job '{job.name}' ({loc or job.loc})"


# The two helper modules merged here each had their own name for these; both names stay so the
# rules read as before.
label = jname
job_loc = key_loc
severity_for = severity_over


def image_loc(job: Job) -> Loc:
    if job.image is not None and job.image.loc is not None:
        return job.image.loc
    return key_loc(job, "image")


def env_value(jv: JobView, name: str) -> str | None:
    v = jv.env.get(name)
    if v is not None:
        return v.value
    for var in jv.job.variables:
        if var.name == name:
            return var.value
    return None


def explicit_env(jv: JobView, name: str) -> Variable | None:
    """The variable when the user set it (a file:line), not when an image default filled it."""
    v = jv.env.get(name)
    if v is not None and v.loc is not None:
        return v
    for var in jv.job.variables:
        if var.name == name:
            return var
    return None


def runner_env(r: Runner, name: str) -> Variable | None:
    return next((v for v in r.environment if v.name == name), None)
