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

    from buildrig.cli import app

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
