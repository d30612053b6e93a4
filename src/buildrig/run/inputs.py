"""What a run reads before any job starts: the pipeline, the runner config and the project's
variables file (with ``project_defaults``, the ones ``init`` wrote), and the jobs chosen to run,
parallel ones expanded as GitLab names them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from buildrig.errors import InputError
from buildrig.gitlab.limits import MAX_PARALLEL
from buildrig.gitlab.model import Job, Pipeline, Runner, Variable
from buildrig.run.model import RunOptions

DEFAULT_STAGES = (".pre", "build", "test", "deploy", ".post")


def load_pipeline(opts: RunOptions) -> Pipeline:
    if opts.pipeline is not None:
        return opts.pipeline
    from buildrig.gitlab.ci import load_pipeline as _load

    path = opts.ci_file or opts.project_dir / ".gitlab-ci.yml"
    if not path.exists():
        raise InputError(f"{path}: no such file (give the project directory or --ci-file)")
    return _load(path)


@dataclass(frozen=True)
class ProjectFiles:
    """The runner config and variables file a run uses, and the log lines that say so."""

    runner_config: Path | None
    variables_file: Path | None
    notes: tuple[str, ...] = ()


def project_files(opts: RunOptions) -> ProjectFiles:
    """``opts``' runner config and variables file, or with ``project_defaults`` the ones ``init``
    writes into the project when present."""
    from buildrig.gitlab.variables_file import DEFAULT_PATH

    config, variables = opts.runner_config, opts.variables_file
    notes: list[str] = []
    if opts.project_defaults and config is None and opts.runner is None:
        found = opts.project_dir / "runner" / "config.toml"
        if found.is_file():
            config = found
            notes.append(f"Using runner config {found} (found in the project; --runner-config overrides)")
    if opts.project_defaults and variables is None:
        found = opts.project_dir / DEFAULT_PATH
        if found.is_file():
            variables = found
            notes.append(f"Using CI/CD variables from {found} (--var and --file-var override them)")
    return ProjectFiles(config, variables, tuple(notes))


def load_runner(opts: RunOptions) -> Runner | None:
    if opts.runner is not None:
        return opts.runner
    if opts.runner_config is None:
        return None
    from buildrig.gitlab.runner_config import load_runner_config

    cfg = load_runner_config(opts.runner_config)
    if not cfg.runners:
        raise InputError(f"{opts.runner_config}: no [[runners]] entry")
    if opts.runner_name is None:
        return cfg.runners[0]
    for r in cfg.runners:
        if r.name == opts.runner_name:
            return r
    names = ", ".join(r.name for r in cfg.runners)
    raise InputError(f"{opts.runner_config}: no runner named {opts.runner_name!r} (have: {names})")


def expand_parallel(job: Job) -> list[Job]:
    """``parallel: N`` → ``name 1/N``…; ``parallel: matrix`` → ``name: [v1, v2]`` per combination,
    each with its matrix variables and ``CI_NODE_INDEX``/``CI_NODE_TOTAL``, as GitLab names them."""
    spec = job.raw.get("parallel")
    combos: list[list[tuple[str, str]]] = []
    loc = job.key_locs.get("parallel", job.loc)
    if spec is None:
        return [job]
    if isinstance(spec, int) and not isinstance(spec, bool):
        # GitLab: "parallel config must be between 1 and 200" (and a matrix makes 200 jobs at most)
        if not 1 <= spec <= MAX_PARALLEL:
            raise InputError(f"{job.name}: parallel must be between 1 and {MAX_PARALLEL}", loc=loc)
        combos = [[] for _ in range(spec)] if spec > 1 else []
    elif isinstance(spec, Mapping) and isinstance(spec.get("matrix"), list):
        count = 0
        for entry in spec["matrix"]:
            if not isinstance(entry, Mapping):
                continue
            size = 1
            for values in entry.values():
                size *= len(values) if isinstance(values, list) else 1
                if count + size > MAX_PARALLEL:
                    raise InputError(
                        f"{job.name}: parallel: matrix makes more than {MAX_PARALLEL} jobs", loc=loc
                    )
            count += size
            rows: list[list[tuple[str, str]]] = [[]]
            for key, values in entry.items():
                vals = values if isinstance(values, list) else [values]
                rows = [[*row, (str(key), str(v))] for row in rows for v in vals]
            combos += rows
    else:
        raise InputError(f"{job.name}: parallel must be a number or a mapping with matrix", loc=loc)
    if not combos:
        return [job]
    total = len(combos)
    out: list[Job] = []
    for i, combo in enumerate(combos, 1):
        name = f"{job.name}: [{', '.join(v for _, v in combo)}]" if combo else f"{job.name} {i}/{total}"
        extra = (
            *(Variable(k, v) for k, v in combo),
            Variable("CI_NODE_INDEX", str(i)),
            Variable("CI_NODE_TOTAL", str(total)),
        )
        out.append(replace(job, name=name, variables=(*job.variables, *extra)))
    return out


def select_jobs(pipeline: Pipeline, names: tuple[str, ...] = (), stages: tuple[str, ...] = ()) -> list[Job]:
    """The jobs to run, in pipeline order (stage order, then file order).

    Named jobs and jobs of named stages run whatever their ``when:``; with no selection, every job a
    push would start (``when: manual``/``delayed``/``never`` left out).
    """
    order = {s: i for i, s in enumerate(pipeline.stages or DEFAULT_STAGES)}
    # A parallel job's instances are selected by their own name or by the job's.
    every = [(j, inst) for j in pipeline.jobs for inst in expand_parallel(j)]
    for name in names:
        if not any(name in (j.name, inst.name) for j, inst in every):
            have = ", ".join(j.name for j in pipeline.jobs) or "none"
            raise InputError(f"{pipeline.path}: no job named {name!r} (jobs: {have})")
    for stage in stages:
        if stage not in order:
            raise InputError(f"{pipeline.path}: no stage named {stage!r} (stages: {', '.join(order)})")
    if names or stages:
        picked = [i for j, i in every if j.name in names or i.name in names or i.stage in stages]
    else:
        picked = [i for _, i in every if i.when not in ("manual", "delayed", "never")]
    return sorted(picked, key=lambda j: order.get(j.stage, len(order)))
