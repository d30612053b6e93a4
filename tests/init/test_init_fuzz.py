"""Fuzzing init's merge (hypothesis, bounded): mutations of the golden inputs x ways x options.

Whatever the input: no exception but BuildrigError; on failure every file is byte-identical; on
success every written file parses, the other jobs and keys keep their values, and an added job
leaves the user's text (comments included) as the untouched prefix of the new file.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from test_init_merge import CI, TOML
from tomlkit.exceptions import TOMLKitError

from buildrig.errors import BuildrigError
from buildrig.init import InitOptions, init_project

CASES = Path(__file__).parent / "cases"
CI_INPUTS = [CI, *(p.read_text() for p in sorted(CASES.glob("*/input/project/.gitlab-ci.yml")))]
TOML_INPUTS = [
    TOML,
    *(p.read_text() for p in sorted(CASES.glob("*-docker/expected/files/runner/config.toml"))),
]

# Fragments careless and hostile users write (the cases among them).
YAML_BITS = [
    "...\n",
    "---\n",
    "{}\n",
    "build-image: &tpl\n  script: [y]\n",
    "z:\n  <<: *tpl\n",
    "123:\n  script: [n]\n",
    "stages: [lint]\n",
    "  - nested\n",
    "\t- tab\n",
    "x: !!omap\n",
    "# comment\n",
    "'quoted key':\n  script: [q]\n",
    "build-image:\n",
    "&a x: 1\n",
    "include: nothing.yml\n",
    ": \n",
    "- top list\n",
    "variables: [1, 2]\n",
]
TOML_BITS = [
    "runners = []\n",
    '[[runners]]\nname = "n"\nexecutor = "docker"\n',
    '[runners.docker]\nvolumes = "/cache"\n',
    '[runners.docker]\nprivileged = "yes"\n',
    'concurrent = "x"\n',
    '[[runners]]\nexecutor = "kubernetes"\n',
    "[runners.kubernetes.volumes]\nempty_dir = 3\n",
    "docker = 1\n",
    "# comment\n",
    "[session_server]\n",
    "= \n",
]


@st.composite
def mutated(draw: st.DrawFn, bases: list[str], bits: list[str]) -> str:
    lines = draw(st.sampled_from(bases)).splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["insert", "delete", "duplicate", "truncate"]))
        at = draw(st.integers(0, len(lines)))
        if op == "insert":
            lines.insert(at, draw(st.sampled_from(bits)))
        elif op == "delete" and lines:
            del lines[min(at, len(lines) - 1)]
        elif op == "duplicate" and lines:
            lines.insert(at, lines[min(at, len(lines) - 1)])
        elif op == "truncate":
            lines = lines[:at]
    return "".join(lines)


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def _top(text: str) -> dict[str, Any] | None:
    try:
        doc = YAML(typ="rt").load(text)
    except Exception:  # the fuzzed input itself may be anything
        return None
    return {str(k): v for k, v in doc.items()} if isinstance(doc, dict) else None


@pytest.mark.filterwarnings("ignore::ruamel.yaml.error.ReusedAnchorWarning")
@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same examples on every run: a red CI is reproducible
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    ci=st.one_of(st.none(), mutated(CI_INPUTS, YAML_BITS)),
    toml=st.one_of(st.none(), mutated(TOML_INPUTS, TOML_BITS)),
    toml_as_option=st.booleans(),
    way=st.sampled_from(["dind", "kaniko", "buildah", "buildkit", "docker_sock"]),
    job_name=st.sampled_from(["build-image", "123", "lint", "deploy", "img"]),
    force=st.booleans(),
)
def test_merge_never_breaks_the_users_files(
    ci: str | None, toml: str | None, toml_as_option: bool, way: str, job_name: str, force: bool
) -> None:
    tried = try_init(ci, toml, toml_as_option, way, job_name, force)
    assert damage(tried, ci, toml, job_name) is None


@dataclass(frozen=True)
class Tried:
    """One init run in a scratch directory: the error (or None), what it said, the files after."""

    error: BuildrigError | None
    messages: tuple[str, ...]
    unchanged: bool  # every file byte-identical to before
    ci: str  # .gitlab-ci.yml after
    toml: str  # the runner config after


def try_init(
    ci: str | None, toml: str | None, toml_as_option: bool, way: str, job_name: str, force: bool
) -> Tried:
    """Exceptions other than BuildrigError propagate (they are the tracebacks)."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        out = root / "p"
        out.mkdir()
        if ci is not None:
            (out / ".gitlab-ci.yml").write_text(ci)
        use_option = toml is not None and toml_as_option
        cfg = root / "config.toml" if use_option else out / "runner" / "config.toml"
        if toml is not None:
            cfg.parent.mkdir(exist_ok=True)
            cfg.write_text(toml)
        before = _tree(root)
        opts = InitOptions(
            strategy=way, job_name=job_name, force=force, out=out, runner_config=cfg if use_option else None
        )
        error: BuildrigError | None = None
        messages: tuple[str, ...] = ()
        try:
            res = init_project(opts)
            messages = (*res.notes, *res.warnings)
        except BuildrigError as exc:
            error, messages = exc, (str(exc),)
        after = _tree(root)

        def text(path: Path) -> str:
            return after.get(str(path.relative_to(root)), b"").decode("utf-8", "replace")

        return Tried(error, messages, after == before, text(out / ".gitlab-ci.yml"), text(cfg))


def damage(tried: Tried, ci: str | None, toml: str | None, job_name: str) -> str | None:
    """What went wrong with the user's files, or None."""
    if tried.error is not None:
        return None if tried.unchanged else "changed although init failed"
    top = _top(tried.ci)
    if top is None or job_name not in top:
        return ".gitlab-ci.yml does not parse or lacks the job"
    old_top = _top(ci) if ci else {}
    lost = [k for k, v in (old_top or {}).items() if k != job_name and top.get(k) != v]
    if lost:
        return f".gitlab-ci.yml: {lost[0]!r} lost or changed"
    if ci and old_top is not None and job_name not in old_top and not tried.ci.startswith(ci):
        return ".gitlab-ci.yml: the user's text is not kept as it was"
    try:
        new = tomlkit.parse(tried.toml).unwrap()
    except TOMLKitError:
        return "the runner config does not parse"
    if toml is not None:
        try:
            old = tomlkit.parse(toml).unwrap()
        except TOMLKitError:
            return None if tried.toml == toml else "an unparseable runner config was replaced"
        settings_before = {k: v for k, v in old.items() if k != "runners"}
        if {k: v for k, v in new.items() if k != "runners"} != settings_before:
            return "a top-level runner setting changed"
        runners = new.get("runners")
        runners = runners if isinstance(runners, list) else []
        before = old.get("runners")
        for i, r in enumerate(before if isinstance(before, list) else []):
            after = runners[i] if i < len(runners) and isinstance(runners[i], dict) else {}
            if isinstance(r, dict) and r.get("token") != after.get("token"):
                return "a runner's token was lost"
    return None
