"""Helpers that facts.py and the rules' helpers (now doctor/kit/) used to define twice: now one definition.

Each test pins a point where the two copies disagreed (or where one of them was wrong about GitLab
Runner or the docker image), so the engine, the BR0xx/BR1xx/BR3xx rules and the B rules all answer
the same way. Sources are named at each test.
"""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import pytest

from buildrig.doctor import derive
from buildrig.doctor import facts as F
from buildrig.doctor import kit as u
from buildrig.doctor.base import Context, Finding, Rule
from buildrig.doctor.engine import build_context, check_rule
from buildrig.errors import Loc
from buildrig.gitlab.ci import load_pipeline_text
from buildrig.gitlab.model import (
    DockerSection,
    ImageSpec,
    Job,
    KubernetesSection,
    Runner,
    ServiceSpec,
    Variable,
)
from buildrig.gitlab.runner_config import load_runner_config_text

HERE = Path("/project")
FF = F.HONOR_ENTRYPOINT_FF


def ctx(ci: str, toml: str) -> Context:
    pipeline = load_pipeline_text(textwrap.dedent(ci), HERE / ".gitlab-ci.yml")
    runners = load_runner_config_text(textwrap.dedent(toml), HERE / "config.toml")
    return build_context(pipeline, runners, None, None)


def run(rule: str, c: Context) -> list[Finding]:
    mod: Rule = importlib.import_module(f"buildrig.doctor.rules.{rule}")
    return check_rule(mod, c)


def runner(executor: str, **kw: object) -> Runner:
    return Runner(name=executor, executor=executor, loc=Loc("config.toml", 1), **kw)  # type: ignore[arg-type]


def var(name: str, value: str) -> Variable:
    return Variable(name=name, value=value, loc=Loc(".gitlab-ci.yml", 3))


def test_the_b_rules_use_the_same_objects() -> None:
    # one source of truth: the B helpers are the facts.py functions, not look-alikes
    assert u.honors_entrypoint is F.honors_entrypoint
    assert u.is_dind_service is F.is_dind_service
    assert u.script_lines is F.script_lines
    assert u.image_name is F.image_name is derive.image_name
    assert u.DOCKER_EXECUTORS is F.DOCKER_EXECUTORS


# --- feature flags: common/build_settings.go populateFeatureFlags (GitLab Runner) -------------------
# "runner setting takes precedence if defined": a flag named in [runners.feature_flags] keeps that
# value, true or false; only otherwise does the job's variable (strconv.ParseBool) count.


def test_config_toml_false_beats_a_job_variable_true() -> None:
    k8s = runner("kubernetes", kubernetes=KubernetesSection(), feature_flags={FF: False})
    env = {FF: var(FF, "true")}
    assert F.flag_on(k8s, FF, env) is False
    # the rules' old copy turned the flag on from the job variable: a kaniko job on this runner was
    # told its entrypoint would run when the Kubernetes executor replaces it
    assert u.honors_entrypoint(k8s, env) is False


def test_br401_quiet_when_config_toml_turns_honor_entrypoint_off() -> None:
    ci = """
    build:
      image: gcr.io/kaniko-project/executor:v1.23.2-debug
      variables:
        FF_KUBERNETES_HONOR_ENTRYPOINT: "true"
      script:
        - /kaniko/executor --context . --no-push
    """
    toml = """
    [[runners]]
      name = "k"
      executor = "kubernetes"
      [runners.feature_flags]
        FF_KUBERNETES_HONOR_ENTRYPOINT = false
      [runners.kubernetes]
        namespace = "ci"
    """
    assert run("br401_kaniko_entrypoint", ctx(ci, toml)) == []
    # and the job variable does count when config.toml leaves the flag out
    assert len(run("br401_kaniko_entrypoint", ctx(ci, toml.replace("= false", "= true")))) == 1
    assert len(run("br401_kaniko_entrypoint", ctx(ci, toml.replace(
        "      [runners.feature_flags]\n        FF_KUBERNETES_HONOR_ENTRYPOINT = false\n", "")))) == 1


@pytest.mark.parametrize(
    ("value", "on"),
    [("true", True), ("1", True), ("TRUE", True), ("True", True), ("t", True), ("T", True),
     ("false", False), ("0", False), ("tRuE", False), (" true", False), ("yes", False), ("", False)],
)
def test_flag_values_parse_as_go_parsebool(value: str, on: bool) -> None:
    # an unparsable value leaves the flag at its default (off), as populateFeatureFlags does
    k8s = runner("kubernetes", kubernetes=KubernetesSection())
    assert F.flag_on(k8s, FF, {FF: var(FF, value)}) is on


def test_a_runners_own_environment_sets_the_flag_when_the_job_does_not() -> None:
    # the job env only holds runner environment entries every candidate shares; this runner's
    # own entry still reaches its jobs (GetAllVariables includes [runners] environment)
    r = runner("docker", docker=DockerSection(), environment=(var(F.NETWORK_PER_BUILD_FF, "true"),))
    assert F.flag_on(r, F.NETWORK_PER_BUILD_FF, {}) is True
    assert F.flag_on(r, F.NETWORK_PER_BUILD_FF, {F.NETWORK_PER_BUILD_FF: var("x", "false")}) is False


