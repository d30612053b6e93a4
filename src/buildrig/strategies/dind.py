"""dind: a docker CLI job with its own privileged docker:dind service daemon (seed rank 4).

TLS is the default (``DOCKER_TLS_CERTDIR=/certs``, client certs shared through the runner's
``/certs/client`` volume or a Kubernetes ``empty_dir``); ``tls=False`` renders GitLab's documented
TLS-disabled variant (``tcp://docker:2375``, ``DOCKER_TLS_CERTDIR: ""``, volumes ``["/cache"]``).

Cache and floor (issue 11). On docker executors the runner's cache volume at ``/var/lib/docker``
keeps the dind daemon's store per project and concurrent slot (``base.store_volume``): a rebuild on
the same slot finds the base image and every layer in it, and ``--pull`` only asks the registry
whether the base image moved on (the kept store would otherwise build on its first pull for good).
examples/hello, ``buildrig bench examples/hello --repeat 3`` on an idle machine (2 cores), with the
test registry's per-request auth at the cost of a token check (``testbed.registry``): warm 1.5 s
(8.9 s with a new store in every job) = daemon start 0.5 + build 0.3 + push of the two tags 0.2 +
the job container's start 0.3 and end 0.2; change 1.6 s (2.38x shell's 0.7 s: pass). Warm stays
above 2x shell's 0.3 s: the service and the job container alone take 1.0 s, and the shell way
starts no container at all. Not in these figures: the official image's entrypoint makes two RSA-4096
keys in every new service container (the CA's and the server's; the client's stays in the runner's
``/certs/client`` volume), 1.3-4.3 s each on this machine (``openssl genrsa 4096``, three tries);
the test bed's stand-in makes P-256 keys in milliseconds (testbed/assets/dockerd-entrypoint.sh).

Where the store is new (Kubernetes, a new runner or slot, ``disable_cache``) the job builds with
BuildKit's inline cache and ``--cache-from`` the branch's tag, with no ``docker pull`` first (the pull
cost ~9.5 s of a 14 s warm job), and what is left cannot be cached by the job: docker's image store
must receive and unpack the base image and every cached layer before it can tag and push. Measured
then (2 cores shared with five other sessions, load 8-10): warm 20.6 s = service start 2.0 + login
0.2 + cache manifest 0.6 + layer download 1.5 + unpack into the new daemon 8.5 + push 1.6 + removal
of the service and its /var/lib/docker 3.4; idle, warm 11.5 s, of which ~6.9 s for the base image's
download and unpack. A ``--registry-mirror`` near the runners shortens the download only.
"""

from __future__ import annotations

from typing import Any

from buildrig import versions
from buildrig.strategies.base import (
    DOCKER_LOGIN,
    EmptyDir,
    Job,
    RenderParams,
    RunnerSpec,
    Strategy,
    build_variables,
    cache_step,
    docker_cli_script,
    merge_step,
    mirror_image,
    register_step,
    registry_step,
    restart_step,
    store_volume,
    store_volume_note,
    verify_step,
)

DIND_CACHE = (
    "BuildKit with an inline cache (`BUILDKIT_INLINE_CACHE=1`, `--cache-from "
    "$BUILD_IMAGE:$CI_COMMIT_REF_SLUG`) and no `docker pull` first: BuildKit reads the previous "
    "image's manifest and config to decide which steps are cached. Where the dind daemon's store "
    "is new (Kubernetes, a new runner or concurrent slot), a rebuild still downloads and unpacks "
    "the base image and each cached layer into it (docker's image store needs them all): with "
    "the daemon's start, that is the floor of this cache. A registry mirror near the runners "
    "(`--registry-mirror`) shortens the download, not the unpacking. The first build of a new "
    "branch has no registry cache."
)

#: The dind daemon's image store and build cache, kept by the runner's cache volume.
DIND_STORE = "/var/lib/docker"

# Wait for the service daemon: on Kubernetes the job can start before dind listens.
WAIT_FOR_DAEMON = (
    "i=0; until docker info >/dev/null 2>&1; do i=$((i+1)); "
    'if [ "$i" -ge 30 ]; then docker info; exit 1; fi; sleep 1; done'
)


def _service(p: RenderParams) -> dict[str, Any]:
    # alias: docker always — a mirrored or registry-qualified name would derive another hostname.
    svc: dict[str, Any] = {
        "name": mirror_image(versions.DOCKER_DIND_IMAGE, p.mirror),
        "alias": "docker",
    }
    command: list[str] = []
    if p.mtu is not None:
        command.append(f"--mtu={p.mtu}")
    if p.registry_mirror:
        command.append(f"--registry-mirror={p.registry_mirror}")
    if command:
        svc["command"] = command
    if p.kubernetes:
        svc["variables"] = {"HEALTHCHECK_TCP_PORT": "2376" if p.tls else "2375"}
    return svc


