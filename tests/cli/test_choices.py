"""The CLI's choice enums mirror the data they stand for, and ``--help`` lists them."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildrig.bench.model import CACHE_MODES as BENCH_CACHE_MODES
from buildrig.cli import main
from buildrig.cli.choices import BenchCache, Cache, DoctorFormat, Executor, RunExecutor, Way
from buildrig.strategies import CACHE_MODES, EXECUTORS, NAMES


def test_enums_mirror_the_catalogue() -> None:
    assert [w.value for w in Way] == [*NAMES, "auto"]
    assert [e.value for e in Executor] == list(EXECUTORS)
    assert [c.value for c in Cache] == list(CACHE_MODES)
    assert {c.value for c in BenchCache} == {*BENCH_CACHE_MODES, "both"}
    assert {e.value for e in RunExecutor} == {"docker", "shell"}


def test_every_doctor_format_renders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("job:\n  script: [true]\n")
    for fmt in DoctorFormat:
        assert main(["doctor", str(tmp_path), "--format", fmt.value]) == 0
        assert capsys.readouterr().out.strip()


@pytest.mark.parametrize(
    ("command", "listed"),
    [
        (["init"], [*NAMES, "auto", *EXECUTORS, "registry", "none"]),
        (["run"], ["docker", "shell", "text", "json"]),
        (["doctor"], [f.value for f in DoctorFormat]),
        (["bench"], ["registry", "none", "both", "text", "json"]),
        (["try"], ["text", "json"]),
        (["strategies"], ["text", "json"]),
    ],
)
def test_help_lists_the_choices(
    command: list[str], listed: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main([*command, "--help"]) == 0
    shown = capsys.readouterr().out
    for value in listed:
        assert value in shown, f"{value} not listed by {command} --help"


def test_one_typer_style_annotated() -> None:
    import inspect

    import typer.models

    from buildrig.cli import load_commands

    app = load_commands()
    callbacks = [c.callback for c in app.registered_commands]
    callbacks += [
        c.callback
        for g in app.registered_groups
        if g.typer_instance
        for c in g.typer_instance.registered_commands
    ]
    callbacks.append(app.registered_callback.callback if app.registered_callback else None)
    assert len(callbacks) > 15  # every command, the sub-groups' ones and the root callback
    for fn in filter(None, callbacks):
        for param in inspect.signature(fn).parameters.values():
            assert not isinstance(param.default, typer.models.ParameterInfo), (
                f"{fn.__module__}.{fn.__name__}({param.name}): declare it with Annotated[..., typer.Option()]"
            )


def test_a_command_loads_only_its_module() -> None:
    """``buildrig run`` starts without the other commands' modules (and their imports)."""
    import subprocess
    import sys

    code = (
        "import sys; from buildrig.cli import load_commands; load_commands('run'); "
        "print(sorted(m for m in sys.modules if m.startswith('buildrig.cli.') or m == 'buildrig.strategies'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['buildrig.cli.app', 'buildrig.cli.choices', 'buildrig.cli.run_cmd']"


def test_help_lists_every_command_in_order_after_one_was_loaded() -> None:
    from buildrig.cli import COMMANDS, load_commands

    load_commands("try")
    app = load_commands()
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    assert names == list(COMMANDS)
