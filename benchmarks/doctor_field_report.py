"""Field report: ``buildrig doctor`` on real set-ups collected from public threads and docs.

Runs ``python -m buildrig doctor --format json CASE`` (the CLI, as a user would) on every case of
``tests/doctor/field/`` and grades its findings against the case's ``expected.toml``, which records
the cause the thread established, not what doctor says:

- broken cases (``verdict = "broken"``): *right* = a rule of ``accept_rules`` fired at the expected
  severity; *wrong severity* = it fired at another one; *missed* = none of them fired. Cases with a
  ``host_fact`` (the cause lies in a fact no file shows) form their own category; for them a
  *pointer* is any accepted rule that fired, whatever its severity, since it names the right check.
- risk cases (``verdict = "risk"``): graded like broken ones (the expected severity is warning).
- healthy cases: every error is a *false error*; every warning outside ``declared_risks`` (a
  security risk the set-up accepts) and ``expected_warnings`` (a warning the set-up earns today,
  for example an old dind on current hosts) is a *false warning*. Both count per case (a case
  with any is not clean).

Errors from rules outside ``accept_rules`` on broken and risk cases are listed per case as noise.

``--symptoms`` grades doctor as a user who also pastes the error the job printed: each case's quoted
error text (the ``> `` lines under "What users saw" in ``SOURCE.md``, not the bracketed descriptions)
goes to ``doctor --symptom``. Without it doctor sees the files alone.

Usage: ``python benchmarks/doctor_field_report.py [--cases] [--json] [--jobs N] [--only WORD] [--symptoms]``.
``--cases`` adds one line per case; ``--json`` prints the per-case grades instead of tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

FIELD = Path(__file__).resolve().parent.parent / "tests" / "doctor" / "field"
WAYS = ("shell", "docker_sock", "docker_host", "dind", "kaniko", "buildah", "buildkit")
CATEGORIES = ("broken-in-files", "broken-host-fact", "healthy", "risk")
RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Expected:
    way: str
    verdict: str
    cause: str = ""
    severity: str = ""
    host_fact: str = ""
    accept_rules: tuple[str, ...] = ()
    declared_risks: tuple[str, ...] = ()
    expected_warnings: tuple[str, ...] = ()

    @property
    def category(self) -> str:
        if self.verdict == "broken":
            return "broken-host-fact" if self.host_fact else "broken-in-files"
        return self.verdict


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    job: str | None


@dataclass(frozen=True)
class Grade:
    case: str
    expected: Expected
    outcome: str  # right | wrong-severity | missed | clean | noisy | unusable
    found: tuple[Finding, ...] = ()
    pointer: bool = False
    false_errors: tuple[str, ...] = ()
    false_warnings: tuple[str, ...] = ()
    other_errors: tuple[str, ...] = ()
    note: str = ""


def load_expected(case: Path) -> Expected:
    data = tomllib.loads((case / "expected.toml").read_text())
    return Expected(
        way=str(data["way"]),
        verdict=str(data["verdict"]),
        cause=str(data.get("cause", "")),
        severity=str(data.get("severity", "")),
        host_fact=str(data.get("host_fact", "")),
        accept_rules=tuple(str(r) for r in data.get("accept_rules", ())),
        declared_risks=tuple(str(r) for r in data.get("declared_risks", ())),
        expected_warnings=tuple(str(r) for r in data.get("expected_warnings", ())),
    )


def symptom_of(case: Path) -> str:
    """The error text the case's users quoted (``> `` lines after "What users saw"), or ""."""
    try:
        text = (case / "SOURCE.md").read_text()
    except OSError:
        return ""
    _, _, after = text.partition("What users saw")
    quoted = []
    for line in after.splitlines()[1:]:
        if line.startswith(">"):
            body = line[1:].strip()
            if body and not body.startswith("("):
                quoted.append(body)
        elif quoted and line.strip():
            break
    return "\n".join(quoted)


