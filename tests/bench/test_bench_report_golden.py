"""Golden files of the report: the HTML report and the terminal table rendered from a results file
(tests/bench/cases/<case>/input/results.json); rewrite them with ``pytest --update-golden``."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from buildrig.bench.export import read_json
from buildrig.bench.html import grouped_notes, render_html
from buildrig.bench.stats import check_targets, floor, floor_note, ranking, summarize
from buildrig.bench.table import results_table
from buildrig.fsutil import atomic_write

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "input" / "results.json").is_file())


def _table_text(path: Path, width: int = 120) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    console.print(results_table(read_json(path)))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in str(text).splitlines()) + "\n"


@pytest.mark.parametrize("case", CASES)
def test_report_golden(case: str, update_golden: bool) -> None:
    source = CASES_DIR / case / "input" / "results.json"
    actual = {"report.html": render_html(read_json(source)), "table.txt": _table_text(source)}
    expected_dir = CASES_DIR / case / "expected"
    if update_golden:
        for name, text in actual.items():
            atomic_write(expected_dir / name, text)
        return
    for name, text in actual.items():
        assert text == (expected_dir / name).read_text(encoding="utf-8"), name


def test_seven_ways_report_says_what_the_issue_asks() -> None:
    results = read_json(CASES_DIR / "seven-ways" / "input" / "results.json")
    html = render_html(results)
    table = _table_text(CASES_DIR / "seven-ways" / "input" / "results.json")
    # the repeated note is given once, with how many times
    assert html.count("rebuilds that took no step from a layer cache") == 1 and "(×2)" in html
    # the seed's five ways and the two extra ways are ranked apart
    assert "seed&#x27;s ways: shell, docker_sock, docker_host, dind, kaniko" in html
    assert "extra ways: buildah, buildkit" in html
    sums = summarize(results.runs)
    extra = {r.way: r.measured for r in ranking(sums, "warm", "registry", ("buildah", "buildkit"))}
    assert extra == {"buildkit": 1, "buildah": 2}
    # a cold run that took cached steps failed, loudly, in both outputs
    assert "Cold runs that took build steps from a cache" in html and "shell (repeat 2, 9 steps)" in html
    assert "not cold: 9 build step(s)" in html
    # ratio and pass/fail per way and target, in both outputs
    assert re.search(r"dind +│[^\n]*\n[^\n]*10\.63× FAIL #5 │ +6\.62× FAIL #5", table)
    assert "≤ 2.5× pass" in html and "≤ 2× FAIL" in html
    # the floor of a way that misses: its phases and why, with numbers
    assert "The floor, phase by phase" in html
    assert "target missed (cache registry): dind warm:" in table


def test_floor_note_explains_a_way_that_cannot_reach_its_target() -> None:
    results = read_json(CASES_DIR / "seven-ways" / "input" / "results.json")
    sums = {(s.way, s.scenario): s for s in summarize(results.runs)}
    dind = sums[("dind", "warm")]
    parts = dict(floor(dind))
    assert parts["daemon start"] == pytest.approx(5.0)
    assert parts["cache"] == pytest.approx(9.2)
    assert parts["build steps"] == pytest.approx(11.6 - 9.2)
    # "other" (1.3 s) split: the job before its first command, after its last, the rest
    assert (parts["job start"], parts["job end"]) == (pytest.approx(0.52), pytest.approx(0.65))
    assert parts["other"] == pytest.approx(1.3 - 0.52 - 0.65)
    check = next(c for c in check_targets(sums.values()) if (c.way, c.scenario) == ("dind", "warm"))
    note = floor_note(check, dind)
    assert note is not None
    # shell's warm median: 0.2 + 0.4 + 1.0 + 0.3 = 1.9 s; the target is 2× that
    assert "against a target of ≤ 3.8 s (2× shell's 1.9 s)" in note
    assert "already above the target" in note and "largest: cache 9.2 s" in note
    assert "bare container" not in note  # not timed: not claimed
    # with the engine's container floor timed, the note says what it leaves of the target
    with_floor = floor_note(check, dind, 0.32)
    assert with_floor is not None and with_floor.startswith(note)
    assert "takes 0.32 s on this engine" in with_floor and "leaves 3.48 s of the target" in with_floor
    assert "the shell way's whole job takes 1.90 s" in with_floor
    # a way that meets its target has no note
    met = next(c for c in check_targets(sums.values()) if (c.way, c.scenario) == ("docker_sock", "warm"))
    assert met.met is True and floor_note(met, sums[("docker_sock", "warm")]) is None


def test_grouped_notes_keep_order_and_count() -> None:
    assert grouped_notes(["a", "b", "a", "c", "a"]) == [("a", 3), ("b", 1), ("c", 1)]


def test_terminal_table_fits_80_columns_without_cutting_figures() -> None:
    # bench's output piped or in a default terminal is 80 columns wide: rich would cut a cell
    # that does not fit to "…", losing the figure
    text = _table_text(CASES_DIR / "seven-ways" / "input" / "results.json", width=80)
    tables = text.split("target missed")[0]
    assert "…" not in tables
    assert "10.63× FAIL #5" in tables and "svc" in tables and "hits" in tables
