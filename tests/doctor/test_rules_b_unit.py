"""Unit tests of the BR2xx/BR4xx/BR5xx/BR6xx/BR7xx rules on small, targeted set-ups.

Each test parses a few lines of ``.gitlab-ci.yml``/``config.toml``/``daemon.json`` with the real
parsers, derives the context with the doctor engine and runs one rule, so the edge a rule draws
(error vs warning vs nothing) is pinned down where the fixture cases do not reach.
"""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from buildrig.doctor import kit as u
from buildrig.doctor.base import Context, Finding, LiveFacts, Rule, Severity
from buildrig.doctor.engine import build_context, check_rule, discover_rules
from buildrig.gitlab.ci import load_pipeline_text
from buildrig.gitlab.dockerd_config import load_daemon_json_text
from buildrig.gitlab.runner_config import load_runner_config_text

HERE = Path("/project")


def ctx(
    ci: str = "", toml: str | None = None, daemon: str | None = None, live: LiveFacts | None = None
) -> Context:
    pipeline = load_pipeline_text(textwrap.dedent(ci), HERE / ".gitlab-ci.yml") if ci else None
    runners = (
        load_runner_config_text(textwrap.dedent(toml), HERE / "config.toml") if toml is not None else None
    )
    d = load_daemon_json_text(daemon, HERE / "daemon.json") if daemon is not None else None
    return build_context(pipeline, runners, d, live)


def run(rule: str, c: Context) -> list[Finding]:
    mod: Rule = importlib.import_module(f"buildrig.doctor.rules.{rule}")
    return check_rule(mod, c)


def sev(findings: list[Finding]) -> list[str]:
    return [str(f.severity) for f in findings]


DOCKER_RUNNER = """
[[runners]]
  name = "{name}"
  executor = "docker"
  [runners.docker]
    image = "docker:29.7.2-cli"
    volumes = {volumes}
"""


def docker_runner(name: str = "r", volumes: str = '["/cache"]', extra: str = "") -> str:
    return DOCKER_RUNNER.format(name=name, volumes=volumes) + extra


SOCK = '["/var/run/docker.sock:/var/run/docker.sock"]'
SOCK_JOB = """
build:
  image: docker:29.7.2-cli
  script:
    - docker build -t app .
"""

# --- helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "registry", "path", "tag"),
    [
        ("docker:24.0.5-dind", None, "docker", "24.0.5-dind"),
        ("docker.io/library/docker:cli", None, "docker", "cli"),
        ("registry.example.com:5000/team/kaniko:debug", "registry.example.com:5000", "team/kaniko", "debug"),
        ("gcr.io/kaniko-project/executor@sha256:abc", "gcr.io", "kaniko-project/executor", None),
        (
            "${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}/docker:29",
            "${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}",
            "docker",
            "29",
        ),
    ],
)
def test_parse_image(name: str, registry: str | None, path: str, tag: str | None) -> None:
    ref = u.parse_image(name)
    assert (ref.registry, ref.path, ref.tag) == (registry, path, tag)


def test_script_continuation_lines_are_one_command() -> None:
    c = ctx("""
    build:
      image: {name: "ghcr.io/osscontainertools/kaniko:v1.28.0-debug", entrypoint: [""]}
      script:
        - |
          /kaniko/executor \\
            --context "$CI_PROJECT_DIR/app" \\
            --dockerfile Dockerfile --destination x
    """)
    cmds = u.kaniko_commands(c.jobs[0].job)
    assert len(cmds) == 1
    assert u.option_values(cmds[0][1], "--context") == ["$CI_PROJECT_DIR/app"]


def test_api_of_docker_tags() -> None:
    assert u.api_of_release(u.docker_release_of_tag("24.0.5-cli") or (0, 0)) == "1.43"
    assert u.api_of_release(u.docker_release_of_tag("cli") or (0, 0)) == "1.52"
    assert u.api_of_release(u.docker_release_of_tag("20.10.24") or (0, 0)) == "1.41"


# --- docker_sock -------------------------------------------------------------------------------


def test_br201_only_some_runners_lack_the_socket_is_a_warning() -> None:
    c = ctx(SOCK_JOB, docker_runner("a", SOCK) + docker_runner("b"))
    f = run("br201_sock_not_mounted", c)
    assert sev(f) == ["warning"] and "runner 'b'" in f[0].message and "runner 'a'" not in f[0].message


def test_br201_quiet_for_tcp_docker_host_and_kubernetes_host_path() -> None:
    tcp = SOCK_JOB.replace("  script:", "  variables:\n    DOCKER_HOST: tcp://10.0.0.5:2376\n  script:")
    assert run("br201_sock_not_mounted", ctx(tcp, docker_runner())) == []
    k8s = """
    [[runners]]
      name = "k"
      executor = "kubernetes"
      [runners.kubernetes]
        namespace = "ci"
      [[runners.kubernetes.volumes.host_path]]
        name = "sock"
        mount_path = "/var/run/docker.sock"
        host_path = "/var/run/docker.sock"
    """
    assert run("br201_sock_not_mounted", ctx(SOCK_JOB, k8s)) == []


