"""shell: the shell executor runs ``docker`` on the runner host itself (seed rank 1)."""

from __future__ import annotations

from buildrig.strategies.base import (
    DOCKER_LOGIN,
    HOST_DAEMON_CACHE,
    HostFile,
    Job,
    RenderParams,
    RunnerSpec,
    Strategy,
    build_variables,
    docker_cli_script,
    registry_step,
    restart_step,
    verify_step,
)

_CONTAINER_WHY = (
    "the shell way runs docker on the runner host itself; a {e} runner runs jobs in containers "
    "without the host's docker CLI. Use docker_sock to reach the host daemon from a container."
)

RUNNER_USER_SH = """\
#!/bin/sh
# buildrig (shell way): let the GitLab Runner build user run docker on this host.
#
# WARNING: membership of the docker group is equivalent to root on this host: every job of
# every project this runner serves can start a privileged container and mount /. Use this
# runner only for trusted projects, and never install the runner with --user root.
set -eu

RUNNER_USER="${1:-gitlab-runner}"

if [ "$RUNNER_USER" = root ]; then
    echo "refusing to run builds as root; pass a dedicated user" >&2
    exit 1
fi

if ! id "$RUNNER_USER" >/dev/null 2>&1; then
    useradd --comment 'GitLab Runner' --create-home --shell /bin/bash "$RUNNER_USER"
fi
usermod -aG docker "$RUNNER_USER"

# The service keeps running as root; --user sets who executes the shell jobs.
gitlab-runner uninstall >/dev/null 2>&1 || true
gitlab-runner install --user "$RUNNER_USER" --working-directory "/home/$RUNNER_USER"
gitlab-runner restart

# Must print the server version without sudo/permission errors.
sudo -u "$RUNNER_USER" -H docker info --format '{{.ServerVersion}}'
"""


# Every shell job runs as the same host user: with the default ~/.docker/config.json, one job's
# login overwrites another's (a job token that expires with its job) and one job's logout removes
# the login a concurrent job is pushing with ("no basic auth credentials"), and the token outlives
# the job. Each job gets its own client config instead, next to its project directory (Runner's
# RUNNER_TEMP_PROJECT_DIR, 15.7+, per concurrent slot, outside the build context): the user's
# contexts, buildx builders and CLI plugins linked in, the user's config.json copied (proxies)
# unless it sends logins to a credential helper, which every job shares; removed at the end.
# One command per line: a failure in the middle of an && list would not stop the job.
PER_JOB_DOCKER_CONFIG = "$RUNNER_TEMP_PROJECT_DIR/docker-config"
SEED_DOCKER_CONFIG = (
    ': "${RUNNER_TEMP_PROJECT_DIR:?the per-job docker config needs GitLab Runner 15.7 or later}"',
    'mkdir -p "$DOCKER_CONFIG"',
    'for f in "$HOME"/.docker/*; do if [ -e "$f" ] && [ "${f##*/}" != config.json ]; then '
    'ln -sfn "$f" "$DOCKER_CONFIG/"; fi; done',
    'if [ -f "$HOME/.docker/config.json" ] && ! grep -qE \'"cred(sStore|Helpers)"\' '
    '"$HOME/.docker/config.json"; then cp "$HOME/.docker/config.json" "$DOCKER_CONFIG/"; fi',
)


def render_job(p: RenderParams) -> Job:
    return {
        "stage": p.stage,
        "variables": {**build_variables(p), "DOCKER_CONFIG": PER_JOB_DOCKER_CONFIG},
        "before_script": [*SEED_DOCKER_CONFIG, "docker info", DOCKER_LOGIN],
        "script": docker_cli_script(p, registry_cache=False),
        # The job's own config holds its token: removing it is the logout (`docker logout` would
        # also erase a credential helper's entry that concurrent jobs share).
        "after_script": ['rm -rf "$DOCKER_CONFIG"'],
    }


def render_runner(p: RenderParams) -> RunnerSpec:
    return RunnerSpec(executor=p.executor)


def render_host(p: RenderParams) -> tuple[HostFile, ...]:
    return (HostFile("runner-user.sh", RUNNER_USER_SH, 0o755),)


def setup_steps(p: RenderParams) -> tuple[str, ...]:
    return (
        "Install Docker Engine on the runner host and check it runs: `docker info`.",
        'Install GitLab Runner and register a runner with executor "shell" '
        "(`gitlab-runner register --executor shell ...`).",
        "Run `sh runner/host/runner-user.sh gitlab-runner` as root: it adds the build user to the "
        "docker group and reinstalls the service with `gitlab-runner install --user gitlab-runner`. "
        "WARNING: the docker group is root-equivalent on this host; never use `--user root`.",
        "Merge the generated `config.toml` into `/etc/gitlab-runner/config.toml` (only "
        '`executor = "shell"` is needed).',
        "Layer cache: the host's " + HOST_DAEMON_CACHE,
        registry_step(),
        restart_step(),
        verify_step(p),
    )


STRATEGY = Strategy(
    name="shell",
    title="Shell executor, host Docker",
    summary="The shell executor runs docker on the runner host; no container is created.",
    executors=("shell",),
    refusals=tuple((e, _CONTAINER_WHY.format(e=e)) for e in ("docker", "docker-autoscaler", "kubernetes")),
    needs_privileged=False,
    needs_host_daemon=True,
    isolated=False,
    isolation="none: every job shares the host daemon, its images and containers (not its registry login)",
    persistent_cache=True,
    layer_cache="host daemon keeps every layer between jobs",
    speed_rank=1,
    security_notes=(
        "The build user is in the docker group, which is root on the runner host.",
        "Never install the runner with `--user root`; use a dedicated user.",
        "Jobs can see and remove each other's containers and images.",
    ),
    images=(),
    render_job=render_job,
    render_runner=render_runner,
    render_host=render_host,
    setup_steps=setup_steps,
)
