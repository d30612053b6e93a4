"""dind: TLS is on but the client certificates never reach the job container.

With TLS (the dind image's default, ``DOCKER_TLS_CERTDIR=/certs``) the dind service writes client
certificates to ``$DOCKER_TLS_CERTDIR/client`` at start. The job only sees them when that path is
a volume shared by job and services: ``volumes = ["/certs/client"]`` in ``[runners.docker]``, or a
``[[runners.kubernetes.volumes.empty_dir]]`` mounted there. Without it the docker image's
entrypoint finds no certificates and falls back to ``tcp://docker:2375``, which a TLS daemon
does not serve::

    Cannot connect to the Docker daemon at tcp://docker:2375. Is the docker daemon running?

or, when the job sets the TLS variables itself::

    could not read CA certificate "/certs/client/ca.pem": open /certs/client/ca.pem: no such file or
    directory

Fix: add ``/certs/client`` to the runner's volumes (Kubernetes: an ``empty_dir`` at
``/certs/client``), or disable TLS on both sides (``DOCKER_TLS_CERTDIR: ""`` with
``DOCKER_HOST: tcp://docker:2375``).
"""

from __future__ import annotations

from collections.abc import Iterator

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.doctor.kit import endpoint, jobs, label, per_runner, severity_over, svc_env

ID = "BR102"
TITLE = "dind: TLS client certificates are not shared with the job (/certs/client volume missing)"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/docker/docker_in_docker/#docker-in-docker-with-tls-enabled-in-the-docker-executor"


def check(ctx: Context) -> Iterator[Issue]:
    for jv in jobs(ctx, "dind"):
        if not jv.runners:
            continue  # without config.toml the volumes are unknown (stated in limits)
        views = per_runner(ctx, jv)
        bad = []
        symptom = ""
        client_dir = ""
        for view in views:
            assert view.runner is not None
            if view.shell:
                continue
            for svc in derive.dind_services(jv.job, jv.runners):
                env = svc_env(view, svc)
                mode = derive.dind_mode(svc, env)
                if not mode.tls or not mode.certdir:
                    continue
                client_dir = mode.certdir.rstrip("/") + "/client"
                if F.shares_path(view.runner, client_dir) or derive._bind_mounted(view.runner, client_dir):
                    continue
                ep = endpoint(view.env)
                if ep is not None and ep.scheme == "unix":
                    continue  # the client uses the shared socket, not TLS
                verify = view.env.get("DOCKER_TLS_VERIFY")
                cert_path = view.env.get("DOCKER_CERT_PATH")
                if verify is not None and verify.loc is not None and verify.value:
                    where = cert_path.value.rstrip("/") if cert_path is not None else "/root/.docker"
                    symptom = (
                        f'could not read CA certificate "{where}/ca.pem": open {where}/ca.pem: '
                        "no such file or directory"
                    )
                elif ep is not None and ep.port == 2376:
                    symptom = "Client sent an HTTP request to an HTTPS server."
                elif ep is not None:
                    symptom = (
                        f"Cannot connect to the Docker daemon at {ep.raw}. Is the docker daemon running?"
                    )
                else:
                    symptom = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
                bad.append(view.runner)
                break
        if not bad:
            continue
        names = ", ".join(f"'{r.name}' ({r.loc})" for r in bad)
        yield finding(
            f"{label(jv.job)} uses dind with TLS, but runner {names} does not share {client_dir} "
            f"between the dind service and the job, so the client has no certificates; the job fails "
            f'with "{symptom}".',
            f'Add "{client_dir}" to [runners.docker] volumes (Kubernetes: an empty_dir mounted at '
            f'{client_dir}), or turn TLS off on both sides (DOCKER_TLS_CERTDIR: "" and DOCKER_HOST: '
            "tcp://docker:2375).",
            loc=bad[0].docker.key_locs.get("volumes", bad[0].docker.loc) if bad[0].docker else bad[0].loc,
            job=jv.job.name,
            severity=severity_over(len(bad), len(views)),
        )