def test_br201_without_config_toml_says_nothing() -> None:
    assert run("br201_sock_not_mounted", ctx(SOCK_JOB)) == []


def test_br204_docker_29_client_cannot_negotiate_down_to_old_hosts() -> None:
    live = LiveFacts(engine_version="20.10.24", engine_api="1.41", engine_min_api="1.12")
    f = run("br204_client_api_skew", ctx(SOCK_JOB, docker_runner(volumes=SOCK), live=live))
    assert sev(f) == ["error"] and "client version 1.52 is too new" in f[0].message
    assert "Maximum supported API version is 1.41" in f[0].message
    job27 = SOCK_JOB.replace("29.7.2-cli", "27.4.1-cli")
    assert run("br204_client_api_skew", ctx(job27, docker_runner(volumes=SOCK), live=live)) == []
    pinned = job27.replace("  script:", '  variables:\n    DOCKER_API_VERSION: "1.47"\n  script:')
    f = run("br204_client_api_skew", ctx(pinned, docker_runner(volumes=SOCK), live=live))
    assert sev(f) == ["error"] and "client version 1.47 is too new" in f[0].message
    # without --live only a note, for clients that need Docker >= 25 on the host and for
    # clients that Docker 29 hosts refuse; a Docker 25-28 client works with either
    assert sev(run("br204_client_api_skew", ctx(SOCK_JOB, docker_runner(volumes=SOCK)))) == ["info"]
    old = SOCK_JOB.replace("29.7.2-cli", "24.0.5-cli")
    f = run("br204_client_api_skew", ctx(old, docker_runner(volumes=SOCK)))
    assert sev(f) == ["info"] and "client version 1.43 is too old" in f[0].message
    assert run("br204_client_api_skew", ctx(job27, docker_runner(volumes=SOCK))) == []


def test_br206_data_bind_mount_without_z() -> None:
    c = ctx(
        SOCK_JOB,
        docker_runner(volumes='["/srv/cache:/cache", "/srv/shared:/shared:z"]'),
        daemon='{"selinux-enabled": true}',
    )
    f = run("br206_selinux_socket", c)
    assert len(f) == 1 and "/srv/cache:/cache" in f[0].message
    assert run("br206_selinux_socket", ctx(SOCK_JOB, docker_runner(volumes=SOCK))) == []


# --- kaniko ------------------------------------------------------------------------------------

KANIKO = """
build:
  image:
    name: {image}
{entry}  script:
    - >-
      /kaniko/executor --context "$CI_PROJECT_DIR" --dockerfile "$CI_PROJECT_DIR/Dockerfile"
      --destination "$CI_REGISTRY_IMAGE:1"
"""


def kaniko(image: str = "ghcr.io/osscontainertools/kaniko:v1.28.0-debug", entry: bool = True) -> str:
    return KANIKO.format(image=image, entry='    entrypoint: [""]\n' if entry else "")


OSS_KANIKO = "ghcr.io/osscontainertools/kaniko:v1.28.0-debug"
OLD_KANIKO = "gcr.io/kaniko-project/executor:v1.8.1-debug"

K8S = """
[[runners]]
  name = "k"
  executor = "kubernetes"
  [runners.kubernetes]
    namespace = "ci"
"""


def test_br401_depends_on_the_executor() -> None:
    job = kaniko(entry=False)
    assert sev(run("br401_kaniko_entrypoint", ctx(job, docker_runner()))) == ["error"]
    assert run("br401_kaniko_entrypoint", ctx(job, K8S)) == []
    honor = K8S.replace('    namespace = "ci"\n', '    namespace = "ci"\n') + (
        "  [runners.feature_flags]\n    FF_KUBERNETES_HONOR_ENTRYPOINT = true\n"
    )
    assert sev(run("br401_kaniko_entrypoint", ctx(job, honor))) == ["error"]
    assert sev(run("br401_kaniko_entrypoint", ctx(job))) == ["warning"]
    assert run("br401_kaniko_entrypoint", ctx(kaniko(), docker_runner())) == []


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("gcr.io/kaniko-project/executor:v1.23.2", ["error"]),
        ("gcr.io/kaniko-project/executor:debug-v1.3.0", []),
        ("ghcr.io/osscontainertools/kaniko:slim", ["error"]),
        ("cgr.dev/chainguard/kaniko:latest-dev", []),
        ("gcr.io/kaniko-project/executor@sha256:0123", ["warning"]),
        ("registry.example.com/tools/kaniko-with-tools:1", []),
    ],
)
def test_br402_variants(image: str, expected: list[str]) -> None:
    assert sev(run("br402_kaniko_not_debug", ctx(kaniko(image), docker_runner()))) == expected


