"""The docker executor's services, beyond creating their containers (which shares the job
container's privileged fallback, so it stays in :mod:`~buildrig.run.docker_executor`): a
service's readiness wait (TCP on its exposed ports, then a warning with its log) and
CI_DEBUG_SERVICES' live log. The host names a service answers to are GitLab Runner's, from
:mod:`buildrig.gitlab.services`."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from buildrig.run.log import JobLog

if TYPE_CHECKING:
    from docker import APIClient


def stream_service_log(api: APIClient, cid: str, alias: str, log: JobLog) -> None:
    """CI_DEBUG_SERVICES: the service's output joins the job log live, prefixed like the runner's."""
    from docker.errors import APIError

    def pump() -> None:
        buf = b""
        with contextlib.suppress(APIError, OSError, ValueError):
            for chunk in api.logs(cid, stream=True, follow=True):
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    log.service(alias, line.decode("utf-8", "replace"))

    threading.Thread(target=pump, name=f"svc-log-{alias}", daemon=True).start()


def wait_service(
    api: APIClient,
    cid: str,
    name: str,
    cname: str,
    env: Mapping[str, str],
    network: str | None,
    timeout: int,
    log: JobLog,
) -> None:
    if env.get("HEALTHCHECK_TCP_PORT"):
        ports = [int(env["HEALTHCHECK_TCP_PORT"])]
    else:
        info = api.inspect_container(cid)
        exposed = (info.get("Config") or {}).get("ExposedPorts") or {}
        ports = sorted(int(p.split("/")[0]) for p in exposed if p.endswith("/tcp"))[:20]
    if not ports or network == "none":
        return
    deadline = time.monotonic() + timeout
    problem = f"service {name!r} timeout"
    while True:
        info = api.inspect_container(cid)
        state = info.get("State") or {}
        if not state.get("Running"):
            problem = f"service {name!r} container exited with code {state.get('ExitCode')}"
            break
        if network == "host":
            ip = "127.0.0.1"
        else:
            nets = (info.get("NetworkSettings") or {}).get("Networks") or {}
            ip = next((n.get("IPAddress") for n in nets.values() if n.get("IPAddress")), "")
        if ip and any(tcp_open(ip, port) for port in ports):
            return
        if time.monotonic() >= deadline:
            problem = (
                f"service {name!r} timeout: no connection to {ip or '?'} on port(s) "
                f"{', '.join(map(str, ports))} within {timeout}s"
            )
            break
        time.sleep(0.1)
    log.warn(f"*** WARNING: Service {cname} probably didn't start properly.")
    log.warn("")
    log.warn("Health check error:")
    log.warn(problem)
    log.warn("")
    log.warn("Service container logs:")
    raw = api.logs(cid, stdout=True, stderr=True, timestamps=True, tail=200)
    for line in raw.decode("utf-8", "replace").splitlines():
        log.warn(line)
    log.warn("")
    log.warn("*********")


def tcp_open(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.3):
            return True
    except OSError:
        return False
