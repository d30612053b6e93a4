"""buildrig.doctor."""

from __future__ import annotations
