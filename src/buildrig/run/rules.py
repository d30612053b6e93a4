"""``rules:`` (and legacy ``only:``/``except:`` refs) for a local push pipeline.

``if:`` expressions follow GitLab's CI/CD expression syntax: ``$VAR``, ``"string"``/``'string'``,
``null``, ``/regex/flags``, ``==``, ``!=``, ``=~``, ``!~``, ``&&``, ``||``, parentheses. ``exists:``
globs are checked in the project; ``changes:`` counts as changed (a local run has no "before"
commit to compare with, and GitLab also treats it as true for new branches).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildrig.errors import InputError, Loc
from buildrig.gitlab.model import Job, Variable

_TOKEN = re.compile(
    r"\s*(?:(?P<op>==|!=|=~|!~|&&|\|\||\(|\))|(?P<var>\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)"
    r"|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|(?P<re>/(?:[^/\\]|\\.)*/[a-z]*)|(?P<null>null\b))"
)


@dataclass(frozen=True)
class Decision:
    include: bool
    when: str
    allow_failure: bool | None = None
    variables: tuple[Variable, ...] = ()
    why: str = ""


class _Parser:
    def __init__(self, text: str, env: Mapping[str, str], loc: Loc | None) -> None:
        self.text, self.env, self.loc = text, env, loc
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m:
                raise InputError(f"rules: cannot parse if: {text!r} at {text[pos : pos + 12]!r}", loc=loc)
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise InputError(f"rules: if: {self.text!r} ends early", loc=self.loc)
        self.i += 1
        return tok

    def parse(self) -> bool:
        value = self.or_()
        if self.peek() is not None:
            raise InputError(
                f"rules: unexpected {self.peek()[1]!r} in if: {self.text!r}",  # type: ignore[index]
                loc=self.loc,
            )
        return bool(value)

    def or_(self) -> Any:
        left = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            left = left or right
        return left

    def and_(self) -> Any:
        left = self.cmp()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.cmp()
            left = left and right
        return left

    def cmp(self) -> Any:
        left = self.atom()
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ("==", "!=", "=~", "!~"):
            self.take()
            right = self.atom()
            if tok[1] in ("==", "!="):
                same = left == right
                return same if tok[1] == "==" else not same
            pattern = _regex(right)
            hit = left is not None and pattern is not None and pattern.search(str(left)) is not None
            return hit if tok[1] == "=~" else not hit
        return left

    def atom(self) -> Any:
        kind, text = self.take()
        if kind == "op" and text == "(":
            value = self.or_()
            if self.take() != ("op", ")"):
                raise InputError(f"rules: missing ')' in if: {self.text!r}", loc=self.loc)
            return value
        if kind == "var":
            name = text.strip("${}")
            value = self.env.get(name)
            return value if value not in (None, "") else (None if value is None else "")
        if kind == "str":
            return bytes(text[1:-1], "utf-8").decode("unicode_escape")
        if kind == "re":
            return ("regex", text)
        if kind == "null":
            return None
        raise InputError(f"rules: unexpected {text!r} in if: {self.text!r}", loc=self.loc)


def _regex(value: Any) -> re.Pattern[str] | None:
    text = value[1] if isinstance(value, tuple) else value
    if not isinstance(text, str):
        return None
    m = re.fullmatch(r"/(.*)/([a-z]*)", text, re.S)
    if not m:
        return re.compile(re.escape(text))
    flags = re.I if "i" in m.group(2) else 0
    return re.compile(m.group(1), flags | (re.M if "m" in m.group(2) else 0))


def evaluate_if(expr: str, env: Mapping[str, str], loc: Loc | None = None) -> bool:
    value: Any = _Parser(expr, env, loc).parse()
    return value is not None and value is not False and value != ""


def _exists(globs: Any, project: Path) -> bool:
    items = (
        globs if isinstance(globs, list) else (globs.get("paths") if isinstance(globs, Mapping) else [globs])
    )
    return any(any(project.glob(str(g))) for g in items or ())


def decide(job: Job, env: Mapping[str, str], project: Path) -> Decision:
    """Whether a push pipeline would contain ``job``, and with which ``when``."""
    raw = job.raw
    loc = job.key_locs.get("rules") or job.loc
    rules = raw.get("rules")
    if isinstance(rules, Sequence) and not isinstance(rules, str):
        for n, rule in enumerate(rules, 1):
            if not isinstance(rule, Mapping):
                continue
            if "if" in rule and not evaluate_if(str(rule["if"]), env, loc):
                continue
            if "exists" in rule and not _exists(rule["exists"], project):
                continue
            when = str(rule.get("when") or job.when or "on_success")
            allow = rule.get("allow_failure")
            rvars = tuple(
                Variable(str(k), "" if v is None else str(v))
                for k, v in (rule.get("variables") or {}).items()
            )
            why = f"rule {n}" + (f" (if: {rule['if']})" if "if" in rule else "")
            return Decision(when != "never", when, allow if isinstance(allow, bool) else None, rvars, why)
        return Decision(False, "never", why="no rule matched")
    ok = _refs_ok(raw.get("only"), env, True) and not _refs_ok(raw.get("except"), env, False)
    return Decision(ok, job.when, why="" if ok else "only/except")


def _refs_ok(spec: Any, env: Mapping[str, str], default: bool) -> bool:
    if spec is None:
        return default
    refs = spec.get("refs") if isinstance(spec, Mapping) else spec
    if refs is None:
        return default
    if isinstance(refs, str):
        refs = [refs]
    ref = env.get("CI_COMMIT_REF_NAME", "")
    is_tag = bool(env.get("CI_COMMIT_TAG"))
    for item in refs:
        text = str(item)
        if text in ("branches",) and not is_tag:
            return True
        if text == "tags" and is_tag:
            return True
        if text == "pushes":
            return True
        if text.startswith("/") and (pat := _regex(text)) and pat.search(ref):
            return True
        if text == ref:
            return True
    return False
