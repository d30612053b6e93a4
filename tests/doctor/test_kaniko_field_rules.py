"""kaniko-family causes the error text (or a pinned release) shows: a private CA named by kaniko's
x509 refusal (BR405), docker-init mounted by the runner (BR414), a registry port the build's network
cannot reach (BR415, any way), a pinned kaniko release with the broken container check (BR413)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_rules_b_unit import ctx, run, sev

from buildrig.doctor.base import Context, LiveFacts

KANIKO = """
build:
  image:
    name: {image}
    entrypoint: [""]
  {extra}script:
    - /kaniko/executor --context . --dockerfile Dockerfile --destination registry.example.com:5050/app:1
"""
DEBUG = "gcr.io/kaniko-project/executor:debug"


def kaniko(image: str = DEBUG, extra: str = "") -> str:
    return KANIKO.format(image=image, extra=extra)


def said(c: Context, text: str | None) -> Context:
    return replace(c, symptom=text)


RUNNER = """
[[runners]]
  name = "r"
  executor = "{executor}"
{extra}"""

# --- BR405: kaniko's x509 refusal ------------------------------------------------------------------

X509 = (
    'error building image: getting stage builder for stage 0: Get "https://registry.example.com/v2/": '
    "x509: certificate signed by unknown authority"
)


def test_br405_x509_in_the_error_text_names_the_registry_and_the_fix() -> None:
    c = ctx(kaniko())
    assert run("br405_kaniko_custom_ca", c) == []
    f = run("br405_kaniko_custom_ca", said(c, X509))
    assert sev(f) == ["warning"]
    assert "registry.example.com's certificate" in f[0].message
    assert "--registry-certificate registry.example.com=" in f[0].fix
    assert "/kaniko/ssl/certs/additional-ca-cert-bundle.crt" in f[0].fix
    # a certificate for another name, or an expired one, is another cause
    other = X509.replace("signed by unknown authority", "certificate is valid for a.example, not b")
    assert run("br405_kaniko_custom_ca", said(c, other)) == []


def test_br405_x509_with_a_ca_already_handed_to_kaniko_is_left_alone() -> None:
    for extra in (
        "before_script:\n    - cat $CA >> /kaniko/ssl/certs/additional-ca-cert-bundle.crt\n  ",
        "before_script:\n    - export X=1 && /kaniko/executor --registry-certificate r=/ca.crt\n  ",
    ):
        assert run("br405_kaniko_custom_ca", said(ctx(kaniko(extra=extra)), X509)) == []


def test_br405_x509_from_a_job_that_runs_no_kaniko_is_not_kanikos() -> None:
    job = "b:\n  image: docker:29.7.2-cli\n  script:\n    - docker build -t app .\n"
    assert run("br405_kaniko_custom_ca", said(ctx(job), X509)) == []


# --- BR414: docker-init in /sbin --------------------------------------------------------------------

BUSY = (
    "error building image: error building stage: failed to get filesystem from image: error removing "
    "sbin to make way for new symlink: unlinkat //sbin/docker-init: device or resource busy"
)
FLAG_ON = '  [runners.feature_flags]\n    FF_USE_INIT_WITH_DOCKER_EXECUTOR = true\n'


def test_br414_from_the_error_text_names_the_runner_release() -> None:
    c = ctx(kaniko())
    assert run("br414_kaniko_docker_init_mount", c) == []
    assert run("br414_kaniko_docker_init_mount", said(c, X509)) == []
    f = run("br414_kaniko_docker_init_mount", said(c, BUSY))
    assert sev(f) == ["warning"] and "gitlab-runner --version" in f[0].fix and "16.6.1" in f[0].fix
    busy = "error removing sbin: remove /sbin/docker-init: text file busy"
    assert sev(run("br414_kaniko_docker_init_mount", said(c, busy))) == ["warning"]


def test_br414_feature_flag_in_the_files() -> None:
    on = ctx(kaniko(), RUNNER.format(executor="docker", extra=FLAG_ON))
    f = run("br414_kaniko_docker_init_mount", on)
    assert sev(f) == ["warning"] and "[runners.feature_flags]" in f[0].message
    assert "remove FF_USE_INIT_WITH_DOCKER_EXECUTOR from [runners.feature_flags]" in f[0].fix
    # the job's own variable turns it on too (and off, when the runner does not force it)
    job_on = kaniko(extra='variables:\n    FF_USE_INIT_WITH_DOCKER_EXECUTOR: "true"\n  ')
    assert sev(run("br414_kaniko_docker_init_mount", ctx(job_on))) == ["warning"]
    runner = RUNNER.format(executor="docker", extra="")
    assert sev(run("br414_kaniko_docker_init_mount", ctx(job_on, runner))) == ["warning"]
    job_off = kaniko(extra='variables:\n    FF_USE_INIT_WITH_DOCKER_EXECUTOR: "false"\n  ')
    assert run("br414_kaniko_docker_init_mount", ctx(job_off, runner)) == []
    # a [runners.feature_flags] entry wins over the job's variable
    assert sev(run("br414_kaniko_docker_init_mount", ctx(job_off, RUNNER.format(
        executor="docker", extra=FLAG_ON)))) == ["warning"]


def test_br414_not_on_kubernetes_nor_for_other_builders() -> None:
    kube = RUNNER.format(executor="kubernetes", extra="")
    assert run("br414_kaniko_docker_init_mount", said(ctx(kaniko(), kube), BUSY)) == []
    buildah = "b:\n  image: quay.io/buildah/stable:v1.45.0\n  script:\n    - buildah build -t app .\n"
    assert run("br414_kaniko_docker_init_mount", said(ctx(buildah), BUSY)) == []


# --- BR415: the registry's host:port does not answer -------------------------------------------------

KANIKO_TIMEOUT = (
    "error checking push permissions -- make sure you entered the correct tag name, and that you are "
    "authenticated correctly, and try again: checking push permission for "
    '"registry.example.com:5050/app:1": creating push check transport for registry.example.com:5050 '
    'failed: Get "https://registry.example.com:5050/v2/": dial tcp 203.0.113.10:5050: i/o timeout'
)
SOCK_JOB = "b:\n  image: docker:29.7.2-cli\n  script:\n    - docker push registry.example.com:5050/app:1\n"
SOCK_RUNNER = (
    '[[runners]]\n  name = "s"\n  executor = "docker"\n  [runners.docker]\n'
    '    volumes = ["/var/run/docker.sock:/var/run/docker.sock"]\n'
)
DOCKER_REFUSED = (
    'Error response from daemon: Get "https://registry.example.com:5050/v2/": dial tcp 10.0.0.5:5050: '
    "connect: connection refused"
)


def test_br415_kaniko_timeout_names_the_job_network_and_the_check() -> None:
    c = ctx(kaniko())
    assert run("br415_registry_unreachable", c) == []
    f = run("br415_registry_unreachable", said(c, KANIKO_TIMEOUT))
    assert sev(f) == ["warning"]
    assert "registry.example.com:5050" in f[0].message and "job network" in f[0].message
    assert "docker run --rm curlimages/curl" in f[0].fix
    assert "https://registry.example.com:5050/v2/" in f[0].fix


def test_br415_socket_jobs_dial_from_the_runner_host() -> None:
    f = run("br415_registry_unreachable", said(ctx(SOCK_JOB, SOCK_RUNNER), DOCKER_REFUSED))
    assert sev(f) == ["warning"] and "runner host itself" in f[0].message
    assert "nothing listens" in f[0].message and "docker run" not in f[0].fix


def test_br415_a_loopback_registry_from_a_container_is_the_container() -> None:
    text = DOCKER_REFUSED.replace("registry.example.com", "localhost").replace("10.0.0.5", "127.0.0.1")
    f = run("br415_registry_unreachable", said(ctx(kaniko()), text))
    assert sev(f) == ["warning"] and "the container itself" in f[0].message


def test_br415_kubernetes_check_runs_a_pod_in_the_namespace() -> None:
    kube = RUNNER.format(executor="kubernetes", extra='  [runners.kubernetes]\n    namespace = "ci"\n')
    f = run("br415_registry_unreachable", said(ctx(kaniko(), kube), KANIKO_TIMEOUT))
    assert sev(f) == ["warning"] and "kubectl run regcheck -n ci" in f[0].fix


@pytest.mark.parametrize(
    "text",
    [
        # DNS, not a port: BR104/BR115's kind of cause
        'Get "https://registry.example.com:5050/v2/": dial tcp: lookup registry.example.com on '
        "10.0.0.2:53: no such host",
        # the proxy does not answer: BR119's
        'Get "https://registry.example.com/v2/": proxyconnect tcp: dial tcp 10.0.0.3:3128: i/o timeout',
        # the daemon, not a registry
        "error during connect: Get \"http://docker:2375/v1.24/info\": dial tcp 172.17.0.3:2375: "
        "connect: connection refused",
        # the runner pulling the job's image: the host's daemon before any script
        'ERROR: Job failed: failed to pull image "registry.example.com:5050/img:1": Error response from '
        'daemon: Get "https://registry.example.com:5050/v2/": dial tcp 10.0.0.5:5050: i/o timeout',
    ],
)
def test_br415_other_causes_stay_quiet(text: str) -> None:
    assert run("br415_registry_unreachable", said(ctx(kaniko()), text)) == []


def test_br415_names_only_the_jobs_that_use_that_registry_when_one_does() -> None:
    other = (
        "\nother:\n  image: docker:29.7.2-cli\n  services:\n    - docker:29.7.2-dind\n  script:\n"
        "    - docker push elsewhere.example.com/app:1\n"
    )
    f = run("br415_registry_unreachable", said(ctx(kaniko() + other), KANIKO_TIMEOUT))
    assert [x.job for x in f] == ["build"]


# --- BR413: a pinned release with the broken container check ---------------------------------------

REFUSED = "kaniko should only be run inside of a container, run with the --force flag if you are sure"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("gcr.io/kaniko-project/executor:v1.5.1-debug", ["info"]),
        ("gcr.io/kaniko-project/executor:v1.8.1-debug", ["info"]),
        ("gcr.io/kaniko-project/executor:debug-v1.6.0", ["info"]),
        ("gcr.io/kaniko-project/executor:v1.3.0-debug", []),
        ("gcr.io/kaniko-project/executor:v1.9.0-debug", []),
        ("gcr.io/kaniko-project/executor:debug", []),
        ("gcr.io/kaniko-project/executor:latest", []),
        ("ghcr.io/osscontainertools/kaniko:v1.28.0-debug", []),
    ],
)
def test_br413_points_at_pinned_releases_in_the_known_bad_range(image: str, expected: list[str]) -> None:
    assert sev(run("br413_kaniko_container_detection", ctx(kaniko(image)))) == expected


def test_br413_pointer_follows_the_error_text_and_live() -> None:
    c = ctx(kaniko("gcr.io/kaniko-project/executor:v1.8.0-debug"))
    assert "stat -fc %T /sys/fs/cgroup" in run("br413_kaniko_container_detection", c)[0].message
    assert run("br413_kaniko_container_detection", said(c, X509)) == []  # another cause
    assert sev(run("br413_kaniko_container_detection", said(c, REFUSED))) == ["warning"]
    assert sev(run("br413_kaniko_container_detection", replace(c, live=LiveFacts(cgroup_v2=True)))) == [
        "error"
    ]
    assert run("br413_kaniko_container_detection", replace(c, live=LiveFacts(cgroup_v2=False))) == []
    marked = kaniko("gcr.io/kaniko-project/executor:v1.8.0-debug", "variables:\n    container: docker\n  ")
    assert run("br413_kaniko_container_detection", ctx(marked)) == []
