"""buildrig.testbed."""

from __future__ import annotations
