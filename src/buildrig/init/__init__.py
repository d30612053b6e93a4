"""``buildrig init``: generate the build job, the runner config and the host set-up together.

Public API (stable; ``buildrig run`` tests and ``bench`` use it):

- :class:`InitOptions` — frozen; every ``buildrig init`` option plus the ``auto`` facts.
- :func:`plan_project(opts) -> Plan` — validate, read the existing files, render everything
  (including fresh docker_host certificates); writes nothing.
- :func:`init_project(opts) -> InitResult` — :func:`plan_project`, then a pre-flight check of
  every target, then :func:`~buildrig.fsutil.write_all`: every file or none (a failure part-way
  puts back the files already replaced). Raises :class:`~buildrig.errors.BuildrigError` on bad
  input before anything is written.

Never losing the user's content: every file is rendered in memory and re-parsed (ruamel, tomlkit,
and the loaders ``doctor``/``run`` use) before anything is written; a merge that would not parse or
would drop or change another job, key or runner is refused (:mod:`buildrig.init.check`). An
existing ``runner/config.toml`` is merged into (its url and token kept), never replaced; an existing
generated file (``SETUP.md``, host files, certificates for another address) that differs from the
new one is replaced only with ``--force``. Symlinks are neither replaced nor written through.

Files written under ``opts.out``:

- ``.gitlab-ci.yml`` — the job, merged into an existing file (other bytes kept) or new;
- ``runner/config.toml`` — a ``[[runners]]`` fragment (merged into an existing one), unless
  ``opts.runner_config`` names a config.toml to merge into (then that file is updated instead);
- ``runner/SETUP.md`` — the administrator's steps in order, with the way's warnings;
- ``runner/variables.toml`` — the project's CI/CD variables for ``buildrig run`` (docker_host: the
  three File variables of the client certificate), kept and extended on re-runs;
- ``runner/host/…`` — shell: ``runner-user.sh``; docker_host: ``docker.service.d/buildrig-tls.conf``
  and ``certs/{ca,server-cert,server-key,cert,key}.pem`` (keys 0600; reused on re-runs when they
  still name the address).
"""

from __future__ import annotations

from buildrig.init.project import InitOptions, InitResult, Plan, PlannedFile, init_project, plan_project

__all__ = ["InitOptions", "InitResult", "Plan", "PlannedFile", "init_project", "plan_project"]
