"""CLI commands: ``registry``, ``images`` and ``testbed`` (registered on import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from buildrig.cli.app import app, err, markup, out

registry_app = typer.Typer(help="The local OCI registry jobs see as CI_REGISTRY (TLS + basic auth).",
                           no_args_is_help=True)
images_app = typer.Typer(help="Stand-in images for air-gapped machines.", no_args_is_help=True)
testbed_app = typer.Typer(help="Test bed daemons (the docker_host way's remote daemon).",
                          no_args_is_help=True)
app.add_typer(registry_app, name="registry")
app.add_typer(images_app, name="images")
app.add_typer(testbed_app, name="testbed")


def _progress(msg: str) -> None:
    err.print(f"[dim]{markup(msg)}[/dim]", markup=True)


@registry_app.command("start")
def registry_start() -> None:
    """Start the registry (and its read-only mirror) unless running; print how to reach it."""
    from buildrig.testbed import registry

    info = registry.ensure_started(progress=_progress)
    out.print(f"registry running at {info.host} (user {info.user}; password in "
              f"{registry.registry_dir() / 'password'}, CA {info.ca_path})")


@registry_app.command("stop")
def registry_stop(
    purge: Annotated[bool, typer.Option("--purge", help="Also delete the stored images.")] = False,
) -> None:
    """Stop the registry and remove what `start` put on this host."""
    from buildrig.testbed import registry

    for line in registry.stop(purge=purge):
        out.print(f"removed {line}")


@registry_app.command("status")
def registry_status() -> None:
    """Say whether the registry runs, where, and what it changed on this host."""
    from buildrig.testbed import registry

    st = registry.status()
    out.print(f"registry: {'running' if st.running else 'stopped'} at {st.address} (image {st.image or '-'})")
    out.print(f"mirror:   {st.mirror} (read-only, anonymous; docker.io pull-through for stand-ins)")
    out.print(f"user:     {st.user} (password file {st.storage.parent / 'password'}, mode 0600)")
    out.print(f"CA:       {st.ca_path}")
    out.print(f"storage:  {st.storage}")
    if st.host_trust:
        out.print("host trust (written by `registry start` so this host's Docker daemon trusts the CA; "
                  "removed by `registry stop`):")
        for p in st.host_trust:
            out.print(f"  {p}")
    raise typer.Exit(0 if st.running else 3)


@images_app.command("prepare")
def images_prepare(
    offline: Annotated[bool, typer.Option("--offline", help="Build stand-ins from Debian packages.")] = False,
) -> None:
    """Build (or reuse) the stand-ins: docker CLI + buildx, dind, buildah, kaniko, BuildKit, base image."""
    from buildrig.testbed import images
    from buildrig.testbed.prepare import prepare

    # A spinner on a terminal while the Go tools compile (minutes, the first time); the steps and
    # their times are printed either way.
    with err.status("preparing stand-in images (the first run builds kaniko, BuildKit and buildx from Go)"):
        res = prepare(offline=offline, progress=_progress)
    for p in res.images:
        state = "reused" if p.reused else f"built in {p.seconds:.1f} s"
        names = ", ".join(p.replaces) or f"{images.BASE_IMAGE} (FROM of examples/hello)"
        out.print(f"{p.role:12} {p.tag}  {state}  for {names}")
    for name, why in res.skipped:
        out.print(f"{'skipped':12} {name}: {why}")
    if res.base_pushed:
        out.print(f"base image in the registry as library/{images.BASE_IMAGE}@{res.base_pushed}")
    out.print(f"done in {res.seconds:.1f} s")


@images_app.command("list")
def images_list() -> None:
    """Print the image-override map `run` uses (real name -> stand-in)."""
    from buildrig.testbed import images

    mapping = images.overrides()
    if not mapping:
        err.print("no stand-ins prepared: run `buildrig images prepare --offline`")
        raise typer.Exit(1)
    for real, tag in sorted(mapping.items()):
        out.print(f"{real} -> {tag}")


@images_app.command("prune")
def images_prune() -> None:
    """Remove every stand-in image."""
    from buildrig.testbed import images

    out.print(f"removed {images.prune()} image tag(s)")


@testbed_app.command("dockerhost-start")
def dockerhost_start(
    certs: Annotated[Path, typer.Argument(help="Directory with init's ca.pem, server-cert.pem, "
                                          "server-key.pem, cert.pem, key.pem (runner/host/certs).")],
) -> None:
    """Start the docker_host way's test daemon (TCP+TLS on the test bed address) with init's certs."""
    from buildrig.testbed import dockerhost

    info = dockerhost.start(certs)
    out.print(f"docker_host test daemon at {info.url} (certificates copied to {info.cert_dir})")


@testbed_app.command("dockerhost-stop")
def dockerhost_stop() -> None:
    """Remove the docker_host test daemon and its data."""
    from buildrig.testbed import dockerhost

    out.print("removed" if dockerhost.stop() else "not running")


@testbed_app.command("status")
def testbed_status() -> None:
    """Registry, docker_host daemon and stand-in images at a glance."""
    from buildrig.testbed import dockerhost, images, registry

    st = registry.status()
    out.print(f"registry:    {'running' if st.running else 'stopped'} at {st.address}")
    dh = dockerhost.status()
    out.print(f"docker_host: {dh or 'not running'} ({dockerhost.url()})")
    mapping = images.overrides()
    out.print(f"stand-ins:   {len(mapping)} image name(s) mapped" if mapping else "stand-ins:   none")