def test_br403_missing_and_relative_context() -> None:
    job = kaniko().replace('--context "$CI_PROJECT_DIR" ', "")
    f = run("br403_kaniko_paths", ctx(job, docker_runner()))
    assert len(f) == 1 and "/workspace/" in f[0].message
    rel = kaniko().replace('--context "$CI_PROJECT_DIR"', "--context app")
    f = run("br403_kaniko_paths", ctx(rel, docker_runner()))
    assert len(f) == 1 and "relative --context 'app'" in f[0].message
    same_dir = kaniko().replace('"$CI_PROJECT_DIR/Dockerfile"', "Dockerfile")
    assert run("br403_kaniko_paths", ctx(same_dir, docker_runner())) == []


AUTH = (
    '    - echo "{{\\"auths\\":{{\\"{key}\\":{{\\"auth\\":\\"$AUTH\\"}}}}}}" > /kaniko/.docker/config.json\n'
)


def test_br404_keys() -> None:
    def job(key: str, dest: str) -> str:
        base = kaniko().replace('"$CI_REGISTRY_IMAGE:1"', dest)
        return base.replace("  script:\n", "  script:\n" + AUTH.format(key=key))

    assert run("br404_kaniko_auth_other_registry", ctx(job("$CI_REGISTRY", '"$CI_REGISTRY_IMAGE:1"'))) == []
    # kaniko >= 1.9 finds the GitLab registry's job credentials itself; older releases do not.
    own = job("$CI_REGISTRY_IMAGE", '"$CI_REGISTRY_IMAGE:1"')
    assert run("br404_kaniko_auth_other_registry", ctx(own)) == []
    old = own.replace(OSS_KANIKO, OLD_KANIKO)
    assert sev(run("br404_kaniko_auth_other_registry", ctx(old))) == ["warning"]
    f = run(
        "br404_kaniko_auth_other_registry",
        ctx(job("registry.example.com/team/app", "registry.example.com/team/app:1")),
    )
    assert sev(f) == ["error"] and "repository path" in f[0].message
    f = run("br404_kaniko_auth_other_registry", ctx(job("$HARBOR", "$OTHER/app:1")))
    assert sev(f) == ["warning"]
    assert (
        run("br404_kaniko_auth_other_registry", ctx(job("https://index.docker.io/v1/", "acme/app:1"))) == []
    )


def test_br406_image_user() -> None:
    job = kaniko().replace(
        '    entrypoint: [""]\n', '    entrypoint: [""]\n    docker:\n      user: "1000"\n'
    )
    assert sev(run("br406_kaniko_non_root", ctx(job, docker_runner()))) == ["error"]


# --- buildah / buildkit ------------------------------------------------------------------------

BUILDAH = """
build:
  image: quay.io/buildah/stable:v1.45.0
  variables:
    STORAGE_DRIVER: vfs
  script:
    - buildah build -t x .
"""


def test_br501_privileged_or_unconfined_runner_is_fine() -> None:
    priv = docker_runner().replace("    image =", "    privileged = true\n    image =")
    assert run("br501_userns_blocked", ctx(BUILDAH, priv)) == []
    one = docker_runner().replace("    image =", '    security_opt = ["seccomp:unconfined"]\n    image =')
    f = run("br501_userns_blocked", ctx(BUILDAH, one))
    assert (
        len(f) == 1
        and "apparmor:unconfined" in f[0].message
        and "seccomp" not in f[0].message.split("lacks")[1]
    )


def test_br502_fuse_device_keeps_overlay() -> None:
    job = BUILDAH.replace("    STORAGE_DRIVER: vfs\n", "    BUILDAH_FORMAT: docker\n")
    fuse = docker_runner().replace("    image =", '    devices = ["/dev/fuse"]\n    image =')
    assert run("br502_overlay_on_overlay", ctx(job, fuse)) == []
    assert len(run("br502_overlay_on_overlay", ctx(job, docker_runner()))) == 1
    flag = job.replace("buildah build", "buildah --storage-driver vfs build")
    assert run("br502_overlay_on_overlay", ctx(flag, docker_runner())) == []


def test_br502_without_runners_trusts_an_explicit_overlay_but_reminds_the_image_default() -> None:
    # buildrig init's docker job sets STORAGE_DRIVER: overlay and puts /dev/fuse in config.toml;
    # a doctor run on .gitlab-ci.yml alone must not warn about that choice
    overlay = BUILDAH.replace("STORAGE_DRIVER: vfs", "STORAGE_DRIVER: overlay")
    assert run("br502_overlay_on_overlay", ctx(overlay)) == []
    assert len(run("br502_overlay_on_overlay", ctx(overlay, docker_runner()))) == 1
    default = BUILDAH.replace("    STORAGE_DRIVER: vfs\n", "    BUILDAH_FORMAT: docker\n")
    found = run("br502_overlay_on_overlay", ctx(default))
    assert len(found) == 1 and found[0].fix.startswith("Give the runner devices")


