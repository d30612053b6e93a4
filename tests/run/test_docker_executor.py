"""``buildrig run`` with the Docker executor on the real engine (busybox images built by conftest)."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from buildrig.gitlab.model import Runner
from buildrig.run import RegistryInfo, RunResult
from buildrig.run.capabilities import missing_caps
from buildrig.run.model import strip_ansi

Runfn = Callable[..., RunResult]
MkRunner = Callable[..., Runner]

pytestmark = pytest.mark.engine


def test_echo_each_command_and_succeed(run_yaml: Runfn) -> None:
    res = run_yaml("job:\n  image: <plain>\n  script:\n    - echo hello\n    - echo 'it''s'\n")
    job = res.jobs[0]
    assert (job.status, job.exit_code, res.exit_code) == ("success", 0, 0)
    text = job.text.splitlines()
    assert "$ echo hello" in text and "hello" in text
    assert text.index("$ echo hello") < text.index("hello")
    assert "$ echo 'it'\"'\"'s'" not in text  # echoed as written, not as quoted for the shell
    assert "$ echo 'it''s'" in text
    cmd = next(line for line in job.lines if line.is_command)
    assert cmd.text.startswith("\x1b[32;1m$ echo hello")  # the runner's bold green
    assert text[-1] == "Job succeeded"


def test_first_failing_command_fails_with_its_code_and_after_script_runs(run_yaml: Runfn) -> None:
    res = run_yaml(
        "job:\n  image: <plain>\n"
        "  script:\n    - echo one\n    - sh -c 'exit 7'\n    - echo never-printed\n"
        "  after_script:\n    - echo after status=$CI_JOB_STATUS\n    - exit 3\n"
    )
    job = res.jobs[0]
    assert (job.status, job.exit_code, res.exit_code) == ("failed", 7, 7)
    assert "never-printed" not in job.text
    assert "after status=failed" in job.text
    assert "after_script failed, but job will continue unaffected: exit code 3" in job.text
    assert job.text.splitlines()[-1] == "ERROR: Job failed: exit code 7"


def test_after_script_failure_keeps_success_and_sees_build_dir(run_yaml: Runfn) -> None:
    res = run_yaml(
        "job:\n  image: <plain>\n  script:\n    - echo built > artefact.txt\n"
        "  after_script:\n    - cat artefact.txt\n    - echo status=$CI_JOB_STATUS\n    - false\n"
    )
    job = res.jobs[0]
    assert job.status == "success" and res.exit_code == 0
    lines = job.text.splitlines()
    assert "built" in lines and "status=success" in lines


def test_after_script_runs_in_the_job_container_and_sees_its_tmp(run_yaml: Runfn) -> None:
    # GitLab Runner starts the job container again for after_script: files the script left
    # outside the build directory are still there, and the after_script output comes once.
    res = run_yaml(
        "job:\n  image: <plain>\n  script:\n    - echo from-script > /tmp/left-by-script\n"
        "    - echo script-line\n"
        "  after_script:\n    - cat /tmp/left-by-script\n    - echo after=$CI_JOB_STATUS\n"
    )
    job = res.jobs[0]
    assert job.status == "success"
    lines = job.text.splitlines()
    assert "from-script" in lines and "after=success" in lines
    assert lines.count("script-line") == 1 and lines.count("after=success") == 1
    assert lines.index("script-line") < lines.index("Running after script...") < lines.index("from-script")


def test_pipefail_when_the_shell_has_it(run_yaml: Runfn) -> None:
    # bash (detected like the runner does) gets pipefail: a failing left side fails the job.
    res = run_yaml("job:\n  image: <bash>\n  script:\n    - echo shell=$BUILDRIG_TEST_SHELL\n")
    assert "shell=bash" in res.jobs[0].text.splitlines()


def test_image_entrypoint_kept_and_overridable(run_yaml: Runfn) -> None:
    res = run_yaml(
        "a:\n  image: <entry>\n  script:\n    - echo ep=$FROM_ENTRYPOINT\n"
        "b:\n  image:\n    name: <entry>\n    entrypoint: ['']\n  script:\n"
        "    - echo ep=${FROM_ENTRYPOINT:-none}\n"
    )
    assert "ep=yes" in res.job("a").text.splitlines()  # type: ignore[union-attr]
    assert "ep=none" in res.job("b").text.splitlines()  # type: ignore[union-attr]


def test_masked_values_never_shown(run_yaml: Runfn) -> None:
    res = run_yaml(
        "variables:\n  TOKEN: s3cr3t-value\njob:\n  image: <plain>\n  script:\n"
        "    - echo token=$TOKEN twice=$TOKEN$TOKEN\n    - echo job=$CI_JOB_TOKEN\n"
        "    - echo reg=$CI_REGISTRY_PASSWORD\n",
        masked=("TOKEN",),
        registry=RegistryInfo(host="registry.test:5443", user="ci", password="registry-password-1"),
    )
    text = res.jobs[0].text
    assert "s3cr3t-value" not in text and "registry-password-1" not in text and "glcbt-" not in text
    assert "token=[MASKED] twice=[MASKED][MASKED]" in text
    assert "job=[MASKED]" in text and "reg=[MASKED]" in text


def test_variables_precedence_expansion_and_predefined(
    run_yaml: Runfn, docker_runner: MkRunner, tmp_path: Path
) -> None:
    secret = tmp_path / "cfg.txt"
    secret.write_text("line-from-file\n")
    res = run_yaml(
        "variables:\n  A: global\n  B: global-b\n  RAW:\n    value: '$A-raw'\n    expand: false\n"
        "job:\n  image: <plain>\n  variables:\n    A: job\n    C: '$A/$B/${CI_PROJECT_NAME}'\n"
        "  script:\n    - echo A=$A B=$B C=$C RAW=$RAW\n    - echo dir=$CI_PROJECT_DIR pwd=$(pwd)\n"
        "    - echo reg=$CI_REGISTRY img=$CI_REGISTRY_IMAGE user=$CI_REGISTRY_USER\n"
        '    - echo file=$CFG; cat "$CFG"\n'
        "    - echo ci=$CI gl=$GITLAB_CI stage=$CI_JOB_STAGE name=$CI_JOB_NAME\n"
        "    - echo env=$RUNNER_ENV\n",
        variables={"B": "from-cli"},
        file_variables={"CFG": secret},
        namespace="grp",
        registry=RegistryInfo(host="registry.test:5443", user="ci-user", password="pw-12345678"),
        runner=docker_runner(environment={"RUNNER_ENV": "yes"}),
    )
    job = res.jobs[0]
    lines = job.text.splitlines()
    assert job.status == "success", job.text
    assert "A=job B=from-cli C=job/from-cli/proj RAW=$A-raw" in lines
    assert "dir=/builds/grp/proj pwd=/builds/grp/proj" in lines
    assert "reg=registry.test:5443 img=registry.test:5443/grp/proj user=ci-user" in lines
    assert "file=/builds/grp/proj.tmp/CFG" in lines and "line-from-file" in lines
    assert "ci=true gl=true stage=test name=job" in lines
    assert "env=yes" in lines


def test_project_is_a_copy_with_git_facts(run_yaml: Runfn, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / ".gitignore").write_text("ignored.txt\n")
    (proj / "ignored.txt").write_text("x")
    (proj / "src.txt").write_text("original\n")

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(proj), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "Feature/Big_Thing")
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first line\n\nbody")
    sha = subprocess.run(
        ["git", "-C", str(proj), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    res = run_yaml(
        "job:\n  image: <plain>\n  script:\n    - cat src.txt\n"
        "    - test ! -e ignored.txt && echo no-ignored\n"
        "    - test -d .git && echo has-git\n    - echo changed > src.txt\n"
        "    - echo $CI_COMMIT_SHA $CI_COMMIT_SHORT_SHA $CI_COMMIT_REF_NAME $CI_COMMIT_REF_SLUG\n"
        "    - echo branch=$CI_COMMIT_BRANCH tag=${CI_COMMIT_TAG:-none} title=$CI_COMMIT_TITLE\n"
    )
    lines = res.jobs[0].text.splitlines()
    assert "original" in lines and "no-ignored" in lines and "has-git" in lines
    assert f"{sha} {sha[:8]} Feature/Big_Thing feature-big-thing" in lines
    assert "branch=Feature/Big_Thing tag=none title=first line" in lines
    assert (proj / "src.txt").read_text() == "original\n"  # the job changed its copy only


def test_services_aliases_variables_and_wait(run_yaml: Runfn) -> None:
    # The service only listens after 2 s: the job's first connection works only if we waited.
    res = run_yaml(
        "job:\n  image: <plain>\n  variables:\n    JOBVAR: from-job\n"
        "  services:\n    - name: <svc>\n      alias: pong, other\n"
        "      command: ['sh', '-c',\n"
        "                'echo booting; sleep 2;\n"
        "                 exec nc -ll -p 7777 -e echo pong-$JOBVAR-${CI_JOB_TOKEN:-notoken}']\n"
        "  script:\n    - nc -w 2 pong 7777 </dev/null\n    - nc -w 2 other 7777 </dev/null\n"
        "    - nc -w 2 buildrig-test__pong-svc 7777 </dev/null\n"
        "    - nc -w 2 buildrig-test-pong-svc 7777 </dev/null\n"
    )
    job = res.jobs[0]
    assert job.status == "success", job.text
    # Job variables reach the service; masked ones (CI_JOB_TOKEN) don't, as with the runner.
    assert job.text.splitlines().count("pong-from-job-notoken") == 4
    assert "Waiting for services to be up and running (timeout 30 seconds)..." in job.text
    assert "probably didn't start properly" not in job.text


def test_service_timeout_warns_with_its_log_and_goes_on(run_yaml: Runfn, docker_runner: MkRunner) -> None:
    res = run_yaml(
        "job:\n  image: <plain>\n  services:\n    - name: <svc>\n"
        "      command: ['sh', '-c', 'echo never-listening; sleep 60']\n  script:\n    - echo job-ran\n",
        runner=docker_runner(wait_for_services_timeout=1),
    )
    job = res.jobs[0]
    text = job.text
    assert job.status == "success"
    assert "probably didn't start properly." in text
    assert "Health check error:" in text and "timeout" in text
    assert "never-listening" in text  # the service's log is shown
    assert text.index("*********") < text.index("job-ran")


def test_healthcheck_tcp_port_respected(run_yaml: Runfn, docker_runner: MkRunner) -> None:
    # The image exposes 7777 but the service listens on 8888 only after 2 s; HEALTHCHECK_TCP_PORT names it.
    res = run_yaml(
        "job:\n  image: <plain>\n  services:\n    - name: <svc>\n      alias: s\n"
        "      variables:\n        HEALTHCHECK_TCP_PORT: '8888'\n"
        "      command: ['sh', '-c', 'sleep 2; exec nc -ll -p 8888 -e echo up']\n"
        "  script:\n    - nc -w 2 s 8888 </dev/null\n",
        runner=docker_runner(wait_for_services_timeout=15),
    )
    job = res.jobs[0]
    assert job.status == "success", job.text
    assert "up" in job.text.splitlines()


def test_bare_volume_shared_by_job_and_service(run_yaml: Runfn, docker_runner: MkRunner) -> None:
    res = run_yaml(
        "job:\n  image: <plain>\n  services:\n    - name: <svc>\n      alias: s\n"
        "      command: ['sh', '-c',\n"
        "                'echo from-service > /shared/note; exec nc -ll -p 7777 -e echo ok']\n"
        "  script:\n    - cat /shared/note\n",
        runner=docker_runner(volumes=("/shared",)),
    )
    job = res.jobs[0]
    assert job.status == "success", job.text
    assert "from-service" in job.text.splitlines()


def test_builds_dir_is_a_job_volume_shared_with_services_and_removed(
    run_yaml: Runfn, docker_runner: MkRunner
) -> None:
    import docker

    res = run_yaml(
        "job:\n  image: <plain>\n  services:\n    - name: <svc>\n      alias: s\n"
        "      command: ['sh', '-c', 'echo from-service > /builds/note; exec nc -ll -p 7777 -e echo ok']\n"
        "  script:\n    - grep -c ' /builds ' /proc/self/mountinfo\n    - cat /builds/note\n"
        "    - test -f \"$CI_PROJECT_DIR/.gitlab-ci.yml\"\n",
        runner=docker_runner(),
    )
    job = res.jobs[0]
    assert job.status == "success", job.text
    assert "from-service" in job.text.splitlines()
    client = docker.from_env()
    left = [v.name for v in client.volumes.list() if v.name.endswith("-builds") and res.run_id in v.name]
    assert left == []


def test_builds_dir_volume_gives_way_to_a_volumes_entry(
    run_yaml: Runfn, docker_runner: MkRunner, tmp_path: Path
) -> None:
    host = tmp_path / "hostbuilds"
    host.mkdir()
    res = run_yaml(
        "job:\n  image: <plain>\n  script:\n    - echo kept > /builds/marker\n",
        runner=docker_runner(volumes=(f"{host}:/builds",)),
    )
    assert res.jobs[0].status == "success", res.jobs[0].text
    assert (host / "marker").read_text() == "kept\n"


def test_privileged_falls_back_when_refused(run_yaml: Runfn, docker_runner: MkRunner) -> None:
    res = run_yaml(
        "job:\n  image: <plain>\n  script:\n    - grep CapEff /proc/self/status\n",
        runner=docker_runner(privileged=True),
    )
    job = res.jobs[0]
    assert job.status == "success", job.text
    cap_eff = int(next(line for line in job.text.splitlines() if line.startswith("CapEff:")).split()[1], 16)
    assert cap_eff >> 21 & 1  # CAP_SYS_ADMIN, which only privileged (or the fallback) grants
    warned = "refused privileged mode" in job.text
    assert warned == bool(missing_caps()), job.text


def test_pull_policy_never_and_image_map(
    run_yaml: Runfn, docker_runner: MkRunner, images: dict[str, str]
) -> None:
    res = run_yaml(
        "missing:\n  image: docker.invalid/nothing:1\n  script:\n    - echo x\n"
        "mapped:\n  stage: deploy\n  image: docker:29.7.2-cli\n  script:\n    - echo mapped-ok\n",
        runner=docker_runner(pull_policy=("never",)),
        image_overrides={"docker:29.7.2-cli": images["plain"]},
        jobs=("missing", "mapped"),
    )
    missing, mapped = res.job("missing"), res.job("mapped")
    assert missing is not None and mapped is not None
    assert missing.status == "failed"
    assert 'failed to pull image "docker.invalid/nothing:1" with specified policies [never]' in (
        missing.reason or ""
    )
    assert mapped.status == "success" and "mapped-ok" in mapped.text.splitlines()


def test_stage_order_and_skip_after_failure(run_yaml: Runfn) -> None:
    res = run_yaml(
        "stages: [one, two, three]\n"
        "late:\n  stage: three\n  image: <plain>\n  script: [echo late]\n"
        "cleanup:\n  stage: three\n  when: always\n  image: <plain>\n  script: [echo cleanup]\n"
        "bad:\n  stage: two\n  image: <plain>\n  script: [exit 4]\n"
        "first:\n  stage: one\n  image: <plain>\n  script: [echo first]\n"
        "manual:\n  stage: one\n  when: manual\n  image: <plain>\n  script: [echo manual]\n"
    )
    assert [(j.name, j.status) for j in res.jobs] == [
        ("first", "success"),
        ("bad", "failed"),
        ("late", "skipped"),
        ("cleanup", "success"),
    ]
    assert res.exit_code == 4


def test_log_lines_stream_to_sink_with_monotonic_times(run_yaml: Runfn) -> None:
    seen: list[Any] = []
    res = run_yaml(
        "job:\n  image: <plain>\n  script:\n    - echo a\n    - sleep 1\n    - echo b\n", sink=seen.append
    )
    assert [strip_ansi(x.text) for x in seen] == [strip_ansi(x.text) for x in res.jobs[0].lines]
    times = {strip_ansi(x.text): x.t for x in seen}
    assert times["b"] - times["a"] >= 0.9  # lines are stamped when they arrive, not at the end
    assert all(a.t <= b.t for a, b in itertools.pairwise(seen))


def test_job_timeout_kills_the_job(run_yaml: Runfn) -> None:
    res = run_yaml(
        "job:\n  image: <plain>\n  timeout: 2 seconds\n  script:\n    - echo start\n    - sleep 60\n"
    )
    job = res.jobs[0]
    assert job.status == "failed" and res.exit_code != 0
    assert job.reason == "execution took longer than 0h0m2s seconds"
    assert job.duration < 20


ARTIFACT_YAML = (
    "stages: [build, test]\n"
    "build:\n  stage: build\n  image: <plain>\n  script:\n"
    "    - mkdir -p dist/sub logs\n    - echo bin > dist/app.bin\n    - echo deep > dist/sub/x.txt\n"
    "    - echo top > notes.txt\n    - echo log > logs/l.log\n"
    "  artifacts:\n    paths: [dist/, '*.txt', missing/]\n"
    "use:\n  stage: test\n  image: <plain>\n  script:\n"
    "    - cat dist/app.bin dist/sub/x.txt notes.txt\n    - test ! -e logs && echo no-logs\n"
    "isolated:\n  stage: test\n  image: <plain>\n  dependencies: []\n  script:\n"
    "    - test ! -e dist && echo no-dist\n"
)


def test_artifacts_reach_later_stages(run_yaml: Runfn) -> None:
    res = run_yaml(ARTIFACT_YAML)
    build, use, isolated = (res.job(n) for n in ("build", "use", "isolated"))
    assert build is not None and use is not None and isolated is not None
    assert res.exit_code == 0, use.text
    assert "dist/: found 2 matching artifact files and directories" in build.text
    assert "missing/: no matching files" in build.text
    assert [line for line in use.text.splitlines() if line in ("bin", "deep", "top", "no-logs")] == [
        "bin",
        "deep",
        "top",
        "no-logs",
    ]
    assert "no-dist" in isolated.text.splitlines()


def test_rules_pick_jobs_and_set_variables(run_yaml: Runfn) -> None:
    yaml = (
        "on-tag:\n  image: <plain>\n  rules:\n    - if: $CI_COMMIT_TAG\n  script: [echo tagged]\n"
        "always:\n  image: <plain>\n  rules:\n    - if: $CI_COMMIT_TAG\n      when: never\n"
        "    - when: on_success\n      variables:\n        FROM_RULE: yes-rule\n"
        "  script: [echo v=$FROM_RULE]\n"
    )
    res = run_yaml(yaml)
    on_tag, always = res.job("on-tag"), res.job("always")
    assert on_tag is not None and always is not None
    assert on_tag.status == "skipped" and "no rule matched" in (on_tag.reason or "")
    assert always.status == "success" and "v=yes-rule" in always.text.splitlines()
    forced = run_yaml(yaml, jobs=("on-tag",)).jobs[0]
    assert forced.status == "success" and "a push pipeline would not run this job" in forced.text


def test_git_strategy_none_starts_empty(run_yaml: Runfn) -> None:
    res = run_yaml(
        "job:\n  image: <plain>\n  variables:\n    GIT_STRATEGY: none\n  script:\n"
        "    - test ! -e .gitlab-ci.yml && echo empty-dir\n",
        files={"src.txt": "x"},
    )
    assert "empty-dir" in res.jobs[0].text.splitlines()


def test_debug_services_streams_service_output(run_yaml: Runfn) -> None:
    res = run_yaml(
        "job:\n  image: <plain>\n  variables:\n    CI_DEBUG_SERVICES: 'true'\n"
        "  services:\n    - name: <svc>\n      alias: chatty\n"
        "      command: ['sh', '-c', 'echo hello-from-service; exec nc -ll -p 7777 -e echo ok']\n"
        "  script:\n    - sleep 1\n",
    )
    # every name of the service, joined by "-": derived from the image, then the alias
    names = "buildrig-test__pong-svc-buildrig-test-pong-svc-chatty"
    assert f"[service:{names}] hello-from-service" in res.jobs[0].text.splitlines()


def test_cache_kept_between_runs(run_yaml: Runfn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILDRIG_HOME", str(tmp_path / "state"))
    yaml = (
        "job:\n  image: <plain>\n  cache:\n    key: deps-$CI_COMMIT_REF_SLUG\n    paths: [.deps/]\n"
        "  script:\n    - cat .deps/stamp || echo cold\n    - mkdir -p .deps && echo warm > .deps/stamp\n"
    )
    first = run_yaml(yaml).jobs[0]
    assert "cold" in first.text.splitlines() and "Failed to extract cache" in first.text
    assert "Created cache (1 files)" in first.text
    second = run_yaml(yaml).jobs[0]
    assert "Successfully extracted cache (1 files)" in second.text
    assert "warm" in second.text.splitlines() and "cold" not in second.text.splitlines()
    assert list((tmp_path / "state" / "cache").rglob("deps-*.tar"))


def test_a_cache_scope_keeps_cache_volumes_between_runs_until_removed(
    run_yaml: Runfn, docker_runner: MkRunner
) -> None:
    import docker

    from buildrig.run.cleanup import remove_cache

    runner = docker_runner(volumes=("/keep",))
    job = "job:\n  image: <plain>\n  script:\n    - cat /keep/note || true\n    - echo {} > /keep/note\n"
    client = docker.from_env()
    scope = f"t{os.getpid()}"
    try:
        first = run_yaml(job.format("first"), runner=runner, cache_scope=scope).jobs[0]
        second = run_yaml(job.format("second"), runner=runner, cache_scope=scope).jobs[0]
        assert first.status == second.status == "success", first.text + second.text
        assert "first" not in first.text.splitlines() and "first" in second.text.splitlines()
        kept = [v.name for v in client.volumes.list(filters={"label": f"buildrig.cache-scope={scope}"})]
        assert len(kept) == 1
    finally:
        assert remove_cache(client.api, scope) == []
    assert client.volumes.list(filters={"label": f"buildrig.cache-scope={scope}"}) == []
    # without a scope the cache volume is the run's: the next run starts empty
    alone = run_yaml(job.format("third"), runner=runner).jobs[0]
    assert alone.status == "success" and "second" not in alone.text.splitlines()


@pytest.mark.parametrize("per_build", [False, True])
def test_services_see_each_other_only_on_a_network_per_build(run_yaml: Runfn, per_build: bool) -> None:
    """Without FF_NETWORK_PER_BUILD the runner creates no network: services sit on the default
    bridge and only the job gets host entries for their names (Docker's links, or ExtraHosts since
    Runner 18.7), so one service cannot resolve another; on a network per build every container
    resolves every alias."""
    flag = "  variables:\n    FF_NETWORK_PER_BUILD: 'true'\n" if per_build else ""
    res = run_yaml(
        "job:\n  image: <plain>\n" + flag + "  services:\n"
        "    - name: <svc>\n      alias: first\n"
        "      command: ['sh', '-c', 'exec nc -ll -p 7777 -e echo first']\n"
        "    - name: <svc>\n      alias: second\n"
        "      command: ['sh', '-c', 'if nslookup first >/dev/null 2>&1 || grep -qw first /etc/hosts;\n"
        "                 then r=resolved; else r=unresolved; fi; exec nc -ll -p 7777 -e echo second-$r']\n"
        "  script:\n    - nc -w 2 first 7777 </dev/null\n    - nc -w 2 second 7777 </dev/null\n"
    )
    job = res.jobs[0]
    assert job.status == "success", job.text
    lines = job.text.splitlines()
    assert "first" in lines
    assert ("second-resolved" if per_build else "second-unresolved") in lines, job.text
