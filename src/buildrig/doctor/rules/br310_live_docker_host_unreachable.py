"""--live: ``DOCKER_HOST`` of this machine does not answer.

With ``--live`` doctor opens a TCP connection to the ``DOCKER_HOST`` of its own environment (the
build host or runner host when run there). When nothing answers, every job that uses it fails::

    Cannot connect to the Docker daemon at tcp://10.0.0.5:2376. Is the docker daemon running?

Fix: start dockerd with a listener at that address (``systemctl status docker``; the ``-H``/``hosts``
settings), open the firewall between runner and build host, or correct ``DOCKER_HOST``.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR310"
TITLE = "--live: DOCKER_HOST does not answer from this machine"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/daemon/remote-access/"


def check(ctx: Context) -> Iterator[Issue]:
    live = ctx.live
    if live is None or live.docker_host is None or live.docker_host_reachable is not False:
        return
    yield finding(
        f"DOCKER_HOST={live.docker_host} does not accept connections from this machine; jobs using it fail "
        f'with "Cannot connect to the Docker daemon at {live.docker_host}. Is the docker daemon running?".',
        "Check that dockerd listens there (systemctl status docker; -H/hosts), that the firewall lets the "
        "runner in, and that DOCKER_HOST is right.",
    )
