"""buildrig: generate, run, diagnose and benchmark container-image builds for GitLab CI."""

from __future__ import annotations

__version__ = "0.1.0"
