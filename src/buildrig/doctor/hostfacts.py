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

from buildrig.doctor.base import Context, Severity

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


def not_checked(ctx: Context, check: str) -> str:
    """The sentence ending a pointer: the exact check, and how doctor could settle it itself."""
    if ctx.live is not None:
        return f"(check: {check})"
    return f"(not checked: run `{check}`, or doctor --live on the runner host)"
