"""Re-parse every file ``init`` is about to write, before anything is written.

A merge that would leave the user with a file GitLab (or the runner) cannot read, or that lost
another job, key or runner, is refused with one line naming the file: the user's file is worth
more than the generated job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from tomlkit.exceptions import TOMLKitError

from buildrig.errors import BuildrigError, InputError
from buildrig.gitlab.ci import load_pipeline_text
from buildrig.gitlab.runner_config import load_runner_config_text


def _refuse(path: Path, why: str) -> InputError:
    return InputError(f"{path}: merging would {why}; nothing was written (edit the file by hand)")


def _yaml_top(text: str) -> tuple[dict[str, Any] | None, str]:
    """(top-level mapping by string key, or None with why not)."""
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return None, f"{exc.problem or exc.context or 'invalid YAML'}{where}"
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not isinstance(doc, dict):
        return None, "the top level is not a mapping"
    return {str(k): v for k, v in doc.items()}, ""


def _pipeline_ok(text: str, path: Path) -> bool:
    try:
        load_pipeline_text(text, path)
    except BuildrigError:
        return False
    return True


def check_ci(old: str | None, new: str, path: Path, job_name: str) -> None:
    """``new`` parses as YAML and as a pipeline (if ``old`` did), keeps every other top-level key
    with its value, and has the job."""
    top, why = _yaml_top(new)
    if top is None:
        raise _refuse(path, f"leave invalid YAML: {why}")
    if job_name not in top:
        raise _refuse(path, f"not add the job {job_name!r}")
    before = _yaml_top(old)[0] if old else {}
    for key, value in (before or {}).items():
        if key == job_name:
            continue
        if key not in top:
            raise _refuse(path, f"drop the top-level key {key!r}")
        if top[key] != value:
            raise _refuse(path, f"change {key!r} (an anchor of the replaced job used elsewhere?)")
    if (not old or _pipeline_ok(old, path)) and not _pipeline_ok(new, path):
        try:
            load_pipeline_text(new, path)
        except BuildrigError as exc:
            raise _refuse(path, f"make the pipeline unreadable ({exc})") from None


_RUNNER_KEYS = ("name", "url", "token", "executor")


def check_toml(old: str | None, new: str, path: Path) -> None:
    """``new`` parses (tomlkit and doctor's loader, if ``old`` passed it), keeps every top-level
    setting and every runner's name, url, token and executor."""
    try:
        after = tomlkit.parse(new).unwrap()
    except TOMLKitError:
        raise _refuse(path, "leave invalid TOML") from None
    before: dict[str, Any] = {}
    if old:
        try:
            before = tomlkit.parse(old).unwrap()
        except TOMLKitError:
            before = {}
    for key, value in before.items():
        if key != "runners" and after.get(key) != value:
            raise _refuse(path, f"change the top-level setting {key!r}")
    old_runners = before.get("runners") or []
    new_runners = after.get("runners")
    if not isinstance(new_runners, list) or len(new_runners) < len(old_runners):
        raise _refuse(path, "lose a [[runners]] entry")
    for i, r in enumerate(old_runners):
        n = new_runners[i]
        if not isinstance(n, dict) or (
            isinstance(r, dict) and any(r.get(k) != n.get(k) for k in _RUNNER_KEYS)
        ):
            raise _refuse(path, f"change runner #{i + 1}'s name, url, token or executor")
    old_ok = True
    if old:
        try:
            load_runner_config_text(old, path)
        except BuildrigError:
            old_ok = False
    if old_ok:
        try:
            load_runner_config_text(new, path)
        except BuildrigError as exc:
            raise _refuse(path, f"make the runner config unreadable ({exc})") from None
