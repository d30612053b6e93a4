"""CLI commands: run (registered on import)."""

from __future__ import annotations
