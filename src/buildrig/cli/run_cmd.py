"""CLI commands: run, gc (registered on import).

Kept import-light on purpose: every ``buildrig`` invocation imports this module, and ``buildrig run``
is benchmarked as a whole process, so the run machinery and the Docker SDK load inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from buildrig.cli.app import app, err, markup, out, printable
from buildrig.cli.choices import Format, RunExecutor

if TYPE_CHECKING:
    from buildrig.run.model import LogLine


def _pairs(items: list[str], what: str) -> dict[str, str]:
    from buildrig.errors import InputError

    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"{what} {item!r}: expected KEY=VALUE")
        result[key] = value
    return result


def _image_map(path: Path) -> dict[str, str]:
    """``--image-map F``: a JSON object, or lines ``name=local-image`` (``#`` comments)."""
    import json

    from buildrig.errors import InputError
    from buildrig.fsutil import read_user_text

    try:
        text = read_user_text(path)
    except InputError as exc:
        raise InputError(f"{exc} (image map)") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise InputError(f"{path}: the image map must map image names to image names")
        return {str(k): str(v) for k, v in data.items()}
    result: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise InputError(f"{path}:{n}: expected IMAGE=LOCAL_IMAGE")
        result[key.strip()] = value.strip()
    return result


class _Printer:
    """Prints each log line as it arrives: time since the run started, the job, the line."""

    def __init__(self, multi: bool) -> None:
        import time

        self.t0 = time.monotonic()
        self.multi = multi

    def __call__(self, line: LogLine) -> None:
        from rich.text import Text

        stamp = Text(f"{line.t - self.t0:7.2f}s ", style="dim")
        if self.multi:
            stamp.append(f"{printable(line.job)} ", style="bold blue")
        stamp.append_text(Text.from_ansi(line.text))
        out.print(stamp)


@app.command("run")
def run_command(
    project_dir: Annotated[Path, typer.Argument(help="The project (holding .gitlab-ci.yml).")] = Path("."),
    job: Annotated[list[str] | None, typer.Option("--job", "-j", help="Run this job (repeatable).")] = None,
    stage: Annotated[
        list[str] | None, typer.Option("--stage", help="Run every job of this stage (repeatable).")
    ] = None,
    list_jobs: Annotated[bool, typer.Option("--list", help="List the jobs and exit.")] = False,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="With --list: text, or json for scripts.")
    ] = Format.text,
    ci_file: Annotated[Path | None, typer.Option("--ci-file", help="Default: DIR/.gitlab-ci.yml.")] = None,
    runner_config: Annotated[
        Path | None,
        typer.Option(
            "--runner-config", "-c", help="GitLab Runner config.toml (default: DIR/runner/config.toml)."
        ),
    ] = None,
    variables_file: Annotated[
        Path | None,
        typer.Option(
            "--variables-file", help="The project's CI/CD variables (default: DIR/runner/variables.toml)."
        ),
    ] = None,
    runner_name: Annotated[
        str | None, typer.Option("--runner", help="Which \\[\\[runners]] entry (default: first).")
    ] = None,
    executor: Annotated[
        RunExecutor | None, typer.Option("--executor", help="Executor to emulate (default: the runner's).")
    ] = None,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="KEY=VALUE pipeline variable (repeatable).")
    ] = None,
    file_var: Annotated[
        list[str] | None, typer.Option("--file-var", help="KEY=PATH file-type variable (repeatable).")
    ] = None,
    mask: Annotated[
        list[str] | None, typer.Option("--mask", help="Show this variable's value as [MASKED] (repeatable).")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Shell executor: run the script as this user.")
    ] = None,
    builds_dir: Annotated[
        Path | None, typer.Option("--builds-dir", help="Shell executor: builds directory.")
    ] = None,
    image_map: Annotated[
        Path | None, typer.Option("--image-map", help="IMAGE=LOCAL lines or a JSON object.")
    ] = None,
    no_testbed: Annotated[
        bool, typer.Option("--no-testbed", help="Don't use the testbed's registry and stand-in images.")
    ] = False,
    network_per_build: Annotated[
        bool, typer.Option("--network-per-build", help="A network even without services.")
    ] = False,
    docker_host: Annotated[
        str | None,
        typer.Option("--docker-host", help="Engine to run on (default: DOCKER_HOST or the local socket)."),
    ] = None,
    keep_cache: Annotated[
        bool,
        typer.Option(
            "--keep-cache",
            help="Keep the cache volumes (volumes entries without a host path: a dind, buildah or "
            "BuildKit store) for this project's next run, as GitLab Runner does; "
            "`buildrig gc --all` removes them.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary, not the job logs.")] = False,
) -> None:
    """Run jobs locally the way GitLab Runner's docker or shell executor would."""
    from buildrig.run import RunInterrupted, RunOptions, run_jobs, select_jobs

    job, stage, var, file_var, mask = job or [], stage or [], var or [], file_var or [], mask or []
    from buildrig.run.inputs import load_pipeline

    base = RunOptions(project_dir=project_dir, ci_file=ci_file)
    if list_jobs:
        pipeline = load_pipeline(base)
        chosen = {j.name for j in select_jobs(pipeline, tuple(job), tuple(stage))}
        if fmt is Format.json:
            import json

            rows = [
                {
                    "name": j.name,
                    "stage": j.stage,
                    "when": j.when,
                    "image": j.image.name if j.image else None,
                    "selected": j.name in chosen,
                }
                for j in pipeline.jobs
            ]
            out.print(json.dumps({"version": 1, "jobs": rows}, indent=2, ensure_ascii=False))
            raise typer.Exit(0)
        for j in pipeline.jobs:
            image = j.image.name if j.image else "-"
            mark = "*" if j.name in chosen else " "
            out.print(f"{mark} {j.name}\t{j.stage}\t{j.when}\t{image}")
        raise typer.Exit(0)
    registry, stand_ins = None, {}
    if not no_testbed:
        # The test bed's registry (when running) is CI_REGISTRY and its stand-ins replace the real
        # images; --image-map entries win over the stand-ins.
        from buildrig.testbed import images
        from buildrig.testbed import registry as testbed_registry

        registry, stand_ins = testbed_registry.current(docker_host), images.overrides()
    opts = RunOptions(
        project_dir=project_dir,
        ci_file=ci_file,
        jobs=tuple(job),
        stages=tuple(stage),
        executor=executor.value if executor else None,
        runner_config=runner_config,
        variables_file=variables_file,
        project_defaults=True,
        runner_name=runner_name,
        variables=_pairs(var, "--var"),
        file_variables={k: Path(v) for k, v in _pairs(file_var, "--file-var").items()},
        masked=tuple(mask),
        image_overrides={**stand_ins, **(_image_map(image_map) if image_map else {})},
        registry=registry,
        network_per_build=network_per_build,
        builds_dir=builds_dir,
        user=user,
        docker_host=docker_host,
        sink=None if quiet else _Printer(multi=len(job) != 1),
        keep_lines=False,
        keep_cache=keep_cache,
    )
    try:
        result = run_jobs(opts)
    except RunInterrupted as exc:
        err.print(f"buildrig: {exc}")
        raise typer.Exit(exc.exit_code) from None
    for jr in result.jobs:
        style = {"success": "green", "failed": "red", "skipped": "dim"}.get(jr.status, "yellow")
        detail = f" ({jr.reason})" if jr.reason and jr.status != "success" else ""
        err.print(
            f"[{style}]{jr.status:8}[/] {markup(jr.name)} {jr.duration:.2f}s{markup(detail)}",
            markup=True,
            highlight=False,
        )
        if quiet:
            for hint in jr.hints:
                err.print(f"  {hint}")
        for note in jr.notes:
            err.print(f"         note: {note}", highlight=False)
    raise typer.Exit(result.exit_code)


@app.command("gc")
def gc_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be removed.")] = False,
    all_runs: Annotated[
        bool,
        typer.Option(
            "--all", help="Also remove objects of runs still alive, and caches kept with --keep-cache."
        ),
    ] = False,
) -> None:
    """Remove containers, networks and volumes left by buildrig runs that are gone."""
    from buildrig import engine
    from buildrig.run.cleanup import gc

    items = gc(engine.client().api, dry_run=dry_run, include_live=all_runs)
    failed = 0
    for item in items:
        if item.problem:
            failed += 1
            err.print(f"cannot remove {item.kind} {item.name}: {item.problem}")
        else:
            verb = "would remove" if dry_run else "removed"
            out.print(f"{verb} {item.kind} {item.name} (run {item.run_id}, {item.role})")
    if not items:
        out.print("nothing to remove")
    raise typer.Exit(1 if failed else 0)
