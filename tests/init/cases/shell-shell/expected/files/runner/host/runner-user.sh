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
