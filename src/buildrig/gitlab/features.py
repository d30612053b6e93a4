"""GitLab Runner feature flags: where a job's value comes from (read at v17.9.3).

common/build_settings.go:217-244 (populateFeatureFlags): for each flag, ``[runners.feature_flags]``
wins when it names the flag, true or false; otherwise the job's variables decide — every variable
the job has, so the runner's ``environment`` entries too, with the job's own above them (the last
definition wins, common/variables.go:86-91; runner entries come before the job's,
common/build.go:1345-1350). The value is read with Go's ``strconv.ParseBool``; anything else keeps
the flag's default (helpers/featureflags/flags.go).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

NETWORK_PER_BUILD = "FF_NETWORK_PER_BUILD"
KUBERNETES_HONOR_ENTRYPOINT = "FF_KUBERNETES_HONOR_ENTRYPOINT"
DISABLE_UMASK_FOR_DOCKER_EXECUTOR = "FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR"
USE_INIT_WITH_DOCKER_EXECUTOR = "FF_USE_INIT_WITH_DOCKER_EXECUTOR"
SCRIPT_SECTIONS = "FF_SCRIPT_SECTIONS"

#: Defaults of the flags buildrig reads (helpers/featureflags/flags.go:74-75, 115-116, 170-171,
#: 189-190, 292-293 at v17.9.3); a flag not listed defaults to off here.
DEFAULTS: Mapping[str, bool] = {
    NETWORK_PER_BUILD: False,
    KUBERNETES_HONOR_ENTRYPOINT: False,
    DISABLE_UMASK_FOR_DOCKER_EXECUTOR: False,
    USE_INIT_WITH_DOCKER_EXECUTOR: False,
    SCRIPT_SECTIONS: False,
}

_GO_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def go_bool(text: str) -> bool | None:
    """Go's ``strconv.ParseBool``: None for anything it refuses (" true", "yes", "on")."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    return None


def flag_on(
    flag: str,
    runner_flags: Mapping[str, bool],
    variable: Callable[[str], str | None],
) -> bool:
    """The flag's value for a job: ``runner_flags`` is ``[runners.feature_flags]``, ``variable``
    gives the job's final value of a variable (job variables over the runner's environment)."""
    if flag in runner_flags:
        return runner_flags[flag]
    default = DEFAULTS.get(flag, False)
    raw = variable(flag)
    if raw is None:
        return default
    parsed = go_bool(raw)
    return default if parsed is None else parsed