def test_br504_flag_on_the_command_line_or_privileged_runner() -> None:
    job = """
    build:
      image: {name: "moby/buildkit:v0.33.0-rootless", entrypoint: [""]}
      script:
        - buildctl-daemonless.sh build --frontend dockerfile.v0 --local context=. --local dockerfile=.
    """
    assert sev(run("br504_buildkit_no_process_sandbox", ctx(job, docker_runner()))) == ["error"]
    priv = docker_runner().replace("    image =", "    privileged = true\n    image =")
    assert run("br504_buildkit_no_process_sandbox", ctx(job, priv)) == []
    assert sev(run("br504_buildkit_no_process_sandbox", ctx(job))) == ["warning"]


# --- shell / runner ----------------------------------------------------------------------------

SHELL = """
[[runners]]
  name = "s"
  executor = "shell"
"""


def test_br602_world_writable_socket_or_group_member() -> None:
    job = "build:\n  script:\n    - docker info\n"
    live = LiveFacts(runner_user="gitlab-runner", runner_user_groups=("gitlab-runner",), socket_mode=0o666)
    assert run("br602_not_in_docker_group", ctx(job, SHELL, live=live)) == []
    live = LiveFacts(runner_user="gitlab-runner", runner_user_groups=("docker",))
    assert run("br602_not_in_docker_group", ctx(job, SHELL, live=live)) == []
    live = LiveFacts(runner_user="ci", runner_user_groups=())
    assert sev(run("br602_not_in_docker_group", ctx(job, SHELL, live=live))) == ["error"]


def test_br603_mixed_runners_is_a_warning() -> None:
    job = "t:\n  image: python:3.12\n  services:\n    - postgres:16\n  script: [pytest]\n"
    assert sev(run("br603_services_on_shell", ctx(job, SHELL + docker_runner()))) == ["warning"]
    assert sev(run("br603_services_on_shell", ctx(job, SHELL))) == ["error"]


def test_br604_rootless_docker_host_in_job_and_shell_live() -> None:
    job = SOCK_JOB.replace(
        "  script:", "  variables:\n    DOCKER_HOST: unix:///run/user/1000/docker.sock\n  script:"
    )
    f = run("br604_rootless_socket_path", ctx(job, docker_runner()))
    assert sev(f) == ["error"]
    mounted = docker_runner(volumes='["/run/user/1000/docker.sock:/run/user/1000/docker.sock"]')
    assert run("br604_rootless_socket_path", ctx(job, mounted)) == []
    shell_job = "build:\n  script:\n    - docker build .\n"
    live = LiveFacts(socket_path="/run/user/1000/docker.sock")
    # --live shows the rootless daemon is the only one: the job fails whenever it runs there
    assert sev(run("br604_rootless_socket_path", ctx(shell_job, SHELL, live=live))) == ["error"]
    with_env = SHELL + '  environment = ["DOCKER_HOST=unix:///run/user/1000/docker.sock"]\n'
    assert run("br604_rootless_socket_path", ctx(shell_job, with_env, live=live)) == []


# --- security ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("daemon", "expected"),
    [
        ('{"hosts": ["tcp://127.0.0.1:2375"]}', ["warning"]),
        ('{"hosts": ["tcp://10.0.0.5:2375"]}', ["warning"]),
        ('{"hosts": ["tcp://0.0.0.0:2375"]}', ["error"]),
        ('{"hosts": ["tcp://:2375"]}', ["error"]),
        ('{"hosts": ["tcp://93.184.216.34:2376"], "tls": true}', ["error"]),
        ('{"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": true}', ["warning"]),
        ('{"hosts": ["tcp://10.0.0.5:2376"], "tlsverify": true}', []),
        ('{"hosts": ["unix:///var/run/docker.sock"]}', []),
    ],
)
def test_br701_listeners(daemon: str, expected: list[str]) -> None:
    assert sev(run("br701_tcp_without_tls", ctx(daemon=daemon))) == expected


def test_br702_untagged_only_when_the_file_states_tags() -> None:
    priv = docker_runner("p").replace("    image =", "    privileged = true\n    image =")
    # Registration keeps tags server-side: no tags anywhere in config.toml proves nothing.
    assert run("br702_privileged_shared_runner", ctx(toml=priv)) == []
    tagged_other = priv + docker_runner("t").replace(
        '  executor = "docker"', '  executor = "docker"\n  tags = ["x"]'
    )
    f = run("br702_privileged_shared_runner", ctx(toml=tagged_other))
    assert len(f) == 1 and "runner 'p'" in f[0].message
    explicit = priv.replace('  executor = "docker"', '  executor = "docker"\n  run_untagged = true')
    assert len(run("br702_privileged_shared_runner", ctx(toml=explicit))) == 1


def test_br706_references_and_non_secret_names_are_fine() -> None:
    ci = """
    variables:
      REGISTRY_PASSWORD: $VAULT_PASSWORD
      REGISTRY_USER: deploy-bot
      TOKEN_URL: https://auth.example.com/token
      API_KEY: ""
    build:
      image: docker:29.7.2-cli
      variables:
        NPM_TOKEN: "npm_AbCdEf0123456789"
      script:
        - echo "$REGISTRY_PASSWORD" | docker login -u "$REGISTRY_USER" --password-stdin
        - docker login -u x -p "$CI_JOB_TOKEN" registry.example.com
    """
    f = run("br706_credentials_in_yaml", ctx(ci))
    assert len(f) == 1 and "NPM_TOKEN = [MASKED]" in f[0].message
    assert "npm_AbCdEf0123456789" not in f[0].message + f[0].fix


