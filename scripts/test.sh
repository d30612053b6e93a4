#!/usr/bin/env bash
# The test command: set up what is missing, then run the whole suite (mypy and ruff included).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
# The bench report test renders the HTML report in headless Chromium.
if ! command -v chromium >/dev/null 2>&1; then
  echo "[test] installing chromium for the report rendering test" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
fi
exec .venv/bin/python -m pytest "$@"
