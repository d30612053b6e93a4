"""Host-fact rules: INFO pointer from the files, WARNING when the user's error text matches,
nothing when it names another cause, ERROR or nothing once ``--live`` has checked the fact."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from test_rules_b_unit import SHELL, SOCK, ctx, docker_runner, run, sev

from buildrig.doctor import hostfacts
from buildrig.doctor.base import Context, LiveFacts, Severity

DOCKER_JOB = "build:\n  script:\n    - docker build -t app .\n"
DENIED = (
    "Got permission denied while trying to connect to the Docker daemon socket at "
    "unix:///var/run/docker.sock: connect: permission denied"
)
NOT_FOUND = "bash: line 140: docker: command not found"
LOGOUT = "bash: line 82: cd: /home/gitlab-runner/builds/ey8QzqLq/0/g/p: No such file or directory"


def said(c: Context, text: str | None) -> Context:
    return replace(c, symptom=text)


@pytest.mark.parametrize(
    ("symptom", "confirmed", "shape", "expected"),
    [
        (None, None, Severity.INFO, Severity.INFO),
        ("boom", None, Severity.INFO, None),
        ("boom", None, Severity.WARNING, Severity.WARNING),
        ("it went boom here", None, Severity.INFO, Severity.WARNING),
        ("it went boom here", None, Severity.ERROR, Severity.ERROR),
        (None, True, Severity.INFO, Severity.ERROR),
        ("unrelated", True, Severity.INFO, Severity.ERROR),
        ("went boom here", False, Severity.WARNING, None),
    ],
)
def test_grade(
    symptom: str | None, confirmed: bool | None, shape: Severity, expected: Severity | None
) -> None:
    pattern = re.compile(r"went boom")
    assert hostfacts.grade(Context(symptom=symptom), pattern, confirmed=confirmed, shape=shape) is expected


def test_shell_runner_pointers_follow_the_symptom() -> None:
    base = ctx(DOCKER_JOB, SHELL)
    rules = ("br601_docker_missing", "br602_not_in_docker_group", "br607_shell_dotfile")

    def grades(c: Context) -> dict[str, list[str]]:
        return {r[:5]: sev(run(r, c)) for r in rules}

    # files alone: the group and the dotfiles are pointers; the CLI GitLab's docs install is not
    assert grades(base) == {"br601": [], "br602": ["info"], "br607": ["info"]}
    assert grades(said(base, DENIED)) == {"br601": [], "br602": ["warning"], "br607": []}
    assert grades(said(base, NOT_FOUND)) == {"br601": ["warning"], "br602": [], "br607": []}
    assert grades(said(base, LOGOUT)) == {"br601": [], "br602": [], "br607": ["warning"]}
    early = "Using Shell executor...\nRunning on box...\nERROR: Job failed: exit status 1"
    assert grades(said(base, early)) == {"br601": [], "br602": [], "br607": ["warning"]}
    failed_step = "$ docker build -t app .\nERROR: Job failed: exit status 1"
    assert grades(said(base, failed_step))["br607"] == []


def test_br602_names_the_exact_check_and_skips_jobs_that_choose_their_daemon() -> None:
    f = run("br602_not_in_docker_group", ctx(DOCKER_JOB, SHELL))
    assert "id gitlab-runner; ls -l /var/run/docker.sock" in f[0].message
    remote = "build:\n  variables:\n    DOCKER_HOST: tcp://10.0.0.5:2376\n  script:\n    - docker info\n"
    assert run("br602_not_in_docker_group", ctx(remote, SHELL)) == []
    sudo = "build:\n  script:\n    - sudo docker build .\n"
    assert run("br602_not_in_docker_group", ctx(sudo, SHELL)) == []


def test_br601_pointer_for_a_job_without_image_on_unknown_runners() -> None:
    job = "deploy:\n  tags: [shell_executor]\n  script:\n    - docker pull app\n"
    assert sev(run("br601_docker_missing", ctx(job))) == ["info"]
    assert sev(run("br601_docker_missing", said(ctx(job), "docker: command not found"))) == ["warning"]
    with_image = "deploy:\n  image: docker:27-cli\n  script:\n    - docker pull app\n"
    assert run("br601_docker_missing", said(ctx(with_image), NOT_FOUND)) == []
    live = LiveFacts(docker_cli_present=True, socket_exists=True)
    assert run("br601_docker_missing", said(ctx(DOCKER_JOB, SHELL, live=live), NOT_FOUND)) == []


def test_br607_live_lists_the_offending_line() -> None:
    hazard = "/home/gitlab-runner/.bash_logout:6: /usr/bin/clear_console -q"
    live = LiveFacts(
        runner_user="gitlab-runner", runner_home="/home/gitlab-runner", runner_dotfile_hazards=(hazard,)
    )
    f = run("br607_shell_dotfile", ctx(DOCKER_JOB, SHELL, live=live))
    assert sev(f) == ["error"] and hazard in f[0].message
    clean = replace(live, runner_dotfile_hazards=())
    assert run("br607_shell_dotfile", said(ctx(DOCKER_JOB, SHELL, live=clean), LOGOUT)) == []
    sh = SHELL.replace('executor = "shell"', 'executor = "shell"\n  shell = "pwsh"')
    assert run("br607_shell_dotfile", ctx(DOCKER_JOB, sh)) == []


def test_br204_reads_the_daemons_words() -> None:
    job = "build:\n  image: docker:19.03.9-git\n  script:\n    - docker build .\n"
    c = ctx(job, docker_runner(volumes=SOCK))
    # from the files alone a pointer: Docker 29 hosts refuse a client below API 1.44
    f = run("br204_client_api_skew", c)
    assert sev(f) == ["info"] and "Minimum supported API version is 1.44" in f[0].message
    text = "Error response from daemon: client version 1.40 is too new. Maximum supported API version is 1.39"
    f = run("br204_client_api_skew", said(c, text))
    assert sev(f) == ["warning"] and "its newest API is 1.39" in f[0].message
    # the shell executor's CLI is the host's
    assert sev(run("br204_client_api_skew", said(ctx(DOCKER_JOB, SHELL), text))) == ["warning"]


def test_br204_shell_live_compares_the_host_cli_with_the_engine() -> None:
    live = LiveFacts(
        docker_cli_api="1.52", engine_version="20.10.24", engine_api="1.41", engine_min_api="1.12"
    )
    f = run("br204_client_api_skew", ctx(DOCKER_JOB, SHELL, live=live))
    assert sev(f) == ["error"] and "too new. Maximum supported API version is 1.41" in f[0].message
    negotiates = replace(live, docker_cli_api="1.50")  # a Docker 28 CLI negotiates down to 1.41
    assert run("br204_client_api_skew", ctx(DOCKER_JOB, SHELL, live=negotiates)) == []


K8S_SOCKET = """
[[runners]]
  [runners.kubernetes]
    namespace = "gitlab"
    [[runners.kubernetes.volumes.host_path]]
      name = "docker"
      mount_path = "/var/run/docker.sock"
      host_path = "/var/run/docker.sock"