# --- the contract --------------------------------------------------------------------------------

OURS = ("BR2", "BR4", "BR5", "BR6", "BR7")


def test_rule_modules_follow_the_contract() -> None:
    ours = [r for r in discover_rules() if r.ID.startswith(OURS)]
    assert len(ours) >= 29
    for rule in ours:
        mod = importlib.import_module(type(rule).__module__) if not isinstance(rule, ModuleType) else rule
        doc = mod.__doc__ or ""
        assert doc.startswith(rule.ID), rule.ID
        assert "Fix:" in doc and "Docs:" in doc, rule.ID
        assert rule.DOCS.startswith("https://") and rule.DOCS in doc.replace("\n", ""), rule.ID
        assert isinstance(rule.SEVERITY, Severity) and rule.TITLE


# --- round 2 rules -------------------------------------------------------------------------------


def test_br409_wrap_options() -> None:
    def job(pipe: str) -> str:
        return (
            "build:\n  image: alpine:3.20\n  script:\n"
            '    - echo "{\\"auths\\":{\\"r\\":{\\"auth\\":\\"$(printf %s:%s u $CI_JOB_TOKEN | '
            + pipe
            + ')\\"}}}" > /kaniko/.docker/config.json\n'
        )

    assert sev(run("br409_auth_base64_wrapped", ctx(job("base64")))) == ["error"]
    assert run("br409_auth_base64_wrapped", ctx(job("base64 -w 0"))) == []
    assert run("br409_auth_base64_wrapped", ctx(job("base64 | tr -d '\\n'"))) == []


def test_br410_second_build_without_cleanup_and_missing_destination() -> None:
    job = """
    build:
      image: {name: "ghcr.io/osscontainertools/kaniko:v1.28.0-debug", entrypoint: [""]}
      script:
        - /kaniko/executor --context "$CI_PROJECT_DIR/a" --destination "$CI_REGISTRY_IMAGE/a:1"
        - /kaniko/executor --context "$CI_PROJECT_DIR/b"
    """
    f = run("br410_kaniko_flags", ctx(job))
    assert sorted(sev(f)) == ["error", "warning"]
    assert any("--cleanup" in x.message for x in f) and any("--no-push" in x.message for x in f)


@pytest.mark.parametrize(
    ("local", "expected"),
    [("dockerfile=.", 0), ("dockerfile=./docker/", 0), ("dockerfile=docker/app.Dockerfile", 1),
     ("dockerfile=Containerfile", 1), ("dockerfile=$CI_PROJECT_DIR", 0)],
)
def test_br505_local_paths(local: str, expected: int) -> None:
    job = f"b:\n  image: alpine:3.20\n  script:\n    - buildctl build --local context=. --local {local}\n"
    assert len(run("br505_buildkit_local_dockerfile", ctx(job))) == expected


def test_br208_names_from_variables() -> None:
    job = """
    t:
      image: docker:29.7.2-cli
      variables:
        DB: db-$CI_JOB_ID
        FIXED: db-fixed
      script:
        - docker run -d --name "$DB" postgres:16
        - docker run -d --name $FIXED postgres:16
    """
    f = run("br208_sock_container_name_clash", ctx(job, docker_runner(volumes=SOCK)))
    assert len(f) == 1 and "$FIXED" in f[0].message


def test_br201_script_choosing_its_daemon_or_daemonless_commands() -> None:
    exported = SOCK_JOB.replace("  script:\n", "  script:\n    - export DOCKER_HOST=tcp://buildbox:2375\n")
    assert run("br201_sock_not_mounted", ctx(exported, docker_runner())) == []
    manifest = "m:\n  image: docker:29.7.2-cli\n  script:\n    - docker manifest inspect alpine:3.20\n"
    assert run("br201_sock_not_mounted", ctx(manifest, docker_runner())) == []


def test_br602_without_live_is_a_reminder() -> None:
    job = "build:\n  script:\n    - docker build .\n"
    assert sev(run("br602_not_in_docker_group", ctx(job, SHELL))) == ["info"]


def test_br408_own_registry_is_only_dead_code_from_kaniko_1_9() -> None:
    job = kaniko().replace(
        "  script:\n", '  script:\n    - echo "{}" > /root/.docker/config.json\n'
    )
    assert sev(run("br408_kaniko_auth_wrong_path", ctx(job))) == ["info"]
    old = job.replace(OSS_KANIKO, OLD_KANIKO)
    assert sev(run("br408_kaniko_auth_wrong_path", ctx(old))) == ["error"]
    other = job.replace('"$CI_REGISTRY_IMAGE:1"', "harbor.example.com/team/app:1")
    assert sev(run("br408_kaniko_auth_wrong_path", ctx(other))) == ["error"]


