"""CLI commands: init (registered on import)."""

from __future__ import annotations

from pathlib import Path

import typer

from buildrig.cli.app import app, err, out
from buildrig.strategies import EXECUTORS, NAMES


@app.command("init")
def init_cmd(
    strategy: str = typer.Option(
        ...,
        "--strategy",
        "-s",
        help=f"Way to build: {', '.join(NAMES)}, or auto (choose from the runner facts).",
    ),
    executor: str = typer.Option(
        "", "--executor", "-e", help=f"Runner executor: {', '.join(EXECUTORS)} (default: the way's first)."
    ),
    image: str = typer.Option("$CI_REGISTRY_IMAGE", "--image", help="Image to push (without tag)."),
    dockerfile: str = typer.Option("Dockerfile", "--dockerfile", help="Dockerfile, relative to the project."),
    context: str = typer.Option(".", "--context", help="Build context, relative to the project."),
    job_name: str = typer.Option("build-image", "--job-name", help="Name of the generated job."),
    mirror: str = typer.Option(
        "", "--mirror", help="Registry prefix every image reference is pulled through."
    ),
    registry_mirror: str = typer.Option(
        "", "--registry-mirror", help="dind: --registry-mirror URL for the service."
    ),
    mtu: int | None = typer.Option(None, "--mtu", help="dind: MTU of the service daemon (e.g. 1360)."),
    docker_host: str = typer.Option(
        "", "--docker-host", help="docker_host: the Docker host's private IP[:PORT]."
    ),
    runner_config: str = typer.Option(
        "", "--runner-config", help="Merge into this config.toml instead of writing runner/config.toml."
    ),
    runner_name: str = typer.Option("", "--runner-name", help="Which \\[\\[runners]] entry to merge into."),
    out_dir: str = typer.Option(".", "--out", "-o", help="Project directory to write into."),
    force: bool = typer.Option(
        False, "--force", help="Replace an existing job of the same name, and generated files that differ."
    ),
    insecure_i_know: bool = typer.Option(
        False, "--insecure-i-know", help="docker_host: allow 0.0.0.0, public addresses, plain 2375."
    ),
    tls: bool = typer.Option(True, "--tls/--no-tls", help="dind: TLS between job and service (default on)."),
    cache: str = typer.Option(
        "registry", "--cache", help="registry (default) or none, for daemonless ways and dind."
    ),
    privileged_allowed: bool = typer.Option(
        False, "--privileged-allowed", help="auto: privileged runners are OK."
    ),
    host_docker: bool = typer.Option(
        False, "--host-docker", help="auto: the runner host has a Docker daemon."
    ),
    need_isolation: bool = typer.Option(
        False, "--need-isolation", help="auto: jobs must not share a daemon."
    ),
) -> None:
    """Generate the build job, the runner config and the host set-up, matched to each other."""
    # Imported here: init pulls in cryptography, ruamel and tomlkit, which every other command
    # would otherwise pay for at start-up.
    from buildrig.init import InitOptions, init_project

    opts = InitOptions(
        strategy=strategy,
        executor=executor or None,
        image=image,
        dockerfile=dockerfile,
        context=context,
        job_name=job_name,
        mirror=mirror or None,
        registry_mirror=registry_mirror or None,
        mtu=mtu,
        docker_host=docker_host or None,
        runner_config=Path(runner_config) if runner_config else None,
        runner_name=runner_name or None,
        out=Path(out_dir),
        force=force,
        insecure_i_know=insecure_i_know,
        tls=tls,
        cache=cache,
        privileged_allowed=privileged_allowed,
        host_docker=host_docker,
        need_isolation=need_isolation,
    )
    result = init_project(opts)
    if result.auto is not None:
        a = result.auto
        out.print(f"strategy: {a.choice.name} (auto)", markup=False)
        out.print(f"  reason: {a.reason}", markup=False)
        up = a.runner_up.name if a.runner_up else "none"
        out.print(f"  runner-up: {up}: {a.runner_up_reason}", markup=False)
    else:
        out.print(f"strategy: {result.strategy}", markup=False)
    out.print(f"executor: {result.executor}; job: {result.job_name}", markup=False)
    out.print("wrote:", markup=False)
    for path in result.written:
        out.print(f"  {path}", markup=False)
    for note in result.notes:
        out.print(f"note: {note}", markup=False)
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False)
    out.print(f"next: follow {Path(out_dir) / 'runner' / 'SETUP.md'}", markup=False)
