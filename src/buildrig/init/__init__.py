"""buildrig.init."""

from __future__ import annotations
