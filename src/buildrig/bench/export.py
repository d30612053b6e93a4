"""``results.json`` and ``results.csv``: one record per job execution."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from buildrig.bench.model import (
    PHASES,
    BenchResults,
    Execution,
    Machine,
    Settings,
    Skipped,
)
from buildrig.errors import InputError, Loc
from buildrig.fsutil import atomic_write

VERSION = 1

CSV_COLUMNS: tuple[str, ...] = (
    "way",
    "scenario",
    "cache",
    "repeat",
    "ok",
    *(f"{p}_s" for p in PHASES),
    "other_s",
    "total_s",
    "cached_steps",
    "cache_meta_s",
    "inner_push_s",
    "setup_s",
    "teardown_s",
    "started_at",
    "error",
    # Added after the others: readers that go by position keep working.
    "unpack_s",
)


def to_dict(results: BenchResults) -> dict[str, Any]:
    return {
        "version": VERSION,
        "machine": results.machine.to_dict(),
        "settings": results.settings.to_dict(),
        "started_at": results.started_at,
        "finished_at": results.finished_at,
        "aborted": results.aborted,
        "interrupted": results.interrupted,
        "notes": list(results.notes),
        "skipped": [s.to_dict() for s in results.skipped],
        "runs": [r.to_dict() for r in results.runs],
    }


def to_json(results: BenchResults) -> str:
    return json.dumps(to_dict(results), indent=2, ensure_ascii=False) + "\n"


def from_dict(data: dict[str, Any], *, source: str = "results.json") -> BenchResults:
    """Read back what :func:`to_dict` wrote; a wrong version or shape is an :class:`InputError`."""
    if not isinstance(data, dict) or data.get("version") != VERSION:
        found = data.get("version") if isinstance(data, dict) else type(data).__name__
        raise InputError(
            f"not a buildrig bench results file (version {found!r}, expected {VERSION})", loc=Loc(source)
        )
    try:
        runs = tuple(Execution.from_dict(r) for r in data.get("runs", []))
        skipped = tuple(Skipped(str(s["way"]), str(s["reason"])) for s in data.get("skipped", []))
        return BenchResults(
            machine=Machine.from_dict(data.get("machine", {})),
            settings=Settings.from_dict(data.get("settings", {})),
            runs=runs,
            skipped=skipped,
            started_at=str(data.get("started_at") or ""),
            finished_at=str(data.get("finished_at") or ""),
            aborted=None if data.get("aborted") is None else str(data["aborted"]),
            interrupted=bool(data.get("interrupted", False)),
            notes=tuple(str(n) for n in data.get("notes", [])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed bench results: {exc}", loc=Loc(source)) from exc


def read_json(path: Path) -> BenchResults:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", loc=Loc.of(path)) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", loc=Loc.of(path, exc.lineno)) from exc
    return from_dict(data, source=str(path))


def to_csv(results: BenchResults) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for run in results.runs:
        row = run.to_dict()
        phases = row["phases"]
        writer.writerow(
            [
                run.way,
                run.scenario,
                run.cache,
                run.repeat,
                "true" if run.ok else "false",
                *("" if phases[p] is None else f"{phases[p]:.3f}" for p in PHASES),
                f"{run.other_s:.3f}",
                f"{run.total_s:.3f}",
                "" if run.cached_steps is None else run.cached_steps,
                "" if run.cache_meta_s is None else f"{run.cache_meta_s:.3f}",
                "" if run.inner_push_s is None else f"{run.inner_push_s:.3f}",
                "" if run.setup_s is None else f"{run.setup_s:.3f}",
                "" if run.teardown_s is None else f"{run.teardown_s:.3f}",
                run.started_at,
                run.error or "",
                "" if run.unpack_s is None else f"{run.unpack_s:.3f}",
            ]
        )
    return buf.getvalue()


def write_all(results: BenchResults, report_dir: Path) -> tuple[Path, ...]:
    """Write ``results.json``, ``results.csv`` and ``report.html`` into ``report_dir``."""
    from buildrig.bench.html import render_html

    report_dir = Path(report_dir)
    written = []
    # A report from an earlier run must not sit beside these results if this one fails to render.
    # Only a regular file: a symlink or directory there is refused by the write below instead.
    old = report_dir / "report.html"
    if old.is_file() and not old.is_symlink():
        old.unlink()
    # One file at a time, data first: measurements that took minutes survive a report that fails
    # to render.
    renderers: tuple[tuple[str, Callable[[BenchResults], str]], ...] = (
        ("results.json", to_json),
        ("results.csv", to_csv),
        ("report.html", render_html),
    )
    for name, render in renderers:
        path = report_dir / name
        atomic_write(path, render(results))
        written.append(path)
    return tuple(written)
