"""BR415 — the registry's host:port does not answer where the build runs.

What it checks: the error text the job printed (``--symptom``) shows a registry call (``https://<host>
[:<port>]/v2/``, kaniko's "push check transport for <host>", buildah's "pinging container registry
<host>") that never reached the registry: the TCP connection itself failed::

    error checking push permissions -- ... creating push check transport for git.example.com:5050
    failed: Get "https://git.example.com:5050/v2/": dial tcp 34.214.69.26:5050: i/o timeout
    Error response from daemon: Get "https://registry.example.com:5050/v2/": dial tcp
    10.0.0.5:5050: connect: connection refused
    Error: pinging container registry registry.example.com:5050: Get "https://...": dial tcp ...

Whoever dials the registry decides where it must be reachable from. kaniko, buildah and rootless
BuildKit run in the job container, and a dind service's daemon in the service container: both sit
on the runner's job network (Docker's bridge, the runner's ``network_mode``, a per-build network, a
Kubernetes pod), so a registry port that answers ``curl`` on the runner host may still be dropped
for containers: a cloud security group or the registry host's firewall that admits the runner's
own address but not the port (GitLab's registry on its own port, 5050, is often left closed:
gitlab#349945), a firewall that drops Docker's bridge subnets, a registry that listens on
127.0.0.1 only, or a name that resolves to the instance's public address, which the runner (on the
same host) cannot reach back (hairpin NAT). With the host's socket (or a shell runner) the host's
own daemon dials, so the host itself must reach it; with ``DOCKER_HOST`` the remote daemon's host.
A loopback address (127.0.0.1, ::1) in a job container is the container itself.

``i/o timeout`` / ``connection timed out``: packets are dropped on the way (a firewall, a security
group, no route back); ``connection refused``: the address answers but nothing listens on that port.

The runner pulling the job's image or a service's (``failed to pull image``, before any script
runs) is the runner host's daemon, not the build, and is left to the rules of that step.

Which network a job has and what its firewall admits shows in no file, so this is named from the
error text only. Severity: WARNING (it fails from that network, not everywhere); the check to run
is named: the same request from a container on the runner host (or a pod in the runner's
namespace), which a reachable registry answers with 401 or 200.

Fix: open the registry's port to the runner's job network (or the host's, for socket jobs), or push
to an address that network reaches; never to ``localhost`` from a job container.

Docs: https://gitlab.com/gitlab-org/gitlab/-/issues/349945
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from buildrig.doctor import facts as F
from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding

ID = "BR415"
TITLE = "registry host:port unreachable from where the build runs"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://gitlab.com/gitlab-org/gitlab/-/issues/349945"

# The TCP connect itself failed ("dial tcp: lookup ..." is DNS, another cause; "proxyconnect tcp:
# dial tcp" is the proxy, BR119's).
_DIAL = re.compile(
    r"(?<!proxyconnect tcp: )dial tcp (?P<addr>\[[0-9A-Fa-f:.]+\]|[\w.-]+):(?P<port>\d+): "
    r"(?P<why>i/o timeout|connect: connection refused|connect: connection timed out|"
    r"connect: no route to host|connect: network is unreachable)"
)
# The registry call that dial served: its API (/v2/), kaniko's push check, buildah's ping
_REGISTRY = re.compile(
    r"https?://(?P<url>[\w.-]+(?::\d+)?)/v2/"
    r"|push check transport for (?P<kaniko>[\w.-]+(?::\d+)?)"
    r"|pinging (?:container )?registry (?P<ping>[\w.-]+(?::\d+)?)"
)
# The runner's daemon pulling the job's image or a service's, before any script runs
_PULL = re.compile(r"failed to pull image|Preparation failed", re.IGNORECASE)
_LOOPBACK = re.compile(r"^(?:127\.|\[::1\]$|localhost$)")
_IN_CONTAINERS = frozenset({"kaniko", "buildah", "buildkit", "dind"})


@dataclass(frozen=True)
class _Failure:
    registry: str  # host[:port] as the job named it
    address: str  # what was dialled: ip:port
    why: str

    @property
    def host_port(self) -> str:
        return self.registry if ":" in self.registry else f"{self.registry}:443"

    @property
    def loopback(self) -> bool:
        return bool(_LOOPBACK.match(self.address.rsplit(":", 1)[0]))

    @property
    def dropped(self) -> bool:
        return "timeout" in self.why or "timed out" in self.why


def _failure(text: str) -> _Failure | None:
    """The first failed dial and the registry call it served (the last one named before it)."""
    for dial in _DIAL.finditer(text):
        calls = list(_REGISTRY.finditer(text, 0, dial.start()))
        if not calls:
            continue  # a dial of something else (a daemon, a proxy)
        reg = calls[-1]
        host = reg.group("url") or reg.group("kaniko") or reg.group("ping") or ""
        return _Failure(host, f"{dial.group('addr')}:{dial.group('port')}", dial.group("why"))
    return None


def _curl(f: _Failure, jv: JobView) -> str:
    url = f"https://{f.registry}/v2/"
    probe = f"curl -sS -o /dev/null -w '%{{http_code}}\\n' {url}"
    if jv.way not in _IN_CONTAINERS:
        return f"on the host whose daemon builds: {probe}"
    if jv.runners and all(F.is_kubernetes(r) for r in jv.runners):
        r = jv.runners[0]
        ns = r.kubernetes.namespace if r.kubernetes is not None and r.kubernetes.namespace else "<namespace>"
        return (f"kubectl run regcheck -n {ns} --rm -i --restart=Never --image=curlimages/curl -- "
                f"-sS -o /dev/null -w '%{{http_code}}\\n' {url}")
    net = next((r.docker.network_mode for r in jv.runners if r.docker and r.docker.network_mode), None)
    opt = f" --network {net}" if net else ""
    return (f"on the runner host: docker run --rm{opt} curlimages/curl -sS -o /dev/null -w "
            f"'%{{http_code}}\\n' {url} (and the same curl on the host itself, to compare)")


def _where(f: _Failure, jv: JobView) -> str:
    if jv.way in _IN_CONTAINERS:
        who = "the dind service's daemon" if jv.way == "dind" else f"{jv.way} in the job container"
        if f.loopback:
            return (f"{who} dialled {f.address}, a loopback address: inside a container that is the "
                    "container itself, not the runner host")
        return (f"{who} dials it from the runner's job network, so the port must be reachable from "
                "containers on the runner, not just from the runner host")
    if jv.way == "docker_host":
        return "the daemon DOCKER_HOST names dials it, so that daemon's host must reach it"
    return "the Docker daemon on the runner host dials it, so the runner host itself must reach it"


def _jobs(ctx: Context, f: _Failure) -> list[JobView]:
    builds = [jv for jv in ctx.jobs if jv.way is not None]
    host = f.registry.split(":")[0]
    named = [jv for jv in builds if any(host in sl.text for sl in u.script_lines(jv.job))]
    return named or builds


def check(ctx: Context) -> Iterator[Issue]:
    if not ctx.symptom:
        return
    f = _failure(ctx.symptom)
    if f is None or _PULL.search(ctx.symptom):
        return  # the runner pulling the job's image: the host's daemon, not the build (another rule)
    why = ("packets to it are dropped on the way (a firewall or security group, no route back)"
           if f.dropped else "it answers, but nothing listens on that port there")
    for jv in _jobs(ctx, f):
        job = jv.job
        yield finding(
            f"{u.jname(job)} could not reach the registry {f.host_port} (\"dial tcp {f.address}: "
            f"{f.why}\"): {why}; {_where(f, jv)}.",
            f"Make {f.host_port} reachable from where the build runs (open the port to the runner's "
            "job network, or push to an address it reaches); check it "
            f"{_curl(f, jv)}: 401 or 200 means the registry answers.",
            loc=next((sl.loc for sl in u.script_lines(job) if f.registry.split(":")[0] in sl.text),
                     u.key_loc(job, "script")),
            job=job.name,
            severity=Severity.WARNING,
        )
