from __future__ import annotations

import sys

from buildrig.cli import main

sys.exit(main())