def run_doctor(case: Path, symptoms: bool = False) -> tuple[list[Finding], str]:
    """Findings of ``buildrig doctor --format json`` on the case, or a note why there are none."""
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    symptom = symptom_of(case) if symptoms else ""
    proc = subprocess.run(
        [sys.executable, "-m", "buildrig", "doctor", "--format", "json", str(case)]
        + (["--symptom", symptom] if symptom else []),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode not in (0, 1):
        said = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        return [], said[-1] if said else f"exit {proc.returncode}"
    doc = json.loads(proc.stdout)
    return [Finding(f["rule"], f["severity"], f.get("job")) for f in doc["findings"]], ""


def grade(case: Path, findings: Sequence[Finding], note: str) -> Grade:
    exp = load_expected(case)
    name = case.name
    if note:
        return Grade(name, exp, "unusable", note=note)
    if exp.verdict == "healthy":
        errors = tuple(sorted({f.rule for f in findings if f.severity == "error"}))
        warnings = tuple(
            sorted(
                {
                    f.rule
                    for f in findings
                    if f.severity == "warning" and f.rule not in exp.declared_risks + exp.expected_warnings
                }
            )
        )
        outcome = "noisy" if errors or warnings else "clean"
        return Grade(name, exp, outcome, tuple(findings), false_errors=errors, false_warnings=warnings)
    accepted = [f for f in findings if f.rule in exp.accept_rules]
    other_errors = tuple(
        sorted({f.rule for f in findings if f.severity == "error" and f.rule not in exp.accept_rules})
    )
    if any(f.severity == exp.severity for f in accepted):
        outcome = "right"
    elif accepted:
        outcome = "wrong-severity"
    else:
        outcome = "missed"
    return Grade(name, exp, outcome, tuple(findings), pointer=bool(accepted), other_errors=other_errors)


def cases(only: str | None) -> list[Path]:
    found = sorted(p for p in FIELD.iterdir() if (p / "expected.toml").is_file())
    return [p for p in found if only is None or only in p.name]


def evaluate(paths: Sequence[Path], jobs: int, symptoms: bool = False) -> list[Grade]:
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda p: run_doctor(p, symptoms), paths))
    return [grade(p, f, n) for p, (f, n) in zip(paths, results, strict=True)]


@dataclass
class Row:
    n: int = 0
    right: int = 0
    wrong: int = 0
    missed: int = 0
    pointer: int = 0
    clean: int = 0
    false_err: int = 0
    false_warn: int = 0
    unusable: int = 0
    cases: list[str] = field(default_factory=list)

    def add(self, g: Grade) -> None:
        self.n += 1
        self.cases.append(g.case)
        self.right += g.outcome == "right"
        self.wrong += g.outcome == "wrong-severity"
        self.missed += g.outcome == "missed"
        self.pointer += g.pointer and g.expected.category == "broken-host-fact"
        self.clean += g.outcome == "clean"
        self.false_err += bool(g.false_errors)
        self.false_warn += bool(g.false_warnings)
        self.unusable += g.outcome == "unusable"


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


HEADER = (
    f"{'way':<12} {'category':<17} {'n':>3} {'right':>5} {'wrong-sev':>9} {'missed':>6} "
    f"{'pointer':>7} {'clean':>5} {'false-err':>9} {'false-warn':>10}"
)


def line(way: str, cat: str, r: Row) -> str:
    graded = cat != "healthy"
    host = cat == "broken-host-fact"

    def cell(v: int, show: bool, width: int) -> str:
        return f"{v:>{width}}" if show else f"{'.':>{width}}"

    return (
        f"{way:<12} {cat:<17} {r.n:>3} {cell(r.right, graded, 5)} {cell(r.wrong, graded, 9)} "
        f"{cell(r.missed, graded, 6)} {cell(r.pointer, host, 7)} {cell(r.clean, not graded, 5)} "
        f"{cell(r.false_err, not graded, 9)} {cell(r.false_warn, not graded, 10)}"
        + (f"  ({r.unusable} unusable input)" if r.unusable else "")
    )