def test_br706_a_path_to_a_key_file_is_not_the_key() -> None:
    ci = """
    variables:
      GOOGLE_APPLICATION_CREDENTIALS: /secrets/gcp/key.json
      AZURE_CREDENTIALS: ./ci/azure-credentials.json
      DEPLOY_SECRET: "/q8Zk+3vW/Lm9xQ2+Rt7YpA/"
    build:
      image: docker:29.7.2-cli
      script:
        - echo ok
    """
    f = run("br706_credentials_in_yaml", ctx(ci))
    assert [x.message.split(" = ")[0].rsplit(" ", 1)[-1] for x in f] == ["DEPLOY_SECRET"]


def test_br706_service_passwords_dummies_and_template_settings_are_not_leaks() -> None:
    ci = """
    variables:
      SECRET_DETECTION_EXCLUDED_PATHS: "tests/,docs/"
      APP_SECRET: "k8Zq!r2Lm0"
    test:
      image: python:3.12
      services:
        - name: postgres:16
          variables:
            POSTGRES_PASSWORD: "Sup3r-test-db"
      variables:
        MYSQL_ROOT_PASSWORD: rootpw-for-tests
        DB_PASSWORD: postgres
      script:
        - echo "building docker image with the docker token"
    """
    f = run("br706_credentials_in_yaml", ctx(ci))
    found = [(x.message.split(" = ")[0].split()[-1], str(x.severity)) for x in f]
    assert found == [("APP_SECRET", "warning")]


def test_br601_shell_host_without_daemon() -> None:
    job = "build:\n  script:\n    - docker build .\n"
    live = LiveFacts(socket_exists=False, docker_cli_present=True, socket_path="/var/run/docker.sock")
    f = run("br601_docker_missing", ctx(job, SHELL, live=live))
    assert sev(f) == ["error"] and "Is the docker daemon running?" in f[0].message
    with_host = SHELL + '  environment = ["DOCKER_HOST=tcp://10.0.0.5:2376"]\n'
    assert run("br601_docker_missing", ctx(job, with_host, live=live)) == []
    live_user = LiveFacts(socket_exists=False, runner_user="gitlab-runner", runner_user_groups=())
    assert run("br602_not_in_docker_group", ctx(job, SHELL, live=live_user)) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # every branch pipeline fails: an error; a '/' in some branch names: a warning
        ('docker build -t "$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG" .', ["error"]),
        ('docker build -t "$CI_REGISTRY_IMAGE:${CI_COMMIT_TAG:-latest}" .', []),
        ('if [ -n "$CI_COMMIT_TAG" ]; then docker push "$IMG:$CI_COMMIT_TAG"; fi', []),
        ('docker push "$CI_REGISTRY_IMAGE:$CI_COMMIT_REF_NAME"', ["warning"]),
        ('docker push "$CI_REGISTRY_IMAGE:$CI_COMMIT_REF_SLUG"', []),
        ('echo "$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG"', []),
    ],
)
def test_br411_tags(line: str, expected: list[str]) -> None:
    job = f"b:\n  image: docker:29.7.2-cli\n  script:\n    - '{line}'\n"
    assert sev(run("br411_image_ref_variables", ctx(job))) == expected


def test_br507_dind_29_uses_the_containerd_store() -> None:
    job = """
    b:
      image: docker:29.7.2-cli
      services: ["docker:29.7.2-dind"]
      script:
        - docker buildx build --platform linux/amd64,linux/arm64 -t x --push .
    """
    assert run("br507_buildx_docker_driver", ctx(job)) == []
    old = job.replace('["docker:29.7.2-dind"]', '["docker:27.4.1-dind"]')
    f = run("br507_buildx_docker_driver", ctx(old))
    # a dind before 29 has the classic image store on every run: an error
    assert sev(f) == ["error"] and "Multi-platform" in f[0].message
    stable = job.replace('["docker:29.7.2-dind"]', '["docker:stable-dind"]')
    assert sev(run("br507_buildx_docker_driver", ctx(stable))) == ["error"]  # 19.03, not today's 29
    host = "\n".join(x for x in job.splitlines() if "services:" not in x)
    assert sev(run("br507_buildx_docker_driver", ctx(host))) == ["warning"]  # the store is not shown


def test_image_names_from_variables() -> None:
    job = """
    variables:
      KANIKO_VERSION: v1.9.1-debug
    build:
      image:
        name: gcr.io/kaniko-project/executor:$KANIKO_VERSION
        entrypoint: [""]
      script:
        - /kaniko/executor --context "$CI_PROJECT_DIR" --destination "$CI_REGISTRY_IMAGE:1"
    """
    assert run("br402_kaniko_not_debug", ctx(job)) == []
    f = run("br407_kaniko_archived_image", ctx(job))
    assert len(f) == 1 and "v1.9.1-debug" in f[0].message
    unknown = job.replace("      KANIKO_VERSION: v1.9.1-debug\n", "      OTHER: x\n")
    assert run("br402_kaniko_not_debug", ctx(unknown)) == []
    plain = job.replace("v1.9.1-debug", "v1.9.1")
    assert sev(run("br402_kaniko_not_debug", ctx(plain))) == ["error"]


