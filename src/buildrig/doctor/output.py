"""Doctor's output formats: text, JSON, SARIF 2.1.0 and GitLab Code Quality.

Paths in SARIF and Code Quality are relative to the directory doctor looked at (the repository
root in CI), which is what GitLab and SARIF viewers resolve against.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from buildrig import __version__
from buildrig.doctor.base import Category, Finding, Rule, Severity
from buildrig.doctor.engine import Report, discover_rules

FORMATS = ("text", "json", "sarif", "codequality")
JSON_VERSION = 1
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFO_URI = "https://docs.gitlab.com/ci/docker/using_docker_build/"
_GLOBAL = "(set-up)"


def render(report: Report, fmt: str, base: Path) -> str:
    """The report in ``fmt``, with every credential of the runner config masked (``[MASKED]``),
    whichever rule or message let one through."""
    if fmt == "text":
        text = render_text(report)
    elif fmt == "json":
        text = render_json(report, base)
    elif fmt == "sarif":
        text = render_sarif(report, base)
    elif fmt == "codequality":
        text = render_codequality(report, base)
    else:
        raise ValueError(f"unknown format {fmt}")
    return mask_secrets(text, runner_secrets(report))


# config.toml keys that hold credentials (token, bearer_token, tls-key-file's contents never are
# read), and environment entries named like one
_SECRET_KEY = re.compile(r"tok|secret|pass|auth|cred|bearer|private", re.I)
MASK = "[MASKED]"


def runner_secrets(report: Report) -> tuple[str, ...]:
    """Credential values written in config.toml: tokens and passwords, also in ``environment``.
    GitLab masks values of 8 characters or more; shorter ones would mask ordinary words."""
    found: set[str] = set()

    def walk(value: object, name: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, str(key))
        elif isinstance(value, list | tuple):
            for item in value:
                if name == "environment" and isinstance(item, str) and "=" in item:
                    key, _, val = item.partition("=")
                    walk(val, key)
                else:
                    walk(item, name)
        elif isinstance(value, str) and len(value) >= 8 and _SECRET_KEY.search(name):
            found.add(value)

    cfg = report.context.runner_config
    for runner in cfg.runners if cfg is not None else ():
        walk(runner.raw, "")
    return tuple(sorted(found, key=len, reverse=True))


def mask_secrets(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        # as written, and as a JSON string would carry it
        for form in {secret, json.dumps(secret)[1:-1]}:
            text = text.replace(form, MASK)
    return text


def _rel(file: str, base: Path) -> str:
    return _rel_cached(file, str(base))


@lru_cache(maxsize=4096)
def _rel_cached(file: str, base_str: str) -> str:
    base = Path(base_str)
    path = Path(file)
    try:
        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    except ValueError:
        return path.as_posix()


def _dump(doc: object, size: int) -> str:
    # json's C encoder only runs without indent: big reports stay compact to stay fast
    return json.dumps(doc, indent=2 if size <= 500 else None) + "\n"


# --- text -----------------------------------------------------------------------------------------


def render_text(report: Report) -> str:
    lines: list[str] = []
    groups: dict[str, list[Finding]] = {}
    for f in report.findings:
        groups.setdefault(f.job or _GLOBAL, []).append(f)
    ways = report.ways
    for name in sorted(groups, key=lambda n: (n == _GLOBAL, n)):
        way = ways.get(name)
        title = "set-up (runner, daemon, pipeline)" if name == _GLOBAL else f"job {name}"
        lines.append(f"{title}" + (f"  [way: {way}]" if way else ""))
        for f in groups[name]:
            where = f" {f.loc}" if f.loc else ""
            lines.append(f"  {f.severity.value.upper():7} {f.rule}{where}")
            lines.append(f"    {f.message}")
            lines.append(f"    fix: {f.fix}")
            if f.docs:
                lines.append(f"    see: {f.docs}")
        lines.append("")
    clean = [n for n, w in ways.items() if n not in groups]
    if clean:
        shown = ", ".join(f"{n} ({ways[n] or 'no image build'})" for n in clean[:20])
        more = f" and {len(clean) - 20} more" if len(clean) > 20 else ""
        lines.append(f"no findings: {shown}{more}")
    errors, warnings, infos = (report.count(s) for s in (Severity.ERROR, Severity.WARNING, Severity.INFO))
    lines.append(f"{errors} error(s), {warnings} warning(s), {infos} info; {len(report.rules)} rules checked")
    for limit in (*report.context.limits, *report.problems):
        lines.append(f"limit: {limit}")
    live = report.context.live
    if live is not None:
        from buildrig.doctor.hostfacts import describe

        lines.extend(f"live: {line}" for line in describe(live))
    return "\n".join(lines) + "\n"


# --- JSON -----------------------------------------------------------------------------------------


def finding_dict(f: Finding, base: Path | None = None) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity.value,
        "category": f.category.value,
        "job": f.job,
        "file": (_rel(f.loc.file, base) if base is not None else f.loc.file) if f.loc else None,
        "line": f.loc.line if f.loc and f.loc.line else None,
        "message": f.message,
        "fix": f.fix,
        "docs": f.docs,
    }


def render_json(report: Report, base: Path) -> str:
    doc = {
        "version": JSON_VERSION,
        "findings": [finding_dict(f, base) for f in report.findings],
        "ways": report.ways,
        "limits": list(report.context.limits) + list(report.problems),
    }
    return _dump(doc, len(report.findings))


# --- SARIF ----------------------------------------------------------------------------------------

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _first_paragraph(module: Rule) -> str:
    doc = (getattr(module, "__doc__", None) or "").strip()
    return doc.split("\n\n", 1)[0].replace("\n", " ") if doc else module.TITLE


def _rule_name(module: Rule) -> str:
    """``br101_dind_tls_port`` -> ``DindTlsPort`` (SARIF's human-readable rule name)."""
    mod_name = str(getattr(module, "__name__", "")).rsplit(".", 1)[-1]
    return "".join(w.capitalize() for w in mod_name.split("_")[1:]) or module.ID


def _sarif_rule(module: Rule) -> dict[str, Any]:
    return {
        "id": module.ID,
        "name": _rule_name(module),
        "shortDescription": {"text": module.TITLE},
        "fullDescription": {"text": _first_paragraph(module)},
        "helpUri": module.DOCS,
        "help": {"text": (getattr(module, "__doc__", None) or module.TITLE).strip()},
        "defaultConfiguration": {"level": _SARIF_LEVEL[module.SEVERITY]},
        "properties": {"category": module.CATEGORY.value, "tags": [module.CATEGORY.value]},
    }


def fingerprint(f: Finding, base: Path | None = None) -> str:
    file = _rel(f.loc.file, base) if f.loc and base is not None else f.loc.file if f.loc else ""
    key = "\0".join((f.rule, f.job or "", file, str(f.loc.line if f.loc else 0), f.message))
    return hashlib.sha256(key.encode()).hexdigest()


def render_sarif(report: Report, base: Path) -> str:
    rules = list(report.rules) or list(discover_rules())
    known = {r.ID for r in rules}
    for f in report.findings:  # a finding from a rule outside the selection still needs its entry
        if f.rule not in known:
            extra = next((r for r in discover_rules() if f.rule == r.ID), None)
            if extra is not None:
                rules.append(extra)
                known.add(f.rule)
    index = {r.ID: i for i, r in enumerate(rules)}
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.message} Fix: {f.fix}"},
            "partialFingerprints": {"buildrigFinding/v1": fingerprint(f, base)},
            "properties": {"category": f.category.value, "fix": f.fix, "job": f.job},
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        if f.loc is not None and f.loc.file:
            physical: dict[str, Any] = {
                # a URI reference (RFC 3986): spaces, '#', '%' and non-ASCII percent-encoded
                "artifactLocation": {"uri": quote(_rel(f.loc.file, base), safe="/"), "uriBaseId": "%SRCROOT%"}
            }
            if f.loc.line > 0:
                physical["region"] = {"startLine": f.loc.line}
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "buildrig",
                        "version": __version__,
                        "informationUri": INFO_URI,
                        "rules": [_sarif_rule(r) for r in rules],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": base.resolve().as_uri() + "/"}},
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return _dump(doc, len(results))


