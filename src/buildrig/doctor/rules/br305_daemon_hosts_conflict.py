"""dockerd: ``hosts`` in daemon.json and ``-H`` on the command line.

dockerd refuses to start when a directive is given both ways. Debian's and Ubuntu's
``docker.service`` start ``dockerd -H fd://``, so adding ``"hosts"`` to daemon.json (the usual
way to open a TCP listener for the docker_host set-up) stops the daemon::

    unable to configure the Docker daemon with file /etc/docker/daemon.json: the following directives
    are specified both as a flag and in the configuration file: hosts: (from flag: [fd://], from file:
    [unix:///var/run/docker.sock tcp://10.0.0.5:2376])

Fix: keep the listeners in one place: a drop-in
``/etc/systemd/system/docker.service.d/override.conf`` with ``ExecStart=`` (empty, to reset) and
``ExecStart=/usr/bin/dockerd`` (no ``-H``), then ``systemctl daemon-reload && systemctl restart
docker``; or drop ``hosts`` from daemon.json and put the ``-H`` flags in the drop-in.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding

ID = "BR305"
TITLE = "dockerd: hosts in daemon.json conflict with -H flags of the unit"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/engine/daemon/remote-access/"


def check(ctx: Context) -> Iterator[Issue]:
    d = ctx.daemon
    if d is None or not d.hosts_json:
        return
    loc = d.key_locs.get("hosts")
    from_file = " ".join(d.hosts_json)
    if d.hosts_flags:
        flags = " ".join(d.hosts_flags)
        yield finding(
            f"daemon.json sets hosts ({from_file}) and the unit's ExecStart ({d.exec_start_loc}) passes -H "
            f'{flags}; dockerd does not start: "unable to configure the Docker daemon with file ...: the '
            "following directives are specified both as a flag and in the configuration file: hosts: (from "
            f'flag: [{flags}], from file: [{from_file}])".',
            "Add a drop-in docker.service.d/override.conf with 'ExecStart=' and 'ExecStart=/usr/bin/dockerd' "
            "(no -H), then systemctl daemon-reload && systemctl restart docker; or move the listeners to -H "
            "flags and drop hosts from daemon.json.",
            loc=loc,
        )
    elif not d.exec_start:
        yield finding(
            f"daemon.json sets hosts ({from_file}); the stock docker.service of Debian and Ubuntu starts "
            'dockerd -H fd://, and with both dockerd refuses to start ("the following directives are '
            'specified both as a flag and in the configuration file: hosts"). The unit was not given '
            "(--docker-unit), so this is not confirmed.",
            "Check `systemctl cat docker`: if ExecStart has -H, add a drop-in with 'ExecStart=' and "
            "'ExecStart=/usr/bin/dockerd'.",
            loc=loc,
            severity=Severity.WARNING,
        )
