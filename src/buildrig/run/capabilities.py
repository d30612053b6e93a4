"""The privileged fallback's capability probing: which capabilities this host's bounding set lacks
(what makes ``docker run --privileged`` fail here) and whether the fallback is allowed."""

from __future__ import annotations

import os
import re
from typing import Any

from buildrig import engine
from buildrig.run.executor import JobError

# Capability names by bit number (linux/capability.h), for the privileged fallback.
CAPS = (
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
)
UNCONFINED = ("seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined")

FALLBACK_ENV = "BUILDRIG_PRIVILEGED_FALLBACK"


def privileged_fallback_allowed() -> bool | None:
    """Whether a job may run with the privileged fallback when the runtime refuses --privileged:
    True (``BUILDRIG_PRIVILEGED_FALLBACK=1``), False (``=0``: the job fails instead), None (unset:
    allowed, as this project's own machine and CI need it, and reported in the job's log and in the
    run's summary like any other use)."""
    raw = os.environ.get(FALLBACK_ENV, "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "yes", "true", "on"):
        return True
    if raw in ("0", "no", "false", "off"):
        return False
    raise JobError(f"{FALLBACK_ENV}={raw!r}: expected 1 (allow) or 0 (refuse)")


def missing_caps(status_path: str = "/proc/self/status") -> list[str]:
    """Capabilities the kernel knows but this host's bounding set lacks (what makes --privileged fail)."""
    try:
        with open(status_path) as fh:
            bnd = next(int(line.split()[1], 16) for line in fh if line.startswith("CapBnd:"))
        with open("/proc/sys/kernel/cap_last_cap") as fh:
            last = int(fh.read().strip())
    except (OSError, StopIteration, ValueError):
        return []
    # Names Docker 20.10 doesn't know (PERFMON and later) can't be dropped by name; skip them.
    return [CAPS[bit] for bit in range(min(last, len(CAPS) - 1) + 1) if not bnd >> bit & 1]


#: Why each engine refused --privileged for lack of capabilities, for the life of this process:
#: that comes from the host's bounding set, which no job changes, so a second run on the same
#: engine (bench runs dozens) need not create and remove a container to learn it again (~0.3 s
#: here). Every fallback still says so in the job's log.
_REFUSED: dict[str, str] = {}


def _engine_key(ex: Any) -> str:
    """The executor's engine by address and daemon ID (docker-py gives every unix socket the same
    address) and the userns_mode its containers ask for (``host`` allows --privileged under
    userns-remap); empty when unknown, and then nothing is remembered."""
    errors: tuple[type[BaseException], ...] = (AttributeError, KeyError, TypeError, *engine.sdk_errors())
    try:
        daemon = ex.api.info()["ID"]
    except errors:
        return ""
    userns = getattr(getattr(ex, "docker", None), "userns_mode", None) or ""
    return f"{getattr(ex.api, 'base_url', '')}|{daemon}|{userns}"


def remembered_refusal(ex: Any) -> str | None:
    """Why the executor's engine refused --privileged earlier in this process, if it did."""
    return _REFUSED.get(_engine_key(ex)) if _REFUSED else None


def remember_refusal(ex: Any, why: str) -> None:
    """Keep a refusal for the engine's later runs: a missing capability only, not any failure."""
    key = _engine_key(ex) if re.search(r"apply caps", why, re.I) else ""
    if key:
        _REFUSED[key] = why