def tables(grades: Iterable[Grade], symptoms: bool = False) -> str:
    grades = list(grades)
    by: dict[tuple[str, str], Row] = {}
    by_cat: dict[str, Row] = {c: Row() for c in CATEGORIES}
    for g in grades:
        by.setdefault((g.expected.way, g.expected.category), Row()).add(g)
        by_cat[g.expected.category].add(g)
    mode = "files + the error text users quoted (--symptom)" if symptoms else "files only"
    out = [f"doctor field report: {len(grades)} cases from {FIELD} ({mode})", "", HEADER, "-" * len(HEADER)]
    for way in WAYS:
        for cat in CATEGORIES:
            if (way, cat) in by:
                out.append(line(way, cat, by[(way, cat)]))
    out += ["-" * len(HEADER)]
    for cat in CATEGORIES:
        out.append(line("all", cat, by_cat[cat]))
    fails = by_cat["broken-in-files"]
    facts = by_cat["broken-host-fact"]
    healthy = by_cat["healthy"]
    risk = by_cat["risk"]
    graded = fails.n + facts.n + risk.n
    right = fails.right + facts.right + risk.right
    shown = fails.n + risk.n
    shown_right = fails.right + risk.right
    out += [
        "",
        "Totals",
        f"  broken, cause in the files : {fails.right}/{fails.n} right cause at right severity "
        f"({pct(fails.right, fails.n).strip()}); {fails.wrong} at the wrong severity; "
        f"{fails.missed} missed",
        f"  broken, cause a host fact  : {facts.right}/{facts.n} right at right severity "
        f"({pct(facts.right, facts.n).strip()}); pointer naming the right check for "
        f"{facts.pointer}/{facts.n} ({pct(facts.pointer, facts.n).strip()}); {facts.missed} missed",
        f"  risks                      : {risk.right}/{risk.n} flagged at the right severity "
        f"({pct(risk.right, risk.n).strip()}); {risk.wrong} at another severity; {risk.missed} missed",
        f"  healthy                    : {healthy.clean}/{healthy.n} clean "
        f"({pct(healthy.clean, healthy.n).strip()}); {healthy.false_err} with false errors, "
        f"{healthy.false_warn} with warnings outside a declared risk",
        f"  cause the files show       : {shown_right}/{shown} right cause at right severity "
        f"({pct(shown_right, shown).strip()}; target >= 95%): broken in the files and risks",
        f"  all graded (broken + risk) : {right}/{graded} right cause at right severity "
        f"({pct(right, graded).strip()})"
        + (
            ""
            if symptoms
            else "; a host-fact cause is an info pointer from the files alone (README's severity "
            "rule): its warning needs the error text (--symptoms), its error --live"
        ),
    ]
    return "\n".join(out)


def case_lines(grades: Iterable[Grade]) -> str:
    out = []
    for g in grades:
        fired = ", ".join(f"{f.rule}:{f.severity[0]}" for f in g.found) or "-"
        extra = ""
        if g.false_errors or g.false_warnings:
            extra = f" false-err={list(g.false_errors)} false-warn={list(g.false_warnings)}"
        if g.other_errors:
            extra += f" other-errors={list(g.other_errors)}"
        if g.note:
            extra += f" note={g.note}"
        want = (
            f"{g.expected.cause}@{g.expected.severity} via {list(g.expected.accept_rules)}"
            if g.expected.verdict != "healthy"
            else f"healthy (declared {list(g.expected.declared_risks)})"
        )
        out.append(f"{g.outcome:<14} {g.case}\n    want {want}\n    got  {fired}{extra}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--cases", action="store_true", help="also print one entry per case")
    ap.add_argument("--json", action="store_true", help="print per-case grades as JSON")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel doctor runs")
    ap.add_argument("--only", help="only cases whose folder name contains this")
    ap.add_argument(
        "--symptoms", action="store_true", help="also give doctor the error text users quoted (--symptom)"
    )
    args = ap.parse_args(argv)
    grades = evaluate(cases(args.only), args.jobs, args.symptoms)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "case": g.case,
                        "way": g.expected.way,
                        "category": g.expected.category,
                        "cause": g.expected.cause,
                        "outcome": g.outcome,
                        "pointer": g.pointer,
                        "found": [[f.rule, f.severity] for f in g.found],
                        "false_errors": list(g.false_errors),
                        "false_warnings": list(g.false_warnings),
                        "other_errors": list(g.other_errors),
                        "note": g.note,
                    }
                    for g in grades
                ],
                indent=2,
            )
        )
        return 0
    print(tables(grades, args.symptoms))
    if args.cases:
        print()
        print(case_lines(grades))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
