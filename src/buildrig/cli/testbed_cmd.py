"""CLI commands: testbed (registered on import)."""

from __future__ import annotations
