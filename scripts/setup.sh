#!/usr/bin/env bash
# Set-up shared by the README's two commands and CI: Debian packages, a running Docker Engine,
# and a virtualenv with buildrig installed. Idempotent: a second run only checks.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[setup] %s\n' "$*" >&2; }

PKGS=(docker.io docker-registry debootstrap busybox-static buildah containernetworking-plugins
      openssl ca-certificates iptables git python3 python3-venv)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Start a Docker Engine only when none answers; never touch one we did not start.
if ! docker info >/dev/null 2>&1; then
  log "no Docker Engine answers: starting dockerd (log: /var/log/buildrig-dockerd.log)"
  if ! pgrep -x containerd >/dev/null && command -v containerd >/dev/null; then
    nohup containerd >/var/log/buildrig-containerd.log 2>&1 &
    sleep 1
  fi
  nohup dockerd >/var/log/buildrig-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up; see /var/log/buildrig-dockerd.log"; exit 1; }
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PY --version 2>&1)"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c 'import buildrig, pytest, check_jsonschema' >/dev/null 2>&1 \
   || [ pyproject.toml -nt .venv/.installed ]; then
  log "installing buildrig and its test dependencies into .venv"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/.installed
fi

# Stand-in images and the local registry for the offline test bed (end-to-end tests, the example).
# Cached by recipe hash: a second run finds every image and takes a few seconds.
if [ "${BUILDRIG_SKIP_IMAGES:-}" != 1 ]; then
  if .venv/bin/buildrig images list >/dev/null 2>&1; then
    log "stand-in images: checking the cache (buildrig images prepare --offline)"
  else
    log "stand-in images missing: building them from Debian packages (a few minutes, once)"
  fi
  .venv/bin/buildrig images prepare --offline >&2
fi
