"""Where buildrig keeps its own state (registry certs, image cache keys, testbed daemons)."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """``$BUILDRIG_HOME``, else ``$XDG_STATE_HOME/buildrig``, else ``~/.local/state/buildrig``."""
    env = os.environ.get("BUILDRIG_HOME")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "buildrig"
