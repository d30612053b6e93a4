"""buildrig.gitlab."""

from __future__ import annotations
