"""docker_host: a docker CLI job talks to an existing daemon over TCP with mutual TLS (seed rank 3).

Host side: a systemd drop-in adds ``-H tcp://ADDR:2376 --tlsverify`` next to ``-H fd://`` (never
edit the vendor unit; never also set ``hosts`` in daemon.json — dockerd refuses to start when
both name listeners). The certificates themselves are made by ``buildrig.init.certs``; the client
certificate reaches the job as file-type CI/CD variables (:data:`CERT_VARIABLES`).
"""

from __future__ import annotations

from buildrig import versions
from buildrig.strategies.base import (
    DOCKER_LOGIN,
    HOST_DAEMON_CACHE,
    HostFile,
    Job,
    RenderParams,
    RunnerSpec,
    Strategy,
    build_variables,
    docker_cli_script,
    merge_step,
    mirror_image,
    register_step,
    registry_step,
    restart_step,
    verify_step,
)

HOST_CERT_DIR = "/etc/docker/buildrig-tls"
JOB_CERT_DIR = "/tmp/buildrig-docker-certs"
DROPIN = "docker.service.d/buildrig-tls.conf"
# (CI/CD variable of type File, file name the docker CLI expects, generated file to paste)
CERT_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("DOCKER_CA_PEM", "ca.pem", "certs/ca.pem"),
    ("DOCKER_CERT_PEM", "cert.pem", "certs/cert.pem"),
    ("DOCKER_KEY_PEM", "key.pem", "certs/key.pem"),
)
SERVER_FILES = ("ca.pem", "server-cert.pem", "server-key.pem")


def _addr(p: RenderParams) -> str:
    host = p.docker_host or "DOCKER_HOST_ADDRESS"
    return f"[{host}]" if ":" in host else host


def render_job(p: RenderParams) -> Job:
    variables = build_variables(p)
    variables["DOCKER_HOST"] = f"tcp://{_addr(p)}:{p.docker_port}"
    before: list[str] = []
    if p.host_tls:
        variables["DOCKER_TLS_VERIFY"] = "1"
        variables["DOCKER_CERT_PATH"] = JOB_CERT_DIR
        before.append('mkdir -p "$DOCKER_CERT_PATH"')
        before += [f'cp "${var}" "$DOCKER_CERT_PATH/{name}"' for var, name, _ in CERT_VARIABLES]
        before.append('chmod 600 "$DOCKER_CERT_PATH/key.pem"')
    before += ["docker info", DOCKER_LOGIN]
    job: Job = {
        "stage": p.stage,
        "image": mirror_image(versions.DOCKER_CLI_IMAGE, p.mirror),
        "variables": variables,
        "before_script": before,
        "script": docker_cli_script(p, registry_cache=False),
    }
    # No after_script to delete the client key: it lives in the job container's /tmp, which the
    # runner deletes with the container (docker) or the pod (Kubernetes) when the job ends.
    return job


def render_runner(p: RenderParams) -> RunnerSpec:
    image = mirror_image(versions.DOCKER_CLI_IMAGE, p.mirror)
    if p.kubernetes:
        return RunnerSpec(executor=p.executor, image=image)
    return RunnerSpec(executor=p.executor, image=image, volumes=("/cache",))


def render_dropin(p: RenderParams) -> str:
    listen = f"tcp://{_addr(p)}:{p.docker_port}"
    if p.host_tls:
        tls = (
            f" --tlsverify --tlscacert={HOST_CERT_DIR}/ca.pem"
            f" --tlscert={HOST_CERT_DIR}/server-cert.pem --tlskey={HOST_CERT_DIR}/server-key.pem"
        )
        warn = ""
    else:
        tls = ""
        warn = (
            "# WARNING: plain TCP without TLS (generated with --insecure-i-know): anyone who can\n"
            "# reach this port is root on this host.\n"
        )
    return (
        "# buildrig (docker_host way): add a TCP listener for GitLab jobs next to the local socket.\n"
        "# Install as /etc/systemd/system/docker.service.d/buildrig-tls.conf; the vendor unit stays\n"
        '# untouched (`systemctl revert docker` undoes this). Do not also set "hosts" in\n'
        "# /etc/docker/daemon.json: dockerd refuses to start when both name listeners.\n"
        "# Keep the dockerd path and flags of your unit's ExecStart (see `systemctl cat docker`).\n"
        f"{warn}"
        "[Service]\n"
        "ExecStart=\n"
        "ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock"
        f" -H {listen}{tls}\n"
    )