# --- GitLab Code Quality --------------------------------------------------------------------------


_CQ_CATEGORY = {
    Category.FAILURE: "Bug Risk",
    Category.SECURITY: "Security",
    Category.PERFORMANCE: "Performance",
    Category.MAINTAINABILITY: "Clarity",
}


def codequality_severity(f: Finding) -> str:
    if f.severity == Severity.ERROR:
        return "blocker" if f.category == Category.SECURITY else "critical"
    if f.severity == Severity.WARNING:
        return "major" if f.category in (Category.FAILURE, Category.SECURITY) else "minor"
    return "info"


def render_codequality(report: Report, base: Path) -> str:
    fallback = report.context.pipeline.path if report.context.pipeline is not None else None
    out = []
    for f in report.findings:
        file = f.loc.file if f.loc and f.loc.file else (str(fallback) if fallback else ".gitlab-ci.yml")
        line = f.loc.line if f.loc and f.loc.line else 1
        out.append(
            {
                "description": f"{f.rule}: {f.message} Fix: {f.fix}",
                "check_name": f.rule,
                "fingerprint": fingerprint(f, base),
                "severity": codequality_severity(f),
                "categories": [_CQ_CATEGORY[f.category]],
                "location": {"path": _rel(file, base), "lines": {"begin": line}},
            }
        )
    return _dump(out, len(out))


def explain(rule_id: str, rules: Sequence[Rule] | None = None) -> str | None:
    """The rule's documentation for ``--explain``; None for an unknown ID."""
    for module in rules if rules is not None else discover_rules():
        if module.ID.upper() == rule_id.strip().upper():
            doc = (getattr(module, "__doc__", None) or "").strip()
            head = f"{module.ID} ({module.SEVERITY.value}, {module.CATEGORY.value}): {module.TITLE}"
            # Most docstrings end with their own "Docs:" line; add it only where one doesn't.
            tail = "" if module.DOCS in doc else f"\n\nDocs: {module.DOCS}"
            return f"{head}\n\n{doc}{tail}\n"
    return None