def render_job(p: RenderParams) -> Job:
    variables: dict[str, str] = build_variables(p)
    if p.tls:
        # Explicit on every executor: Kubernetes runs no entrypoint that would derive them.
        variables.update(
            {
                "DOCKER_HOST": "tcp://docker:2376",
                "DOCKER_TLS_CERTDIR": "/certs",
                "DOCKER_TLS_VERIFY": "1",
                "DOCKER_CERT_PATH": "/certs/client",
            }
        )
    else:
        variables.update({"DOCKER_HOST": "tcp://docker:2375", "DOCKER_TLS_CERTDIR": ""})
    return {
        "stage": p.stage,
        "image": mirror_image(versions.DOCKER_CLI_IMAGE, p.mirror),
        "services": [_service(p)],
        "variables": variables,
        "before_script": [WAIT_FOR_DAEMON, DOCKER_LOGIN],
        "script": docker_cli_script(
            p, registry_cache=p.cache == "registry", pull_base=bool(store_volume(p, DIND_STORE))
        ),
    }


def render_runner(p: RenderParams) -> RunnerSpec:
    image = mirror_image(versions.DOCKER_CLI_IMAGE, p.mirror)
    if p.kubernetes:
        dirs = (EmptyDir("docker-certs", "/certs/client", "Memory"),) if p.tls else ()
        return RunnerSpec(executor=p.executor, image=image, privileged=True, empty_dirs=dirs)
    certs: tuple[str, ...] = ("/certs/client",) if p.tls else ()
    volumes = (*certs, "/cache", *store_volume(p, DIND_STORE))
    return RunnerSpec(executor=p.executor, image=image, privileged=True, volumes=volumes)


def setup_steps(p: RenderParams) -> tuple[str, ...]:
    runner = render_runner(p)
    steps = [
        register_step(p, runner),
        merge_step(p),
        "WARNING: dind needs `privileged = true`, which disables container isolation for every "
        "job on this runner (a job can take over the host). Run it on dedicated, ephemeral VMs, "
        "limit it to protected branches with runner tags, and never share it with untrusted "
        "projects.",
    ]
    if p.tls:
        where = "the `docker-certs` empty_dir" if p.kubernetes else "the `/certs/client` volume"
        steps.append(
            f"TLS: dind writes client certificates to /certs/client at start; {where} shares them "
            "with the job. Keep job and runner in step: port 2376 with the certs, or 2375 without."
        )
    elif p.kubernetes:
        steps.append(
            "WARNING: TLS is disabled for dind on Kubernetes: the daemon listens on plain 2375 and "
            "every container in the pod (and anything that can reach the pod) can drive it without "
            "credentials. Prefer the TLS variant (drop `--no-tls`) unless you cannot change it."
        )
    if p.kubernetes:
        steps.append(
            "Kubernetes: the job sets DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH itself and "
            "the service waits on HEALTHCHECK_TCP_PORT; the dind daemon sees the whole node, so "
            "pod limits don't bound the build: use dedicated build nodes (node_selector, taints)."
        )
    if p.mtu is None:
        steps.append(
            "If pulls inside the build hang or fail with TLS errors, the inner daemon's MTU (1500) "
            "exceeds your network's: re-run with `--mtu 1360` (Kubernetes overlays: 1450)."
        )
    store = store_volume_note(p, DIND_STORE, "the dind daemon's images and build cache")
    steps += [cache_step(p, DIND_CACHE + store), registry_step(), restart_step(), verify_step(p)]
    return tuple(steps)


STRATEGY = Strategy(
    name="dind",
    title="Docker-in-Docker service",
    summary="docker:cli job plus a privileged docker:dind service: a fresh daemon per job.",
    executors=("docker", "docker-autoscaler", "kubernetes"),
    refusals=(
        (
            "shell",
            "the shell executor cannot start services, so there is no docker:dind daemon; use the "
            "shell way instead.",
        ),
    ),
    needs_privileged=True,
    needs_host_daemon=False,
    isolated=True,
    isolation="per job: each job gets its own daemon in a privileged service container",
    persistent_cache=False,
    layer_cache=(
        "the runner's cache volume at /var/lib/docker (docker executors); registry inline cache "
        "(--cache-from the pushed image)"
    ),
    speed_rank=4,
    security_notes=(
        "Needs privileged mode: a job can escape to the host.",
        "Pin cli and dind to the same version: Docker 29 refuses clients older than API 1.44.",
    ),
    images=(versions.DOCKER_CLI_IMAGE, versions.DOCKER_DIND_IMAGE),
    render_job=render_job,
    render_runner=render_runner,
    setup_steps=setup_steps,
)
