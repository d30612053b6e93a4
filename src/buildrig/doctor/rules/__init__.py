"""buildrig.doctor.rules."""

from __future__ import annotations
