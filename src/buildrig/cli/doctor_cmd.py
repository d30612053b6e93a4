"""CLI commands: doctor (registered on import).

Import-light: the doctor engine, its rules and parsers load inside the command.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated

import typer

from buildrig.cli.app import app, err, out, split_list
from buildrig.cli.choices import DoctorFormat


@app.command("doctor")
def doctor_cmd(
    directory: Annotated[Path, typer.Argument(help="Project directory (default: current).")] = Path("."),
    ci_file: Annotated[
        Path | None, typer.Option("--ci-file", help="The .gitlab-ci.yml (default: DIR/.gitlab-ci.yml).")
    ] = None,
    runner_config: Annotated[
        Path | None,
        typer.Option(
            "--runner-config", help="GitLab Runner config.toml (default: DIR/config.toml if present)."
        ),
    ] = None,
    daemon_json: Annotated[
        Path | None, typer.Option("--daemon-json", help="dockerd's daemon.json of the build host.")
    ] = None,
    docker_unit: Annotated[
        list[Path] | None,
        typer.Option("--docker-unit", help="docker.service and its drop-ins, in order (repeatable)."),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Also read facts from this machine (read-only).")
    ] = False,
    runner_user: Annotated[
        str | None,
        typer.Option(
            "--runner-user",
            help="With --live: the user shell jobs run as (default: the runner service's --user, "
            "else gitlab-runner).",
        ),
    ] = None,
    symptom: Annotated[
        str | None,
        typer.Option(
            "--symptom",
            help="The error text the job printed: host-fact checks it matches become warnings.",
        ),
    ] = None,
    fmt: Annotated[DoctorFormat, typer.Option("--format", "-f", help="Output format.")] = DoctorFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
    select: Annotated[
        list[str] | None, typer.Option("--select", help="Only these rule IDs or prefixes (comma-separated).")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="Skip these rule IDs or prefixes (comma-separated).")
    ] = None,
    explain: Annotated[
        str | None, typer.Option("--explain", help="Print a rule's documentation and exit.")
    ] = None,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List every rule and exit.")] = False,
) -> None:
    """Name the cause of a broken or dangerous image-build set-up.

    Reads .gitlab-ci.yml, the runner's config.toml and dockerd's configuration together.

    Exit status: 0 clean, 1 errors (or warnings with --strict), 2 unusable input.
    """
    from buildrig.doctor import engine
    from buildrig.doctor import output as outputs
    from buildrig.errors import InputError

    if explain is not None:
        text = outputs.explain(explain)
        if text is None:
            raise InputError(f"no rule {explain}; see buildrig doctor --list-rules")
        out.print(text, markup=False, emoji=False, end="")
        raise typer.Exit(0)
    if list_rules:
        for rule in engine.discover_rules():
            out.print(
                f"{rule.ID}  {rule.SEVERITY.value:7}  {rule.CATEGORY.value:15}  {rule.TITLE}",
                markup=False,
                emoji=False,
            )
        raise typer.Exit(0)
    inputs = engine.Inputs(
        directory=directory,
        ci_file=ci_file,
        runner_config=runner_config,
        daemon_json=daemon_json,
        docker_units=tuple(docker_unit or ()),
        live=live,
        runner_user=runner_user,
        symptom=symptom,
    )
    # doctor builds many small, acyclic objects and exits: the cyclic GC only costs time here
    # (about a third of the run on a 1,000-job pipeline)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        report = engine.diagnose(inputs, select=list(split_list(select)), ignore=list(split_list(ignore)))
        text = outputs.render(report, fmt.value, directory)
    finally:
        if was_enabled:
            gc.enable()
    if output is not None:
        from buildrig.fsutil import atomic_write

        atomic_write(output, text, inputs=_files_read(inputs, report))
        err.print(f"doctor: {len(report.findings)} finding(s) written to {output}", markup=False, emoji=False)
    else:
        out.print(text, markup=False, emoji=False, end="")
    raise typer.Exit(exit_code(report, strict=strict))


def _files_read(inputs: object, report: object) -> list[Path]:
    """Every file doctor may have read: ``-o`` must not replace any of them."""
    from buildrig.doctor import engine

    assert isinstance(inputs, engine.Inputs) and isinstance(report, engine.Report)
    d = inputs.directory
    given = (inputs.ci_file, inputs.runner_config, inputs.daemon_json, *inputs.docker_units)
    names = (*engine.CI_CANDIDATES, *engine.RUNNER_CANDIDATES, *engine.DAEMON_CANDIDATES)
    ctx = report.context
    read = [p for p in given if p is not None] + [d / n for n in names]
    read += list(ctx.pipeline.files) if ctx.pipeline is not None else []
    read += [ctx.runner_config.path] if ctx.runner_config is not None else []
    return read


def exit_code(report: object, *, strict: bool) -> int:
    from buildrig.doctor.base import Severity
    from buildrig.doctor.engine import Report

    assert isinstance(report, Report)
    if report.count(Severity.ERROR):
        return 1
    if strict and report.count(Severity.WARNING):
        return 1
    return 0
