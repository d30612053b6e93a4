"""dind: the client's port does not match the TLS mode of the dind daemon.

The ``docker:dind`` image listens on 2376 with TLS when ``DOCKER_TLS_CERTDIR`` is non-empty (its
default is ``/certs``) and on 2375 without TLS only when it is empty. A job that sets
``DOCKER_HOST: tcp://docker:2375`` against a TLS daemon (or 2376 against a plain one, or turns TLS
on against a plain one) fails on its first docker command with::

    Cannot connect to the Docker daemon at tcp://docker:2375. Is the docker daemon running?

Fix: keep both sides in one mode. TLS: ``DOCKER_TLS_CERTDIR: "/certs"``, ``DOCKER_HOST:
tcp://docker:2376`` (or leave DOCKER_HOST unset on the Docker executor) and share
``/certs/client``. No TLS: ``DOCKER_TLS_CERTDIR: ""`` and ``DOCKER_HOST: tcp://docker:2375``.

Without config.toml the service's TLS mode is the image default (the runner's ``environment``
can change it). When the error text the job printed (``--symptom``) is the daemon's own reply
("Error response from daemon: ..."), the client did reach it, so that runner sets the mode
itself: the mismatch is an INFO note, not the cause.
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import derive, hostfacts
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, origin, per_runner, svc_env, tls_on, var_loc

ID = "BR101"
TITLE = "dind: client port or TLS setting does not match the dind daemon's TLS mode"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_build_troubleshooting/"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        views = per_runner(ctx, jv)
        problems: list[tuple[str, str]] = []
        for view in views:
            ep = endpoint(view.env)
            host_var = view.env.get("DOCKER_HOST")
            if ep is None or ep.scheme != "tcp" or host_var is None or host_var.loc is None:
                continue  # derived DOCKER_HOST mismatches come from missing certs: BR102
            for svc in derive.dind_services(jv.job, jv.runners):
                if ep.host not in F.service_aliases(svc) and not (view.kubernetes and ep.is_loopback):
                    continue
                mode = derive.dind_mode(svc, svc_env(view, svc))
                if mode.port is None:
                    continue
                certdir = svc_env(view, svc).get("DOCKER_TLS_CERTDIR")
                if ep.port != mode.port:
                    state = (
                        f"TLS on port 2376 (DOCKER_TLS_CERTDIR={mode.certdir!r}, {origin(certdir)})"
                        if mode.tls
                        else f"without TLS on port 2375 (DOCKER_TLS_CERTDIR empty, {origin(certdir)})"
                    )
                    problems.append(
                        (
                            f"DOCKER_HOST={host_var.value} ({origin(host_var)}) but the {svc.name} service "
                            f"listens {state}",
                            f"Cannot connect to the Docker daemon at {host_var.value}. "
                            "Is the docker daemon running?",
                        )
                    )
                elif not mode.tls and tls_on(view.env):
                    problems.append(
                        (
                            f"the client turns TLS on (DOCKER_TLS_VERIFY) but the {svc.name} service "
                            "listens without TLS (DOCKER_TLS_CERTDIR is empty)",
                            "tls: first record does not look like a TLS handshake",
                        )
                    )
        if not problems:
            continue
        what, symptom = problems[0]
        host_var = jv.env.get("DOCKER_HOST")
        severity = Severity.ERROR if len(problems) == len(views) else Severity.WARNING
        outcome = f'the job fails with "{symptom}"'
        if ctx.runner_config is None and hostfacts.daemon_answered(ctx):
            severity = Severity.INFO
            outcome = (
                f'with the image defaults the job fails with "{symptom}", but the error text is the '
                "daemon's reply, so this runner's environment sets DOCKER_TLS_CERTDIR (check its "
                "config.toml)"
            )
        yield finding(
            f"{label(jv.job)}: {what}; {outcome}.",
            'Use one mode on both sides: TLS = DOCKER_TLS_CERTDIR "/certs" + DOCKER_HOST '
            'tcp://docker:2376 (+ /certs/client shared); no TLS = DOCKER_TLS_CERTDIR "" + '
            "DOCKER_HOST tcp://docker:2375.",
            loc=var_loc(host_var, jv.job, "variables"),
            job=jv.job.name,
            severity=severity,
        )
