"""buildrig.strategies."""

from __future__ import annotations
