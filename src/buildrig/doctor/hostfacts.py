"""How a rule whose cause is a host fact grades its finding.

No file shows such a fact (group membership, the installed CLI, a dotfile, the engine's version or
security options), so the same rule says four things depending on what doctor knows:

- ``--live`` checked the fact on this machine and it holds: ERROR (the job fails every time here);
- ``--live`` checked it and it does not hold: nothing;
- the error text the user saw (``--symptom``) is the one this cause produces: WARNING, naming the
  exact check that settles it; a symptom of something else drops the pointer;
- nothing known: the pointer at the severity the files alone support (INFO unless the files show
  part of the cause), still naming the exact check, so a set-up that follows GitLab's docs gets
  no warning for a fact doctor cannot see.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from buildrig.doctor.base import Context, LiveFacts, Severity

#: a cause's symptom: a pattern searched in the error text, or a test of the whole text
Symptom = re.Pattern[str] | Callable[[str], bool]


def said(ctx: Context, symptom: Symptom) -> bool | None:
    """Whether the user's error text shows this cause's symptom (None: no text given)."""
    if not ctx.symptom:
        return None
    if isinstance(symptom, re.Pattern):
        return symptom.search(ctx.symptom) is not None
    return symptom(ctx.symptom)


def grade(
    ctx: Context,
    symptom: Symptom,
    *,
    confirmed: bool | None = None,
    shape: Severity = Severity.INFO,
) -> Severity | None:
    """The finding's severity, or None when it should not be reported.

    ``confirmed``: what ``--live`` found (None: not checked). ``shape``: the severity the files
    alone support; a WARNING from the files stands whatever the symptom says.
    """
    if confirmed is True:
        return Severity.ERROR
    if confirmed is False:
        return None
    seen = said(ctx, symptom)
    if seen is True:
        return Severity.ERROR if shape is Severity.ERROR else Severity.WARNING
    if seen is False and shape is Severity.INFO:
        return None
    return shape


_DAEMON_ANSWERED = re.compile(r"Error response from daemon:")
_NO_DAEMON = re.compile(
    r"Cannot connect to the Docker daemon|error during connect|connection refused", re.IGNORECASE
)


def daemon_answered(ctx: Context) -> bool:
    """The user's error text is a reply of the daemon the job's docker talks to, so the client
    reached it: a prediction that it cannot connect (a port or TLS mismatch that rests on a runner
    setting no file shows) did not hold where that text was printed."""
    text = ctx.symptom or ""
    return bool(_DAEMON_ANSWERED.search(text)) and not _NO_DAEMON.search(text)


def not_checked(ctx: Context, check: str) -> str:
    """The sentence ending a pointer: the exact check, and how doctor could settle it itself."""
    if ctx.live is not None:
        return f"(check: {check})"
    return f"(not checked: run `{check}`, or doctor --live on the runner host)"


def describe(live: LiveFacts) -> tuple[str, ...]:
    """What ``--live`` read, one line per topic, for the text report's footer."""
    engine = f"engine {live.engine_version} (API {live.engine_api})" if live.engine_version else "no engine"
    sock = (
        f"{live.socket_path} mode {live.socket_mode:o} group {live.socket_group}"
        if live.socket_exists and live.socket_mode is not None
        else f"{live.socket_path} absent"
    )
    via = f", {live.runner_user_source}" if live.runner_user_source else ""
    user = (
        f"runner user {live.runner_user}{via} (groups: {', '.join(live.runner_user_groups) or '-'})"
        if live.runner_user
        else "no runner user here"
    )
    cli = (
        f"docker CLI {live.docker_cli_path} (API {live.docker_cli_api or '?'})"
        if live.docker_cli_path
        else "no docker CLI on PATH"
    )

    def flag(value: bool | None) -> str:
        return "?" if value is None else ("on" if value else "off")

    host = (
        f"SELinux enforcing {flag(live.selinux_enforcing)}; userns-remap {flag(live.userns_remap)}; "
        f"seccomp default {flag(live.seccomp_default)}; AppArmor {flag(live.apparmor)}; "
        f"uplink MTU {live.uplink_mtu or '?'}; cgroup v2 {flag(live.cgroup_v2)}"
    )
    extra = [f"rootless socket {live.rootless_socket}"] if live.rootless_socket else []
    extra += [f"container runtime sockets {', '.join(live.cri_sockets)}"] if live.cri_sockets else []
    if live.runner_home:
        hazards = "; ".join(live.runner_dotfile_hazards) or "no dotfile hazard"
        extra.append(f"{live.runner_home}: {hazards}")
    return (
        f"{engine}; {sock}; DOCKER_HOST {live.docker_host or 'unset'}; {user}",
        f"{cli}; {host}",
        *extra,
        *live.notes,
    )