def test_br703_runner_named_shared() -> None:
    toml = docker_runner("shared-docker-1", SOCK)
    found = run("br703_socket_shared_runner", ctx(toml=toml))
    assert sev(found) == ["warning"] and "shared runner" in found[0].message


def test_br703_any_socket_runner_warns_unless_declared_dedicated() -> None:
    found = run("br703_socket_shared_runner", ctx(toml=docker_runner("build-box", SOCK)))
    assert sev(found) == ["warning"] and "# buildrig: dedicated" in found[0].fix
    marked = docker_runner("build-box", SOCK).replace(
        'executor = "docker"', 'executor = "docker"\n  # buildrig: dedicated'
    )
    assert "# buildrig: dedicated" in marked
    assert run("br703_socket_shared_runner", ctx(toml=marked)) == []
    # the marker belongs to the entry it sits in, not to the runner after it
    two = marked + docker_runner("other", SOCK)
    assert [f.message.split("'")[1] for f in run("br703_socket_shared_runner", ctx(toml=two))] == ["other"]


def test_br203_compose_is_a_note_and_builds_shared_is_quiet() -> None:
    job = "t:\n  image: docker:29.7.2-cli\n  script:\n    - docker compose -f ci.yml up -d\n"
    f = run("br203_bind_mount_host_path", ctx(job, docker_runner(volumes=SOCK)))
    assert sev(f) == ["info"]
    shared = '["/var/run/docker.sock:/var/run/docker.sock", "/builds:/builds"]'
    assert run("br203_bind_mount_host_path", ctx(job, docker_runner(volumes=shared))) == []


def test_br201_docker_section_on_a_kubernetes_runner_is_ignored() -> None:
    toml = K8S + '  [runners.docker]\n    volumes = ["/var/run/docker.sock:/var/run/docker.sock"]\n'
    f = run("br201_sock_not_mounted", ctx(SOCK_JOB, toml))
    assert sev(f) == ["error"] and "ignored by the Kubernetes executor" in f[0].message


def test_br404_cloud_registry_needs_the_helpers_credentials() -> None:
    auth = (
        '    - echo "{\\"auths\\":{\\"$CI_REGISTRY\\":{\\"username\\":\\"u\\",\\"password\\":\\"$P\\"}}}"'
        " > /kaniko/.docker/config.json\n"
    )
    push = "    - /kaniko/executor --context . --destination europe-docker.pkg.dev/p/r/app:1\n"
    head = 'b:\n  image:\n    name: ghcr.io/osscontainertools/kaniko:v1.28.0-debug\n    entrypoint: [""]\n'
    bare = head + "  script:\n" + auth + push
    assert sev(run("br404_kaniko_auth_other_registry", ctx(bare))) == ["error"]
    helped = head + "  script:\n" + '    - test -f "$GOOGLE_APPLICATION_CREDENTIALS"\n' + auth + push
    assert run("br404_kaniko_auth_other_registry", ctx(helped)) == []


def test_br402_executor_missing_from_a_non_kaniko_image() -> None:
    run_it = '    - /kaniko/executor --context "$CI_PROJECT_DIR" --destination "$CI_REGISTRY_IMAGE:1"\n'
    for image, want in (("google/cloud-sdk:latest", ["error"]), ("mycorp/builder:1", ["warning"])):
        job = f"b:\n  image: {image}\n  script:\n" + run_it
        assert sev(run("br402_kaniko_not_debug", ctx(job))) == want, image
    fetched = "b:\n  image: alpine:3.20\n  script:\n    - cp ./bin/executor /kaniko/executor\n" + run_it
    assert run("br402_kaniko_not_debug", ctx(fetched)) == []


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["docker login -u u -p p reg.example.com", "docker push reg.example.com:5050/a:1"], ["error"]),
        (["docker login -u u -p p registry.example.com", "docker push registry.example.com/a:1"], []),
        (['docker login -u u -p p "$CI_REGISTRY"', 'docker push "$CI_REGISTRY_IMAGE:1"'], []),
        (['docker login -u u -p p "$CI_REGISTRY"', "docker push acme/app:1"], ["error"]),
        (['docker login -u u -p p "$HARBOR"', "docker push acme/app:1"], []),  # $HARBOR may be Hub
        (["docker push acme/app:1"], []),  # no login: anonymous pushes may be allowed
        (["docker login -u u -p p", "docker buildx build --push -t quay.io/a/b:1 ."], ["error"]),
        (["cp auth.json ~/.docker/config.json", "docker login -u u -p p q.io", "docker push acme/a"], []),
        # the command ends at "; fi"; buildah pushes to its second positional, past --digestfile
        (["buildah login -u u -p p q.io", "if true; then buildah push --digestfile /tmp/d a q.io/a; fi"], []),
        (["buildah login -u u -p p q.io", "buildah push a docker://ghcr.io/a:1"], ["error"]),
        # two pushes side by side (init's jobs): the command ends at "&", the rest is not a reference
        (
            ['docker login -u u -p p "$CI_REGISTRY"', 'docker push "$CI_REGISTRY_IMAGE:1" & p=$!; wait "$p"'],
            [],
        ),
    ],
)
def test_br412_login_and_push_hosts(lines: list[str], expected: list[str]) -> None:
    job = "b:\n  image: docker:29.7.2-cli\n  script:\n" + "".join(f"    - '{x}'\n" for x in lines)
    assert sev(run("br412_login_other_registry", ctx(job))) == expected


