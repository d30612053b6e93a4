"""dind-family findings from real set-ups: userns-remap with a privileged service (BR121), the job
token pushing to another project (BR122), and error texts that settle or refute a cause (BR101,
BR106, BR108, BR202)."""

from __future__ import annotations

from dataclasses import replace

from test_rules_b_unit import ctx, run, sev

from buildrig.doctor.base import Context, LiveFacts

REMAP = '{"userns-remap": "default"}'
DIND_JOB = """
build:
  image: docker:29.7.2-cli
  services:
    - docker:29.7.2-dind
  variables:
    DOCKER_TLS_CERTDIR: "/certs"
  script:
    - docker build -t app .
"""
RUNNER = """
[[runners]]
  name = "dind"
  executor = "docker"
  [runners.docker]
    image = "docker:29.7.2-cli"
    privileged = true
    volumes = ["/certs/client", "/cache"]
{extra}"""
REFUSED = (
    "ERROR: Preparation failed: Error response from daemon: privileged mode is incompatible with user "
    "namespaces. You must run the container in the host namespace when running privileged mode"
)


def said(c: Context, text: str | None) -> Context:
    return replace(c, symptom=text)


def test_br121_privileged_service_on_a_remapping_daemon() -> None:
    f = run("br121_userns_remap_privileged_service", ctx(DIND_JOB, RUNNER.format(extra=""), REMAP))
    assert sev(f) == ["error"] and "privileged mode is incompatible" in f[0].message
    # the runner passes userns_mode to services too (docker.go:395 at v17.9.3)
    host = RUNNER.format(extra='    userns_mode = "host"\n')
    assert run("br121_userns_remap_privileged_service", ctx(DIND_JOB, host, REMAP)) == []
    # ... but the daemon's refusal says this runner is older than that
    f = run("br121_userns_remap_privileged_service", said(ctx(DIND_JOB, host, REMAP), REFUSED))
    assert sev(f) == ["warning"] and "gitlab-runner --version" in f[0].message
    # an unprivileged service is BR103's; no remap, no finding
    off = RUNNER.format(extra="    services_privileged = false\n")
    assert run("br121_userns_remap_privileged_service", ctx(DIND_JOB, off, REMAP)) == []
    assert run("br121_userns_remap_privileged_service", ctx(DIND_JOB, RUNNER.format(extra=""), "{}")) == []


def test_br121_without_daemon_json_needs_the_error_text_or_live() -> None:
    c = ctx(DIND_JOB, RUNNER.format(extra=""))
    assert run("br121_userns_remap_privileged_service", c) == []
    assert sev(run("br121_userns_remap_privileged_service", said(c, REFUSED))) == ["warning"]
    assert run("br121_userns_remap_privileged_service", said(c, "no such host")) == []
    live = LiveFacts(userns_remap=True)
    assert sev(run("br121_userns_remap_privileged_service", replace(c, live=live))) == ["error"]
    assert run("br121_userns_remap_privileged_service", replace(c, live=LiveFacts(userns_remap=False))) == []


TOKEN_LOGIN = "docker login -u gitlab-ci-token -p $CI_JOB_TOKEN reg.example.com"


def _two_jobs(a: str, b: str, login: str = TOKEN_LOGIN) -> str:
    return f"""
default:
  image: docker:29.7.2-cli
one:
  script:
    - {login}
    - docker push {a}
two:
  script:
    - {login}
    - docker push {b}
"""


def test_br122_two_projects_with_one_job_token() -> None:
    two = _two_jobs("reg.example.com/g/backend", "reg.example.com/g/docs:1")
    f = run("br122_job_token_other_project", ctx(two))
    assert sev(f) == ["warning", "warning"] and "unauthorized: authentication required" in f[0].message
    # one project holds both paths
    same = _two_jobs("reg.example.com/g/app", "reg.example.com/g/app/docs:1")
    assert run("br122_job_token_other_project", ctx(same)) == []
    # this project's registry by variable; another registry; a deploy token
    own = _two_jobs("$CI_REGISTRY_IMAGE", "$CI_REGISTRY_IMAGE/docs")
    assert run("br122_job_token_other_project", ctx(own)) == []
    elsewhere = _two_jobs("other.example.com/g/backend", "reg.example.com/g/docs")
    assert run("br122_job_token_other_project", ctx(elsewhere)) == []
    deploy = _two_jobs(
        "reg.example.com/g/backend",
        "reg.example.com/h/docs",
        "docker login -u $DEPLOY_USER -p $DEPLOY_TOKEN reg.example.com",
    )
    assert run("br122_job_token_other_project", ctx(deploy)) == []


