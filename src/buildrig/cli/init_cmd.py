"""CLI commands: init (registered on import)."""

from __future__ import annotations