def render_host(p: RenderParams) -> tuple[HostFile, ...]:
    return (HostFile(DROPIN, render_dropin(p)),)


def setup_steps(p: RenderParams) -> tuple[str, ...]:
    runner = render_runner(p)
    addr = _addr(p)
    steps = [
        f"On the Docker host ({addr}): install Docker Engine and check `docker info`.",
    ]
    if p.host_tls:
        steps.append(
            f"Copy the server files: `install -d -m 0700 {HOST_CERT_DIR}` then "
            f"`install -m 0644 runner/host/certs/ca.pem runner/host/certs/server-cert.pem {HOST_CERT_DIR}/` "
            f"and `install -m 0600 runner/host/certs/server-key.pem {HOST_CERT_DIR}/`."
        )
    steps += [
        f"Install the drop-in: `install -D -m 0644 runner/host/{DROPIN} "
        f"/etc/systemd/system/{DROPIN}`; compare its ExecStart with `systemctl cat docker` and keep "
        'your dockerd path and flags; make sure /etc/docker/daemon.json has no "hosts" key.',
        "`systemctl daemon-reload && systemctl restart docker`, then check the listener: "
        f"`ss -ltnp | grep {p.docker_port}` must show {addr}:{p.docker_port}, not 0.0.0.0.",
        f"Firewall: allow TCP {p.docker_port} on {addr} only from the runner hosts.",
    ]
    if p.host_tls:
        listing = ", ".join(f"`{var}` ← runner/host/{src}" for var, _, src in CERT_VARIABLES)
        steps.append(
            "In the GitLab project (Settings > CI/CD > Variables) add three variables of type "
            f"**File**, protected: {listing}. The job copies them to $DOCKER_CERT_PATH. Then delete "
            "runner/host/certs/key.pem and server-key.pem from this machine."
        )
        steps.append(
            f"Check from the runner host: `docker --tlsverify --tlscacert runner/host/certs/ca.pem "
            f"--tlscert runner/host/certs/cert.pem --tlskey runner/host/certs/key.pem "
            f"-H tcp://{addr}:{p.docker_port} version`."
        )
    else:
        steps.append(
            "WARNING: this listener has no TLS: anyone who reaches the port controls the host. "
            "Prefer re-running without --insecure-i-know on port 2376."
        )
    steps += [
        register_step(p, runner),
        merge_step(p),
        "The jobs share that daemon: no isolation between jobs, and a job's client certificate "
        "is root on the Docker host. Use it for trusted projects only.",
        "Layer cache: the Docker host's " + HOST_DAEMON_CACHE,
        registry_step(),
        restart_step(),
        verify_step(p),
    ]
    return tuple(steps)


STRATEGY = Strategy(
    name="docker_host",
    title="Remote daemon over TCP+TLS (DOCKER_HOST)",
    summary="docker:cli job with DOCKER_HOST=tcp://<private-ip>:2376 and client certificates.",
    executors=("docker", "docker-autoscaler", "kubernetes"),
    refusals=(
        (
            "shell",
            "the shell executor has the host's docker already; pointing it at a TCP daemon "
            "only adds certificates to leak. Use the shell way.",
        ),
    ),
    needs_privileged=False,
    needs_host_daemon=True,
    isolated=False,
    isolation="none: jobs share the remote daemon",
    persistent_cache=True,
    layer_cache="the remote daemon keeps every layer between jobs",
    speed_rank=3,
    security_notes=(
        "The client certificate is root on the Docker host: keep it in protected File variables.",
        "Bind only to a private address; never 0.0.0.0, a public IP or plain 2375.",
        'Set the listener in a systemd drop-in, never also as daemon.json "hosts".',
    ),
    images=(versions.DOCKER_CLI_IMAGE,),
    render_job=render_job,
    render_runner=render_runner,
    render_host=render_host,
    setup_steps=setup_steps,
)
