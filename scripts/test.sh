#!/usr/bin/env bash
# The test command: set up what is missing, then run the whole suite (mypy and ruff included).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
