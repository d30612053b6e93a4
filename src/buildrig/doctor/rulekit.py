"""Helpers shared by the input (BR0xx), dind (BR1xx) and docker_host (BR3xx) rules."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from buildrig.doctor import derive
from buildrig.doctor import facts as F
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


_VIEWS: dict[int, tuple[JobView, list[RunnerView]]] = {}


def per_runner(ctx: Context, jv: JobView) -> list[RunnerView]:
    """The job on each runner that can take it; computed once per JobView for all rules."""
    hit = _VIEWS.get(id(jv))
    if hit is not None and hit[0] is jv:
        return hit[1]
    views = _per_runner(ctx, jv)
    if len(_VIEWS) > 20_000:
        _VIEWS.clear()
    _VIEWS[id(jv)] = (jv, views)
    return views


_SIGNATURES: dict[int, tuple[Runner, tuple[object, ...]]] = {}


def _signature(r: Runner) -> tuple[object, ...]:
    """What of a runner the job's effective environment depends on (remembered per runner)."""
    hit = _SIGNATURES.get(id(r))
    if hit is not None and hit[0] is r:
        return hit[1]
    if len(_SIGNATURES) > 10_000:
        _SIGNATURES.clear()
    sig = _compute_signature(r)
    _SIGNATURES[id(r)] = (r, sig)
    return sig


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


# The jobs of each way, in pipeline order, indexed once per Context for all rules (the entry
# keeps its Context alive, so the id is not reused while cached).
_BY_WAY: dict[int, tuple[Context, dict[str | None, tuple[JobView, ...]]]] = {}


def jobs(ctx: Context, *ways: str) -> Iterator[JobView]:
    if not ways:
        return iter(ctx.jobs)
    hit = _BY_WAY.get(id(ctx))
    if hit is None or hit[0] is not ctx:
        if len(_BY_WAY) > 64:
            _BY_WAY.clear()
        index: dict[str | None, list[JobView]] = {}
        for jv in ctx.jobs:
            index.setdefault(jv.way, []).append(jv)
        hit = _BY_WAY[id(ctx)] = (ctx, {w: tuple(v) for w, v in index.items()})
    by_way = hit[1]
    if len(ways) == 1:
        return iter(by_way.get(ways[0], ()))
    wanted = set(ways)
    return (jv for jv in ctx.jobs if jv.way in wanted)


def label(job: Job) -> str:
    return f"job '{job.name}' ({job.loc})"


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


def endpoint(env: Mapping[str, Variable]) -> F.Endpoint | None:
    var = env.get("DOCKER_HOST")
    return F.parse_endpoint(derive.expand(var.value, env)) if var is not None and var.value else None


def tls_on(env: Mapping[str, Variable]) -> bool:
    """The docker CLI verifies TLS when DOCKER_TLS_VERIFY is non-empty (any value, even "0")."""
    verify = env.get("DOCKER_TLS_VERIFY")
    tls = env.get("DOCKER_TLS")
    return bool(verify is not None and verify.value) or bool(tls is not None and tls.value)
