"""Limits on input: what buildrig refuses to read, before it costs a crash, a hang or the memory.

A hostile or careless file must end in one clear line naming file:line (exit 2), never in a
segfault of the C YAML parser, a RecursionError, minutes of CPU or gigabytes of memory:

- :data:`MAX_DEPTH` levels of nesting in YAML, JSON and TOML, checked *before* the text reaches a
  parser (the C composer recurses on the C stack: 30,000 ``[`` overflow it). GitLab refuses CI
  configs deeper than its ``max_yaml_depth`` setting, 100 by default.
- :data:`MAX_NODES` values in a document once YAML aliases, ``!reference`` and ``extends`` are
  expanded (a 440-byte alias bomb expands to 43 million), counted without expanding anything.
- :data:`MAX_INCLUDES` included files per pipeline, GitLab's default ``ci_max_includes``.
- :data:`~buildrig.fsutil.MAX_INPUT_BYTES` per file read (regular files only).
- ``parallel``: :data:`MAX_PARALLEL` jobs, for a number as for a matrix (GitLab's 1..200).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from buildrig.errors import InputError, Loc

MAX_DEPTH = 100
MAX_NODES = 1_000_000
MAX_INCLUDES = 150
MAX_PARALLEL = 200

_OPENERS = frozenset("[{")


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _too_deep(path: Path | str, line: int) -> InputError:
    return InputError(f"nested deeper than the limit of {MAX_DEPTH} levels", loc=Loc(str(path), line))


# --- YAML -----------------------------------------------------------------------------------------


def _yaml_bound(text: str) -> int:
    """An upper bound on the nesting depth of ``text`` that costs one pass of C-level string work.

    Every flow collection opens with ``[`` or ``{`` (so their number bounds flow nesting, whatever
    quotes and closers surround them), and a block collection nests only under a deeper
    indentation or behind a compact ``- ``/``? `` on the same line: twice the deepest stack of
    indentations plus the indicators of one line bounds block nesting.
    """
    flow = text.count("[") + text.count("{")
    if flow > MAX_DEPTH:
        return flow
    stack: list[int] = []
    deepest = 0
    for line in text.splitlines():
        body = line.lstrip(" ")
        if not body or body[0] == "#":
            continue
        indent = len(line) - len(body)
        while stack and stack[-1] >= indent:
            stack.pop()
        stack.append(indent)
        compact = body.count("- ") + body.count("? ") + body.count(": ")
        deepest = max(deepest, 2 * len(stack) + compact + 1)
        if flow + deepest > MAX_DEPTH:
            break
    return flow + deepest


def check_yaml_depth(text: str, path: Path | str) -> None:
    """InputError at the first line nested deeper than :data:`MAX_DEPTH`.

    Most files are shown shallow by :func:`_yaml_bound`; the rest are walked exactly with the
    parser's event stream, which is iterative (only the composer recurses).
    """
    if _yaml_bound(text) <= MAX_DEPTH:
        return
    from ruamel.yaml import events as ev
    from ruamel.yaml.error import YAMLError

    opens = (ev.SequenceStartEvent, ev.MappingStartEvent)
    closes = (ev.SequenceEndEvent, ev.MappingEndEvent)
    try:
        from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - depends on the installed wheels
        CParser = None
    depth = 0
    try:
        if CParser is None:  # pragma: no cover - depends on the installed wheels
            from ruamel.yaml import YAML

            get = iter(YAML(typ="safe", pure=True).parse(text)).__next__
        else:
            get = CParser(text).get_event
        while True:
            event = get()
            kind = type(event)
            if kind in opens:
                depth += 1
                if depth > MAX_DEPTH:
                    raise _too_deep(path, event.start_mark.line + 1)
            elif kind in closes:
                depth -= 1
            elif kind is ev.StreamEndEvent:
                return
    except (YAMLError, StopIteration, UnicodeError):
        return  # malformed: the real parse reports it at its line


# --- JSON and TOML --------------------------------------------------------------------------------

_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
# TOML: basic and literal strings (one- and multi-line) and comments hide brackets
_TOML_TOKENS = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]', re.S
)


def _bracket_depth(text: str, path: Path | str, tokens: re.Pattern[str]) -> None:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for match in tokens.finditer(text):
        token = match.group()
        if token in _OPENERS:
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(path, _line_at(text, match.start()))
        elif token in ("]", "}"):
            depth -= 1


def check_json_depth(text: str, path: Path | str) -> None:
    """InputError at the first line of ``text`` (JSON) nested deeper than :data:`MAX_DEPTH`."""
    _bracket_depth(text, path, _JSON_TOKENS)


def check_toml_depth(text: str, path: Path | str) -> None:
    """InputError at the first line of ``text`` (TOML) nested deeper than :data:`MAX_DEPTH`.

    Table headers (``[a]``, ``[[a]]``) close on their own line, so they never add up.
    """
    _bracket_depth(text, path, _TOML_TOKENS)


# --- expanded size --------------------------------------------------------------------------------


class Sizes:
    """How many values a tree holds once every shared subtree is copied out, counted in time
    linear in the number of distinct containers: each container's count is kept by identity.

    Aliases, ``!reference`` and ``extends`` share subtrees instead of copying them; anything that
    later walks or copies the tree (``plain``, rules, output) pays the expanded size. Each counted
    container is held here too, so its id cannot be reused by a new one while the counts are used.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[int, tuple[int, object]] = {}

    def of(self, value: Any) -> int:
        if not isinstance(value, (dict, list)):
            return 1
        key = id(value)
        found = self._seen.get(key)
        if found is not None:
            return found[0]
        self._seen[key] = (1, value)  # reached again while being counted: a recursive anchor
        children = value.values() if isinstance(value, dict) else value
        total = 1
        for child in children:
            total += self.of(child) if isinstance(child, (dict, list)) else 1
        self._seen[key] = (total, value)
        return total

    def check(self, value: Any, loc: Loc, what: str) -> int:
        """InputError at ``loc`` when ``value`` expands past :data:`MAX_NODES` values, naming the
        deepest part that is past the limit alone (where the aliases multiply) when there is one."""
        size = self.of(value)
        if size <= MAX_NODES:
            return size
        node = value
        for _ in range(10 * MAX_DEPTH):  # bounded: a cycle must not turn this into a hang
            children = node.values() if isinstance(node, dict) else node
            big = [c for c in children if isinstance(c, (dict, list)) and self.of(c) > MAX_NODES]
            if not big:
                break
            node = big[0]
        if node is not value:
            what, loc = "this part", getattr(node, "loc", loc)
        raise too_big(what, loc)


def too_big(what: str, loc: Loc) -> InputError:
    return InputError(
        f"{what} expands to more than the limit of {MAX_NODES:,} values "
        "(YAML aliases, !reference or extends repeat the same part)",
        loc=loc,
    )
