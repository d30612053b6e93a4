"""CLI commands: init (registered on import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from buildrig.cli.app import app, err, out
from buildrig.cli.choices import Cache, Executor, Way


@app.command("init")
def init_cmd(
    strategy: Annotated[
        Way,
        typer.Option(
            "--way",
            "--strategy",
            "-s",
            case_sensitive=False,
            help="The way to build, or auto (chosen from the runner facts below).",
        ),
    ],
    executor: Annotated[
        Executor | None,
        typer.Option("--executor", "-e", help="Runner executor (default: the way's first)."),
    ] = None,
    image: Annotated[
        str, typer.Option("--image", help="Image to push (without tag).")
    ] = "$CI_REGISTRY_IMAGE",
    dockerfile: Annotated[
        str, typer.Option("--dockerfile", help="Dockerfile, relative to the project.")
    ] = "Dockerfile",
    context: Annotated[str, typer.Option("--context", help="Build context, relative to the project.")] = ".",
    job_name: Annotated[str, typer.Option("--job-name", help="Name of the generated job.")] = "build-image",
    mirror: Annotated[
        str, typer.Option("--mirror", help="Registry prefix every image reference is pulled through.")
    ] = "",
    registry_mirror: Annotated[
        str, typer.Option("--registry-mirror", help="dind: --registry-mirror URL for the service.")
    ] = "",
    mtu: Annotated[
        int | None, typer.Option("--mtu", help="dind: MTU of the service daemon (e.g. 1360).")
    ] = None,
    docker_host: Annotated[
        str, typer.Option("--docker-host", help="docker_host: the Docker host's private IP[:PORT].")
    ] = "",
    runner_config: Annotated[
        str,
        typer.Option(
            "--runner-config", help="Merge into this config.toml instead of writing runner/config.toml."
        ),
    ] = "",
    runner_name: Annotated[
        str, typer.Option("--runner-name", help="Which \\[\\[runners]] entry to merge into.")
    ] = "",
    out_dir: Annotated[str, typer.Option("--out", "-o", help="Project directory to write into.")] = ".",
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace an existing job of the same name, and generated files that differ."
        ),
    ] = False,
    insecure_i_know: Annotated[
        bool,
        typer.Option("--insecure-i-know", help="docker_host: allow 0.0.0.0, public addresses, plain 2375."),
    ] = False,
    tls: Annotated[
        bool, typer.Option("--tls/--no-tls", help="dind: TLS between job and service (default on).")
    ] = True,
    cache: Annotated[
        Cache, typer.Option("--cache", help="Registry-backed layer cache for daemonless ways and dind.")
    ] = Cache.registry,
    privileged_allowed: Annotated[
        bool, typer.Option("--privileged-allowed", help="auto: privileged runners are OK.")
    ] = False,
    host_docker: Annotated[
        bool, typer.Option("--host-docker", help="auto: the runner host has a Docker daemon.")
    ] = False,
    need_isolation: Annotated[
        bool, typer.Option("--need-isolation", help="auto: jobs must not share a daemon.")
    ] = False,
) -> None:
    """Generate the build job, the runner config and the host set-up, matched to each other."""
    # Imported here: init pulls in cryptography, ruamel and tomlkit, which every other command
    # would otherwise pay for at start-up.
    from buildrig.init import InitOptions, init_project

    opts = InitOptions(
        strategy=strategy.value,
        executor=executor.value if executor else None,
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
        cache=cache.value,
        privileged_allowed=privileged_allowed,
        host_docker=host_docker,
        need_isolation=need_isolation,
    )
    result = init_project(opts)
    if result.auto is not None:
        a = result.auto
        out.print(f"way: {a.choice.name} (auto)")
        out.print(f"  reason: {a.reason}")
        up = a.runner_up.name if a.runner_up else "none"
        out.print(f"  runner-up: {up}: {a.runner_up_reason}")
    else:
        out.print(f"way: {result.strategy}")
    out.print(f"executor: {result.executor}; job: {result.job_name}")
    out.print("wrote:")
    for path in result.written:
        out.print(f"  {path}")
    for note in result.notes:
        out.print(f"note: {note}")
    for warning in result.warnings:
        err.print(f"warning: {warning}")
    out.print(f"next: follow {Path(out_dir) / 'runner' / 'SETUP.md'}")
