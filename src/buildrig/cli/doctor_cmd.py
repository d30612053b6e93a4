"""CLI commands: doctor (registered on import)."""

from __future__ import annotations
