from __future__ import annotations

from buildrig.cli import entry

entry()