def test_br122_one_literal_path_needs_the_error_text() -> None:
    job = _two_jobs("reg.example.com/g/backend", "reg.example.com/g/backend:2")
    c = ctx(job)
    assert run("br122_job_token_other_project", c) == []
    f = run("br122_job_token_other_project", said(c, "unauthorized: authentication required"))
    assert sev(f) == ["warning", "warning"] and "CI_PROJECT_PATH" in f[0].message
    assert run("br122_job_token_other_project", said(c, "no basic auth credentials")) == []


FLOATING = """
test:
  image: registry.example.com/tools/aws-deploy:latest
  services:
    - docker:dind
  variables:
    DOCKER_HOST: tcp://docker:2375
  script:
    - docker login -u AWS --password-stdin "$REGISTRY" < token
"""
TOO_OLD = (
    "Error response from daemon: client version 1.41 is too old. Minimum supported API version is 1.44, "
    "please upgrade your client to a newer version"
)


def test_a_daemon_reply_refutes_a_cannot_connect_prediction_without_config_toml() -> None:
    c = ctx(FLOATING)
    assert sev(run("br101_dind_tls_port", c)) == ["error"]
    assert sev(run("br108_docker_floating_tag", c)) == ["error"]
    assert sev(run("br106_dind_api_skew", c)) == ["info"]  # the CLI release is the check the files leave
    c = said(c, TOO_OLD)
    f = run("br101_dind_tls_port", c)
    assert sev(f) == ["info"] and "environment sets DOCKER_TLS_CERTDIR" in f[0].message
    assert sev(run("br108_docker_floating_tag", c)) == ["info"]
    f = run("br106_dind_api_skew", c)
    assert sev(f) == ["warning"] and "client version 1.41 is too old" in f[0].message
    # "Cannot connect" is no reply; with config.toml the runner's environment is known
    refused = said(ctx(FLOATING), "Cannot connect to the Docker daemon at tcp://docker:2375. Is it running?")
    assert sev(run("br101_dind_tls_port", refused)) == ["error"]
    runner = RUNNER.format(extra="")
    assert sev(run("br101_dind_tls_port", said(ctx(FLOATING, runner), TOO_OLD))) == ["error"]


def test_br202_without_config_toml_reads_dinds_own_error() -> None:
    job = DIND_JOB
    assert run("br202_sock_with_dind_service", ctx(job)) == []
    text = "Failed to load listeners: can't create unix socket /var/run/docker.sock: device or resource busy"
    f = run("br202_sock_with_dind_service", said(ctx(job), text))
    assert sev(f) == ["warning"] and "grep -n docker.sock" in f[0].message
    other = said(ctx(job), "mount: permission denied (are you root?)")
    assert run("br202_sock_with_dind_service", other) == []


def test_br110_host_insecure_registries_reach_dind_through_a_mounted_daemon_json() -> None:
    job = DIND_JOB.replace("docker build -t app .", "docker push reg.example.com:5000/g/app")
    daemon = '{"insecure-registries": ["reg.example.com:5000"]}'
    f = run("br110_dind_registry_trust", ctx(job, RUNNER.format(extra=""), daemon))
    assert sev(f) == ["warning"] and "reg.example.com:5000" in f[0].message
    # the runner binds its volumes into services too, so dind reads the host's daemon.json
    for volume in ("/etc/docker/daemon.json:/etc/docker/daemon.json:ro", "/etc/docker:/etc/docker"):
        mounted = RUNNER.replace('"/cache"]', f'"/cache", "{volume}"]').format(extra="")
        assert run("br110_dind_registry_trust", ctx(job, mounted, daemon)) == []


def test_br106_points_at_an_unknown_cli_only_where_the_daemon_refuses_old_clients() -> None:
    f = run("br106_dind_api_skew", ctx(FLOATING))
    assert sev(f) == ["info"] and "version --format" in f[0].message
    # Docker 28 still accepts API 1.24: nothing to check
    assert run("br106_dind_api_skew", ctx(FLOATING.replace("docker:dind", "docker:28.5.2-dind"))) == []
    # a daemon reply of another kind means the client negotiated an API with it
    denied = 'Error response from daemon: Get "https://r.example.com/v2/": unauthorized'
    assert run("br106_dind_api_skew", said(ctx(FLOATING), denied)) == []
