"""``buildrig bench``: measure every way of building images on the user's own Dockerfile.

- :mod:`~buildrig.bench.model` — the values: one :class:`~buildrig.bench.model.Execution` per job
  run (way, scenario, repeat, cache mode, ok, phases, total), machine facts, skipped ways.
- :mod:`~buildrig.bench.phases` — phases (services, login, build, push) timed from a job's
  timestamped log: each echoed ``$ cmd`` runs until the next one.
- :mod:`~buildrig.bench.buildlog` — what the build output says: steps taken from a layer cache
  (a cold run must have none), and the build command's time on the cache and on pushing layers.
- :mod:`~buildrig.bench.stats` — median/min/max over repeats, ratio to the shell way, the measured
  ranking beside the seed's theoretical one (the seed's five ways and the extra ways apart), the
  issue's targets, and each way's floor phase by phase with why a missed target is missed.
- :mod:`~buildrig.bench.orchestrate` — the loop (cold → warm → change per workspace, repeats
  outermost), input checks, the default change file, engine death and interrupts.
- :mod:`~buildrig.bench.backend` — the real backend: scratch copy → ``init`` → ``run``, against the
  test bed's registry, with the host-daemon ways' build cache isolated per repeat; :mod:`~buildrig.trial`
  (``buildrig try``) is the single-shot sibling.
- :mod:`~buildrig.bench.export`, :mod:`~buildrig.bench.html`, :mod:`~buildrig.bench.table` —
  ``results.json``/``.csv``, the offline HTML report, the terminal table.
"""

from __future__ import annotations