def test_br704_docker_group_is_a_security_warning_unless_declared_dedicated() -> None:
    job = "build:\n  script:\n    - docker info\n"
    live = LiveFacts(socket_exists=True, runner_user="gitlab-runner", runner_user_groups=("docker",))
    assert sev(run("br704_shell_jobs_as_root", ctx(job, SHELL, live=live))) == ["warning"]
    root = LiveFacts(socket_exists=True, runner_user="root", runner_user_groups=())
    assert sev(run("br704_shell_jobs_as_root", ctx(job, SHELL, live=root))) == ["warning"]
    dedicated = SHELL + "  # buildrig: dedicated\n"
    assert run("br704_shell_jobs_as_root", ctx(job, dedicated, live=live)) == []
    assert run("br704_shell_jobs_as_root", ctx(job, dedicated, live=root)) == []


_LOGIN_BUILD = """
build:
  {vars}
  script:
    {before}
    - echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"
    - {build}
"""


def _cfg(path: str) -> str:
    return f"variables: {{DOCKER_CONFIG: {path}}}"


@pytest.mark.parametrize(
    ("vars_", "before", "build", "fires"),
    [
        (_cfg("$CI_PROJECT_DIR/.docker"), "", "docker build -t x .", True),
        (_cfg(".docker"), "", "docker build -t x .", True),
        (_cfg('\'"$CI_PROJECT_DIR"/.docker\''), "", "docker build -t x .", True),
        ("", '- export DOCKER_CONFIG="$(pwd)/.docker"', "docker buildx build --push -t x -f D .", True),
        ("", "- export DOCKER_CONFIG=${CI_PROJECT_DIR}/.d", "docker build --pull -t x $CI_PROJECT_DIR", True),
        (_cfg("app/.docker"), "", "docker build --build-arg=A=1 --debug -t x app/", True),
        # a context named by a variable the files set (buildrig's own jobs: BUILD_CONTEXT)
        ("variables: {DOCKER_CONFIG: .docker, CTX: .}", "", 'docker build -t x "$CTX"', True),
        # outside the project: the runner's temporary project directory, an absolute path, above it
        (_cfg("$RUNNER_TEMP_PROJECT_DIR/docker-config"), "", "docker build -t x .", False),
        (_cfg("/tmp/docker-config"), "", "docker build -t x .", False),
        (_cfg("$PWD/../docker-config"), "", "docker build -t x .", False),
        # the context does not hold the config: elsewhere, a sibling, stdin, a URL
        (_cfg("$CI_PROJECT_DIR/.docker"), "", "docker build -t x /srv/context", False),
        (_cfg("$CI_PROJECT_DIR/.docker"), "", "docker build -t x app/", False),
        (_cfg(".docker"), "", "docker build -t x - < Dockerfile", False),
        (_cfg(".docker"), "", "docker build -t x https://example.com/repo.git#main", False),
        # said, not done
        ("", "- echo DOCKER_CONFIG=.docker", "docker build -t x .", False),
        # no DOCKER_CONFIG: the home directory's config (BR707's business on the shell executor)
        ("", "", "docker build -t x .", False),
    ],
)
def test_br708_login_stored_in_the_build_context(vars_: str, before: str, build: str, fires: bool) -> None:
    ci = _LOGIN_BUILD.format(vars=vars_ or "stage: build", before=before or "- true", build=build)
    found = run("br708_login_in_build_context", ctx(ci))
    assert sev(found) == (["warning"] if fires else [])


_SHELL_RUNNER = """
[[runners]]
  name = "shell"
  executor = "shell"
"""


@pytest.mark.parametrize(
    ("before", "after", "fires"),
    [
        ("- true", "- true", True),
        # each of BR707's ways out: a per-job config in the script, an auth file, a logout
        ('- export DOCKER_CONFIG="$(mktemp -d)"', "- true", False),
        ("- true", '- docker logout "$CI_REGISTRY"', False),
    ],
)
def test_br707_login_on_the_shell_executor(before: str, after: str, fires: bool) -> None:
    ci = f"""
    build:
      before_script:
        {before}
      script:
        - echo "$CI_REGISTRY_PASSWORD" | docker login -u u --password-stdin "$CI_REGISTRY"
      after_script:
        {after}
    """
    found = run("br707_shell_login_persists", ctx(ci, _SHELL_RUNNER))
    assert sev(found) == (["warning"] if fires else [])
