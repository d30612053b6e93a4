from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import pytest
from bench_factory import sample

from buildrig.bench.export import CSV_COLUMNS, from_dict, read_json, to_csv, to_dict, to_json, write_all
from buildrig.errors import InputError


def test_json_shape_matches_the_issue() -> None:
    data = json.loads(to_json(sample()))
    assert data["version"] == 1
    assert {"cpu_count", "engine_version", "storage_driver", "kernel", "os"} <= set(data["machine"])
    assert data["machine"]["cpu_count"] == 2
    first = data["runs"][0]
    assert {"way", "scenario", "repeat", "ok", "phases", "total_s", "cache"} <= set(first)
    assert set(first["phases"]) == {"services", "login", "build", "push", "other"}
    assert first == {
        "way": "shell",
        "scenario": "cold",
        "repeat": 1,
        "cache": "registry",
        "ok": True,
        "phases": {"services": None, "login": 0.5, "build": 10.0, "push": 1.0, "other": 1.0},
        "total_s": 12.5,
        "error": None,
        "started_at": "2026-11-27T18:00:00Z",
        "cached_steps": None,
        "cache_meta_s": None,
        "inner_push_s": None,
        "unpack_s": None,
        "setup_s": None,
        "teardown_s": None,
    }
    assert data["skipped"] == [{"way": "kaniko", "reason": "the kaniko image cannot be obtained offline"}]
    failed = [r for r in data["runs"] if not r["ok"]]
    assert len(failed) == 1 and failed[0]["error"].startswith("job build-image failed")


def test_json_round_trip() -> None:
    original = sample()
    assert from_dict(json.loads(to_json(original))) == original
    assert from_dict(to_dict(original)) == original
    machine = dataclasses.replace(original.machine, bare_container_s=(0.3, 0.25))
    timed = dataclasses.replace(original, machine=machine)
    assert from_dict(json.loads(to_json(timed))).machine.bare_container_s == (0.3, 0.25)


def test_json_wrong_version_or_shape_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="version 2"):
        from_dict({"version": 2})
    bad = to_dict(sample())
    bad["runs"][0]["scenario"] = "lukewarm"
    with pytest.raises(InputError, match="lukewarm"):
        from_dict(bad)
    path = tmp_path / "results.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match=r"results.json:1: not JSON"):
        read_json(path)


def test_csv_one_row_per_execution() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(sample()))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(sample().runs)
    assert rows[0]["way"] == "shell" and rows[0]["services_s"] == "" and rows[0]["total_s"] == "12.500"
    dind = next(r for r in rows if r["way"] == "dind")
    assert dind["services_s"] == "2.000"
    assert sum(1 for r in rows if r["ok"] == "false") == 1


def test_write_all_writes_three_files(tmp_path: Path) -> None:
    paths = write_all(sample(), tmp_path / "report")
    assert sorted(p.name for p in paths) == ["report.html", "results.csv", "results.json"]
    assert json.loads((tmp_path / "report" / "results.json").read_text())["version"] == 1


def test_results_are_kept_when_the_html_report_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import buildrig.bench.html as html

    def broken(_: object) -> str:
        raise RuntimeError("chart failed")

    monkeypatch.setattr(html, "render_html", broken)
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.html").write_text("<p>an earlier run</p>")
    with pytest.raises(RuntimeError):
        write_all(sample(), tmp_path / "report")
    assert json.loads((tmp_path / "report" / "results.json").read_text())["runs"]
    assert (tmp_path / "report" / "results.csv").read_text().startswith("way,")
    assert not (tmp_path / "report" / "report.html").exists()


def test_report_files_follow_the_write_policy(tmp_path: Path) -> None:
    from buildrig.errors import BuildrigError

    report = tmp_path / "report"
    report.mkdir()
    victim = tmp_path / "elsewhere.html"
    victim.write_text("theirs")
    (report / "report.html").symlink_to(victim)
    (report / "results.csv").write_text("old")
    (report / "results.csv").chmod(0o640)
    with pytest.raises(BuildrigError, match="is a symlink"):
        write_all(sample(), report)
    assert victim.read_text() == "theirs" and (report / "report.html").is_symlink()
    assert (report / "results.csv").stat().st_mode & 0o777 == 0o640  # rewritten, mode kept
    (report / "report.html").unlink()
    (report / "report.html").mkdir()
    with pytest.raises(BuildrigError, match="is a directory"):
        write_all(sample(), report)
