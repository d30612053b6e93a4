"""CLI commands: strategies (registered on import)."""

from __future__ import annotations
