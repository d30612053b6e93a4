"""Printed user text stays as written: no rich markup taken from it, no terminal escapes passed on.

Job names, paths, messages and config keys such as ``[runners.docker]`` reach stdout/stderr
literally; ESC and other control characters are shown as ``\\x1b``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import buildrig.run
from buildrig.cli import main
from buildrig.cli.app import markup, printable, split_list
from buildrig.cli.run_cmd import _Printer
from buildrig.run.model import JobResult, LogLine, RunOptions, RunResult

ESC_NAME = "evil\x1b[2J\x1b]0;owned\x07"
SHOWN = "evil\\x1b[2J\\x1b]0;owned\\x07"


def test_printable_and_markup() -> None:
    assert printable(ESC_NAME) == SHOWN
    assert printable("tab\tand\nnewline stay") == "tab\tand\nnewline stay"
    assert printable("\x9b31m") == "\\x9b31m"  # the one-byte CSI
    assert markup("[bold]x[/bold] [runners.docker]") == "\\[bold]x\\[/bold] \\[runners.docker]"


def test_split_list_is_the_one_list_parser() -> None:
    assert split_list(["a,b", " c ,", "a"]) == ("a", "b", "c")
    assert split_list(None) == ()


def test_run_list_prints_job_names_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(
        '"[runners.docker]":\n  script: [true]\n'
        '"[bold]loud[/bold]":\n  script: [true]\n'
        '"evil\\e[2J\\e]0;owned\\a":\n  script: [true]\n'
    )
    assert main(["run", str(tmp_path), "--list"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    names = [line.split()[1] for line in out.splitlines()]
    assert names == ["[runners.docker]", "[bold]loud[/bold]", SHOWN]


def test_run_summary_keeps_brackets_and_escapes_controls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("job:\n  script: [true]\n")
    reason = "no image: set image: in the job (or default:), or image in [runners.docker]"
    seen: list[RunOptions] = []

    def fake_run(opts: RunOptions) -> RunResult:
        seen.append(opts)
        now = time.monotonic()
        jobs = (
            JobResult(
                "[bold]b[/bold]",
                "build",
                "failed",
                1,
                now,
                now,
                time.time(),
                reason=reason,
                hints=("hint: the job reads $X_PEM, which is not set: add it as a File variable",),
            ),
            JobResult(ESC_NAME, "build", "skipped", 0, now, now, time.time(), reason="[red]x[/red]"),
        )
        return RunResult("r", jobs, now, now)

    monkeypatch.setattr(buildrig.run, "run_jobs", fake_run)
    assert main(["run", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert seen[0].project_defaults  # the CLI looks for init's files
    assert "[bold]b[/bold]" in err and "[runners.docker])" in err
    assert SHOWN in err and "(\\x1b" not in err and "\x1b[2J" not in err
    assert "[red]x[/red]" in err
    assert "hint: the job reads $X_PEM" in err  # --quiet hides the log, not the hint


def test_error_messages_keep_config_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[runners]]\nname = "a"\nexecutor = "shell"\n')
    (tmp_path / ".gitlab-ci.yml").write_text("job:\n  script: [true]\n")
    code = main(
        ["init", "-s", "shell", "-o", str(tmp_path), "--runner-config", str(cfg), "--runner-name", "[b]x"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "[b]x" in err and err.count("\n") == 1


def test_log_printer_escapes_the_job_name(capsys: pytest.CaptureFixture[str]) -> None:
    printer = _Printer(multi=True)
    printer(LogLine(ESC_NAME, "\x1b[32mgreen output\x1b[0m [bold]kept[/bold]", time.monotonic(), time.time()))
    out = capsys.readouterr().out
    assert SHOWN in out and "\x1b]0;" not in out and "[bold]kept[/bold]" in out


def test_usage_errors_are_one_line_and_list_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--strategy", "podman"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("buildrig: error: init: ")
    assert "'podman' is not one of" in err and "'docker_host'" in err


def test_doctor_text_shows_job_names_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(
        '"[bold]b\\e[2J":\n  image: docker:29.7.2-cli\n  services:\n    - docker:29.7.2-dind\n'
        "  variables:\n    DOCKER_HOST: tcp://docker:2375\n  script: [docker info]\n"
    )
    assert main(["doctor", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "job [bold]b\\x1b[2J  [way: dind]" in out and "\x1b" not in out


def test_try_json_and_text_keep_reasons(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import buildrig.trial as trial

    def fake(opts: trial.TrialOptions, on_result: object = None) -> tuple[trial.TrialResult, ...]:
        assert opts.ways == ("shell", "dind", "kaniko")
        results = (
            trial.TrialResult("shell", "ok", None, 1.5, "sha256:ab", "sha256:ab", "reg/x", ("abc", "main")),
            trial.TrialResult("kaniko", "skipped", "no image in [runners.docker] \x1b[31m"),
        )
        for r in results:
            on_result(r)  # type: ignore[operator]
        return results

    monkeypatch.setattr(trial, "run_trials", fake)
    assert main(["try", "--ways", "shell,dind", "--way", "kaniko", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == 1
    assert [(r["way"], r["status"]) for r in doc["results"]] == [("shell", "ok"), ("kaniko", "skipped")]
    assert doc["results"][0]["tags"] == ["abc", "main"] and doc["results"][1]["reason"].endswith("\x1b[31m")
    assert main(["try", "-w", "shell,dind,kaniko"]) == 0
    out = capsys.readouterr().out
    assert "no image in [runners.docker] \\x1b[31m" in out and "1 ok, 0 failed, 1 skipped" in out


def test_no_arguments_prints_the_help_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert capsys.readouterr().out.count("Usage: buildrig") == 1
    assert main(["registry"]) == 2
    assert capsys.readouterr().out.count("Usage: buildrig registry") == 1
