"""The host names a service answers to, as GitLab Runner gives them (read at v17.9.3).

Every service gets the names derived from its image *and* the aliases written for it:

- derived: the image name without tag or digest, a registry port dropped, ``/`` turned into
  ``__`` and, when that differs, into ``-`` (``tutum/wordpress`` → ``tutum__wordpress``,
  ``tutum-wordpress``; ``docker:29-dind`` → ``docker``) —
  helpers/container/services/services.go:27-75 (the port: its regexp at line 19). A name outside
  the reference grammar derives nothing (services.go:30-34), and the Docker executor then refuses
  to start it ("invalid service image name", executors/docker/docker.go:294-296).
- aliases: ``alias:`` split on commas and white space (common/network.go:473, common/config.go:1088
  for ``[[runners.docker.services]]``), appended *after* the derived names
  (executors/docker/services.go:141-144).
- Docker executor: all of these names, with or without ``FF_NETWORK_PER_BUILD``: on the per-job
  network they are the container's network aliases (executors/docker/docker.go:449-455), on the
  default bridge each becomes a ``--link`` name (executors/docker/services.go:146-171 and 121-131).
  A name another service of the job already took is skipped with "is already created. Ignoring";
  a service none of whose names is free is not started (services.go:146-150).
- Kubernetes: the pod's ``hostAliases`` get the derived names that are DNS-1123 subdomains
  (``tutum__wordpress`` is dropped) and every alias, which must be one
  (executors/kubernetes/host_aliases.go:51-80).

Names and aliases are expanded with the job's variables before all this (common/build.go:1366-1373,
common/config.go:1564-1571): callers pass expanded strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from buildrig.gitlab.imageref import match_reference

# The registry part of a name with an optional port, as services.go:19 splits it.
_NO_PORT = re.compile(r"^(.*?)(|:[0-9]+)(|/.*)$", re.DOTALL)
# k8s.io/apimachinery IsDNS1123Subdomain: lower-case labels joined by dots, at most 253 chars.
_DNS1123_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS1123 = re.compile(rf"{_DNS1123_LABEL}(?:\.{_DNS1123_LABEL})*")


def split_aliases(alias: str | None) -> tuple[str, ...]:
    """``alias:`` as the runner reads it: commas are separators like white space."""
    return tuple(alias.replace(",", " ").split()) if alias else ()


@lru_cache(maxsize=4096)
def derived_names(image: str) -> tuple[str, ...]:
    """The names the runner derives from a service image; () when the name is not a reference."""
    ref = match_reference(image)
    if ref is None:
        return ()
    m = _NO_PORT.match(ref.name)
    service = (m.group(1) + m.group(3)) if m else ref.name
    first = service.replace("/", "__")
    second = service.replace("/", "-")
    return (first,) if first == second else (first, second)


def is_dns1123_subdomain(name: str) -> bool:
    return len(name) <= 253 and _DNS1123.fullmatch(name) is not None


@dataclass(frozen=True)
class ServiceNames:
    """What one service is called on the job's network."""

    derived: tuple[str, ...]
    aliases: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        """Every name, derived first, without repeats."""
        return tuple(dict.fromkeys((*self.derived, *self.aliases)))

    @property
    def valid(self) -> bool:
        """False: the runner refuses (or, without aliases, silently skips) this service."""
        return bool(self.derived)


@lru_cache(maxsize=4096)
def service_names(image: str, alias: str | None = None) -> ServiceNames:
    return ServiceNames(derived_names(image), split_aliases(alias))


def host_names(image: str, alias: str | None = None, *, kubernetes: bool = False) -> tuple[str, ...]:
    """The names a job reaches the service by: on the Docker executor every derived name and
    alias; on Kubernetes the DNS-1123 ones of the derived names and every alias."""
    names = service_names(image, alias)
    if kubernetes:
        return tuple(dict.fromkeys((*(n for n in names.derived if is_dns1123_subdomain(n)), *names.aliases)))
    return names.all


def assign(services: Iterable[tuple[str, str | None]]) -> tuple[tuple[str, ...], ...]:
    """For each (image, alias) of a job in order, the names it is started under on the Docker
    executor; () for one the runner does not start (no name of its own left, or no valid name)."""
    taken: set[str] = set()
    out: list[tuple[str, ...]] = []
    for image, alias in services:
        names = service_names(image, alias)
        free = [n for n in (*names.derived, *names.aliases) if n not in taken]
        if not names.valid or not free:
            out.append(())
            continue
        taken.update(free)
        out.append(names.all)
    return tuple(out)


def answers_to(host: str, services: Sequence[tuple[str, str | None]], *, kubernetes: bool = False) -> bool:
    """Whether some service of the job answers to ``host``."""
    return any(host in host_names(image, alias, kubernetes=kubernetes) for image, alias in services)