"""


def test_br606_live_on_a_node() -> None:
    job = "b:\n  image: docker:latest\n  script:\n    - docker build .\n"
    assert sev(run("br606_k8s_no_docker_daemon", ctx(job, K8S_SOCKET))) == ["warning"]
    crio = LiveFacts(socket_exists=False, cri_sockets=("/var/run/crio/crio.sock",))
    f = run("br606_k8s_no_docker_daemon", ctx(job, K8S_SOCKET, live=crio))
    assert sev(f) == ["error"] and "crio.sock" in f[0].message
    docker_node = LiveFacts(socket_exists=True, engine_version="24.0.7")
    assert run("br606_k8s_no_docker_daemon", ctx(job, K8S_SOCKET, live=docker_node)) == []


DIND_JOB = """
build:
  image: docker:27
  services:
    - docker:27-dind
  script:
    - docker build -t registry.example.com/app .
    - docker push registry.example.com/app
"""


def test_br109_mtu_from_the_symptom_or_the_host() -> None:
    c = ctx(DIND_JOB)
    assert run("br109_dind_mtu", c) == []
    assert sev(run("br109_dind_mtu", said(c, "net/http: TLS handshake timeout"))) == ["warning"]
    f = run("br109_dind_mtu", replace(c, live=LiveFacts(uplink_mtu=1360)))
    assert sev(f) == ["error"] and '"--mtu=1360"' in f[0].fix
    assert (
        run("br109_dind_mtu", said(replace(c, live=LiveFacts(uplink_mtu=1500)), "TLS handshake timeout"))
        == []
    )


def test_br110_plain_http_registry_from_the_symptom() -> None:
    c = ctx(DIND_JOB)
    assert run("br110_dind_registry_trust", c) == []
    text = "Get https://10.1.2.3:5000/v2/: http: server gave HTTP response to HTTPS client"
    f = run("br110_dind_registry_trust", said(c, text))
    assert sev(f) == ["warning"] and '"--insecure-registry=10.1.2.3:5000"' in f[0].fix


BUILDAH_JOB = "b:\n  image: quay.io/buildah/stable\n  script:\n    - buildah build -t app .\n"
UNSHARE = "Error during unshare(CLONE_NEWUSER): Operation not permitted"


def test_br501_without_config_toml_and_with_live() -> None:
    assert sev(run("br501_userns_blocked", ctx(BUILDAH_JOB))) == ["info"]
    assert sev(run("br501_userns_blocked", said(ctx(BUILDAH_JOB), UNSHARE))) == ["warning"]
    confined = LiveFacts(seccomp_default=True, apparmor=True, max_user_namespaces=15000)
    assert sev(run("br501_userns_blocked", ctx(BUILDAH_JOB, docker_runner(), live=confined))) == ["error"]
    unconfined = LiveFacts(seccomp_default=False, apparmor=False, max_user_namespaces=15000)
    assert run("br501_userns_blocked", ctx(BUILDAH_JOB, docker_runner(), live=unconfined)) == []
    no_userns = replace(unconfined, max_user_namespaces=0)
    assert sev(run("br501_userns_blocked", ctx(BUILDAH_JOB, docker_runner(), live=no_userns))) == ["error"]


def test_br501_rootless_buildkit_service_needs_services_security_opt() -> None:
    job = (
        "b:\n  image: moby/buildkit:rootless\n  services:\n    - name: moby/buildkit:rootless\n"
        "      alias: buildkitd\n  script:\n    - buildctl --addr tcp://buildkitd:1234 build .\n"
    )
    opts = '    security_opt = ["seccomp:unconfined", "apparmor:unconfined"]\n'
    assert sev(run("br501_userns_blocked", ctx(job, docker_runner(extra=opts)))) == ["warning"]
    both = opts + '    services_security_opt = ["seccomp:unconfined", "apparmor:unconfined"]\n'
    assert run("br501_userns_blocked", ctx(job, docker_runner(extra=both))) == []


SOCK_JOB = "t:\n  image: docker:27-cli\n  script:\n    - docker version\n"


def test_br205_br206_without_daemon_config() -> None:
    c = ctx(SOCK_JOB, docker_runner(volumes=SOCK))
    for rule in ("br205_userns_remap_socket", "br206_selinux_socket"):
        assert run(rule, c) == []
        assert sev(run(rule, said(c, DENIED))) == ["warning"]
    remapped = replace(c, live=LiveFacts(userns_remap=True))
    assert sev(run("br205_userns_remap_socket", remapped)) == ["error"]
    assert (
        run("br205_userns_remap_socket", said(replace(c, live=LiveFacts(userns_remap=False)), DENIED)) == []
    )
    enforcing = replace(c, live=LiveFacts(selinux_enforcing=True, selinux_labels=True))
    assert sev(run("br206_selinux_socket", enforcing)) == ["error"]
    permissive = replace(c, live=LiveFacts(selinux_enforcing=False, selinux_labels=True))
    assert run("br206_selinux_socket", said(permissive, DENIED)) == []


def test_describe_says_what_live_read() -> None:
    live = LiveFacts(
        socket_path="/var/run/docker.sock",
        socket_exists=True,
        socket_mode=0o660,
        socket_group="docker",
        runner_user="gitlab-runner",
        runner_user_groups=("docker", "gitlab-runner"),
        docker_cli_path="/usr/bin/docker",
        docker_cli_api="1.41",
        selinux_enforcing=False,
        uplink_mtu=1360,
        runner_home="/home/gitlab-runner",
        runner_dotfile_hazards=("/home/gitlab-runner/.bash_logout:6: clear_console -q",),
        notes=("a note",),
    )
    text = "\n".join(hostfacts.describe(live))
    assert "runner user gitlab-runner (groups: docker, gitlab-runner)" in text
    assert "docker CLI /usr/bin/docker (API 1.41)" in text and "SELinux enforcing off" in text
    assert "userns-remap ?" in text and "uplink MTU 1360" in text
    assert "/home/gitlab-runner: /home/gitlab-runner/.bash_logout:6: clear_console -q" in text
    assert text.endswith("a note")


KANIKO_JOB = (
    "k:\n  image:\n    name: gcr.io/kaniko-project/executor:v1.8.0-debug\n    entrypoint: ['']\n"
    "  script:\n    - /kaniko/executor --context . --destination r.example.com/a:b\n"
)
REFUSED = (
    "kaniko should only be run inside of a container, run with the --force flag if you are sure you "
    "want to continue"
)


def test_br413_kaniko_container_detection_from_the_symptom_or_a_pinned_release() -> None:
    c = ctx(KANIKO_JOB)
    # v1.8.0 is in the known-bad range: a pointer from the files, dropped by another cause's text
    assert sev(run("br413_kaniko_container_detection", c)) == ["info"]
    assert run("br413_kaniko_container_detection", ctx(KANIKO_JOB.replace("v1.8.0-debug", "debug"))) == []
    assert run("br413_kaniko_container_detection", said(c, UNSHARE)) == []
    f = run("br413_kaniko_container_detection", said(c, REFUSED))
    assert sev(f) == ["warning"] and "container: docker" in f[0].fix
    marked = KANIKO_JOB.replace("  script:", "  variables:\n    container: docker\n  script:")
    assert run("br413_kaniko_container_detection", said(ctx(marked), REFUSED)) == []


def test_br411_empty_variable_at_the_start_of_a_reference_from_the_symptom() -> None:
    job = (
        "b:\n  image: docker:29.7.2-cli\n  services:\n    - docker:29.7.2-dind\n  script:\n"
        "    - docker build -t \"$CI_REGISTRY_IMAGE:latest\" .\n"
        "    - docker push \"$CI_REGISTRY_IMAGE:latest\"\n"
    )
    c = ctx(job)
    assert run("br411_image_ref_variables", c) == []
    assert run("br411_image_ref_variables", said(c, DENIED)) == []
    bad = 'invalid argument ":latest" for t: invalid reference format'
    f = run("br411_image_ref_variables", said(c, bad))
    assert sev(f) == ["warning"] and "container registry is disabled" in f[0].message
    own = (
        "k:\n  image:\n    name: gcr.io/kaniko-project/executor:debug\n    entrypoint: ['']\n"
        "  variables:\n    DEFINED: registry.example.com\n  script:\n"
        "    - /kaniko/executor --destination $DEFINED/app:1 --destination ${REGISTRY_URL}/app:1\n"
    )
    push = 'checking push permission for "/app:1": invalid repository name'
    f = run("br411_image_ref_variables", said(ctx(own), push))
    assert sev(f) == ["warning"] and "$REGISTRY_URL" in f[0].message and "protected" in f[0].message