# --- executors ------------------------------------------------------------------------------------


def test_docker_windows_is_a_docker_executor_for_every_rule() -> None:
    win = runner("docker-windows", docker=DockerSection())
    assert u.is_docker_executor(win)
    assert u.honors_entrypoint(win)  # the Docker executors start the image's ENTRYPOINT


@pytest.mark.parametrize("executor", ["ssh", "virtualbox", "parallels", "instance", "custom"])
def test_containerless_executors_are_not_the_shell_executor(executor: str) -> None:
    r = runner(executor)
    assert u.is_shell(r) and F.is_shell(r)  # no job container: image, services, ENTRYPOINT moot
    assert not u.is_shell_executor(r)  # but not this host's shell executor (group, login, --live)
    assert u.is_shell_executor(runner("shell"))


RUNNER = """
[[runners]]
  name = "r"
  executor = "{executor}"
  [runners.{section}]
    {setting}
"""
DOCKER = RUNNER.format(executor="docker", section="docker", setting='image = "x"')


def test_br601_ignores_the_image_of_a_job_on_an_ssh_runner() -> None:
    # the SSH executor runs the script on the remote host and never pulls image:, so the image
    # lacking a docker client says nothing (before: "docker: not found" claimed for alpine)
    ci = """
    build:
      image: alpine:3.20
      script:
        - docker build -t app .
    """
    ssh = RUNNER.format(executor="ssh", section="ssh", setting='host = "build.example.com"')
    assert run("br601_docker_missing", ctx(ci, ssh)) == []
    assert len(run("br601_docker_missing", ctx(ci, DOCKER))) == 1


# --- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "dind"),
    [
        # docker-library/docker 24/git/Dockerfile: FROM docker:24-dind
        ("docker:27-git", True),
        ("docker:git", True),
        # docker-library/docker 29/windows/*/Dockerfile delete dockerd.exe: client only
        ("docker:windowsservercore-ltsc2022", False),
        ("docker:29.4.3-windowsservercore-ltsc2025", False),
        ("docker:29-dind", True),
        ("docker:29.7.2-cli", False),
        ("docker", True),
    ],
)
def test_docker_image_variants(image: str, dind: bool) -> None:
    assert F.is_dind_service(ServiceSpec(name=image)) is dind
    assert u.is_dind_service(ServiceSpec(name=image)) is dind


def test_the_default_image_is_known_only_when_the_runners_agree() -> None:
    job = Job(name="j", stage="test", loc=Loc(".gitlab-ci.yml", 1))
    alpine = runner("docker", docker=DockerSection(image="alpine:3.20"))
    cli = runner("docker", docker=DockerSection(image="docker:29.7.2-cli"))
    bare = runner("docker", docker=DockerSection())
    # before, the B rules took the first runner's image: the answer hung on config.toml's order
    assert u.image_name(job, [alpine, cli]) is None
    assert u.image_name(job, [cli, alpine]) is None
    assert u.image_name(job, [alpine, bare]) == "alpine:3.20"
    kube = runner("kubernetes", kubernetes=KubernetesSection(image="alpine:3.20"))
    assert u.image_name(job, [alpine, kube]) == "alpine:3.20"
    own = Job(name="j", stage="test", loc=Loc(".gitlab-ci.yml", 1), image=ImageSpec(name="docker:cli"))
    assert u.image_name(own, [alpine, cli]) == "docker:cli"


# --- script lines ---------------------------------------------------------------------------------


def test_backslash_continued_lines_are_one_command_for_the_engine_rules_too() -> None:
    job = Job(
        name="j",
        stage="test",
        loc=Loc(".gitlab-ci.yml", 1),
        before_script=("until \\\n  docker info; do sleep 1; done",),
        after_script=("docker logout",),
    )
    lines = F.script_lines(job)
    assert [ln.text for ln in lines] == ["until    docker info; do sleep 1; done"]
    # BR113 asks this: before, "until \" and "docker info; ..." were two lines and no wait was seen
    assert F.waits_for_daemon(lines)
    assert [ln.key for ln in F.script_lines(job, after=True)] == ["before_script", "after_script"]


def test_br502_does_not_blame_a_vm_runner_for_a_missing_fuse_device() -> None:
    # a VirtualBox job runs Buildah on the VM itself: no overlay root to stack on, no container to
    # give /dev/fuse to, so nothing to report
    ci = """
    build:
      image: quay.io/buildah/stable:v1.38
      script:
        - buildah bud -t app .
    """
    vbox = RUNNER.format(executor="virtualbox", section="virtualbox", setting='base_name = "debian"')
    assert run("br502_overlay_on_overlay", ctx(ci, vbox)) == []
    assert "runner 'r'" in run("br502_overlay_on_overlay", ctx(ci, DOCKER))[0].message
