#!/usr/bin/env bash
# The README's main job: set up what is missing, then build the bundled example through every way
# that can run on this machine, one line per way (ok / failed / skipped with the reason).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
exec .venv/bin/buildrig try examples/hello "$@"
