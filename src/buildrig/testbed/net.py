"""Where the test bed's servers live on the network, and the one Docker network that holds them.

Every server (registry, registry mirror, docker_host daemon) publishes its port on the gateway
address of a dedicated bridge network. That address belongs to the host, so it works from every
place a build runs: the host daemon (shell, docker_sock), job containers on any job network, the
inner daemon of a dind service (whose own docker0 takes 172.17.0.0/16, which is why the default
bridge's 172.17.0.1 would not do), and buildah in a job container. No name resolution is needed
and the user's /etc/hosts is never touched.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from typing import TYPE_CHECKING

from buildrig.engine import labels
from buildrig.errors import EngineError

if TYPE_CHECKING:
    from docker import DockerClient

NETWORK = "buildrig-testbed"
DEFAULT_SUBNET = "10.213.213.0/24"
REGISTRY_PORT = 5443
MIRROR_PORT = 5444
DOCKER_HOST_PORT = 2376
#: run id shared by every long-lived test bed object (``buildrig gc`` leaves these alone).
TESTBED_RUN_ID = "testbed"


def subnet() -> str:
    return os.environ.get("BUILDRIG_TESTBED_SUBNET", DEFAULT_SUBNET)


def gateway() -> str:
    """The host's address on the test bed network (known before the network exists)."""
    try:
        net = ipaddress.ip_network(subnet(), strict=False)
    except ValueError as exc:
        raise EngineError(f"BUILDRIG_TESTBED_SUBNET={subnet()!r} is not a network: {exc}") from exc
    return str(next(net.hosts()))


def host_ip(offset: int) -> str:
    net = ipaddress.ip_network(subnet(), strict=False)
    return str(net.network_address + offset)


def testbed_labels(role: str) -> dict[str, str]:
    # pid "0": these outlive the command that started them; gc must not take them for a dead run.
    return {**labels(TESTBED_RUN_ID, role), "buildrig.pid": "0"}


def ensure_network(cli: DockerClient) -> str:
    """Create the test bed network when missing; returns its name."""
    from docker.errors import APIError, NotFound

    try:
        net = cli.networks.get(NETWORK)
    except NotFound:
        net = None
    if net is not None:
        cfg = (net.attrs.get("IPAM") or {}).get("Config") or [{}]
        if cfg and cfg[0].get("Gateway") not in (None, gateway()):
            raise EngineError(
                f"network {NETWORK} exists with gateway {cfg[0].get('Gateway')}, expected {gateway()}; "
                f"run `buildrig registry stop` or remove the network"
            )
        return NETWORK
    from docker.types import IPAMConfig, IPAMPool

    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=subnet(), gateway=gateway())])
    try:
        cli.networks.create(
            NETWORK, driver="bridge", ipam=ipam, labels=testbed_labels("network-testbed"),
            options={"com.docker.network.bridge.name": "br-buildrig"},
        )
    except APIError as exc:
        raise EngineError(
            f"cannot create network {NETWORK} on {subnet()}: {exc.explanation or exc}; "
            f"set BUILDRIG_TESTBED_SUBNET to a free /24"
        ) from exc
    return NETWORK


def remove_network_if_unused(cli: DockerClient) -> bool:
    from docker.errors import APIError, NotFound

    try:
        net = cli.networks.get(NETWORK)
    except NotFound:
        return True
    if net.attrs.get("Containers"):
        return False
    with contextlib.suppress(NotFound, APIError):
        net.remove()
    return True
