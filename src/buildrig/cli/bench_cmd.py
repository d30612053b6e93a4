"""CLI commands: bench (registered on import)."""

from __future__ import annotations
