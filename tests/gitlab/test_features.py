"""Feature flags as GitLab Runner v17.9.3 resolves them (common/build_settings.go:217-244)."""

from __future__ import annotations

import pytest

from buildrig.gitlab.features import KUBERNETES_HONOR_ENTRYPOINT, NETWORK_PER_BUILD, flag_on, go_bool

FF = NETWORK_PER_BUILD


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", True),
        ("t", True),
        ("TRUE", True),
        ("True", True),
        ("0", False),
        ("F", False),
        ("false", False),
        ("yes", None),
        ("on", None),
        (" true", None),
        ("", None),
    ],
)
def test_go_bool(text: str, value: bool | None) -> None:
    assert go_bool(text) is value


@pytest.mark.parametrize(
    ("runner_flags", "variable", "on"),
    [
        ({}, None, False),  # the flag's default
        ({}, "true", True),
        ({}, "yes", False),  # not a Go bool: the default stays
        ({FF: False}, "true", False),  # [runners.feature_flags] wins when it names the flag
        ({FF: True}, "false", True),
        ({KUBERNETES_HONOR_ENTRYPOINT: True}, "1", True),
    ],
)
def test_flag_on(runner_flags: dict[str, bool], variable: str | None, on: bool) -> None:
    assert flag_on(FF, runner_flags, lambda name: variable if name == FF else None) is on
