"""dind: the job relies on legacy Docker link variables.

Old images and scripts find the daemon through variables Docker's ``--link`` used to set, such as
``DOCKER_PORT_2375_TCP``. GitLab Runner does not set them with ``FF_NETWORK_PER_BUILD`` and, since
runner 18.7, not at all (links are emulated with ``extra_hosts``). Scripts that build
``DOCKER_HOST`` from them end with an empty value (gitlab-runner#30944)::

    Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?

Fix: set ``DOCKER_HOST`` explicitly (``tcp://docker:2376`` with TLS, ``tcp://docker:2375`` without)
and drop the ``*_PORT_*_TCP`` variables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import jobs, label

ID = "BR116"
TITLE = "dind: scripts use legacy link variables (DOCKER_PORT_2375_TCP)"
SEVERITY = Severity.WARNING
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/"
_LINK_VAR = re.compile(r"\$\{?[A-Z0-9_]+_PORT_\d+_TCP(_ADDR|_PORT)?\b")


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx):
        hits = [ln for ln in F.script_lines(jv.job, after=True) if _LINK_VAR.search(ln.text)]
        values = [v for v in jv.job.variables if _LINK_VAR.search(v.value)]
        if not hits and not values:
            continue
        loc = values[0].loc if values and values[0].loc else hits[0].loc
        text = values[0].value if values else hits[0].text.strip()
        yield finding(
            f"{label(jv.job)} uses a Docker link variable ({text[:80]!r}); GitLab Runner no longer sets "
            'these (always empty since 18.7), so the client ends up at the default socket: "Cannot connect '
            'to the Docker daemon at unix:///var/run/docker.sock".',
            "Set DOCKER_HOST explicitly (tcp://docker:2376 with TLS, tcp://docker:2375 without).",
            loc=loc,
            job=jv.job.name,
        )
