"""``$VAR`` expansion as GitLab does it for variables, image and service names (read at runner
v17.9.3).

The runner expands with Go's ``os.Expand`` over the job's variables (common/variables.go:125-127),
which reads:

- ``$NAME`` (letters, digits, ``_``) and ``${ANYTHING}`` look ``NAME`` up; no ``${VAR:-default}``
  or other shell forms: ``${A:-x}`` looks up a variable called ``A:-x``;
- ``$$`` is a literal ``$`` (common/variables.go:81-82);
- ``$1``…``$9``, ``$*``, ``$#``, ``$@``, ``$!``, ``$?``, ``$0`` are always empty
  (common/variables.go:83-84); ``$-`` looks up a variable called ``-``;
- an unknown variable is empty (common/variables.go:94);
- ``${}`` and an unclosed ``${`` are dropped; a ``$`` followed by nothing that names a variable
  (``$ ``, ``$/``, a trailing ``$``) stays;
- a File variable expands to the path of its file, not its content (common/variables.go:88-89).

Variables that refer to variables resolve all the way down: GitLab expands the job's variables
among themselves before the runner gets them (unknown references are kept for the runner), then
the runner expands each once more (common/build.go:1359, variables.go:129-139). A variable with
``expand: false`` is passed as written (``Raw``, variables.go:132). A reference cycle is left as
written here (GitLab reports it as an error of the pipeline).

``keep_unknown`` keeps ``$NAME`` for a variable that is not known: doctor reads files, not the
project's settings, so a name it cannot see may well be set there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Protocol

_SPECIAL = frozenset("*#$@!?-0123456789")
_ALWAYS_EMPTY = frozenset("*#@!?0123456789")


def _is_name_char(c: str) -> bool:
    return c == "_" or ("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _shell_name(s: str, i: int) -> tuple[str, int]:
    """os.Expand's getShellName on ``s[i:]``: (name, characters used); name "" with width > 0
    is bad syntax that is dropped, with width 0 a ``$`` that stays."""
    c = s[i]
    if c == "{":
        if len(s) - i > 2 and s[i + 1] in _SPECIAL and s[i + 2] == "}":
            return s[i + 1], 3
        end = s.find("}", i + 1)
        if end == -1:
            return "", 1
        if end == i + 1:
            return "", 2
        return s[i + 1 : end], end - i + 1
    if c in _SPECIAL:
        return c, 1
    j = i
    while j < len(s) and _is_name_char(s[j]):
        j += 1
    return s[i:j], j - i


def expand(
    text: str, lookup: Callable[[str], str | None] | Mapping[str, str], *, keep_unknown: bool = False
) -> str:
    """``text`` with its references replaced; ``lookup`` gives None (or no entry) for unknown."""
    if "$" not in text:
        return text
    get: Callable[[str], str | None] = lookup.get if isinstance(lookup, Mapping) else lookup
    out: list[str] = []
    i = 0
    n = len(text)
    start = 0
    while i < n:
        if text[i] != "$" or i + 1 >= n:
            i += 1
            continue
        out.append(text[start:i])
        name, width = _shell_name(text, i + 1)
        if not name:
            if width == 0:
                out.append("$")
        elif name == "$":
            out.append("$")
        elif name in _ALWAYS_EMPTY:
            pass
        else:
            value = get(name)
            if value is None:
                out.append(text[i : i + 1 + width] if keep_unknown else "")
            else:
                out.append(value)
        i += 1 + width
        start = i
    out.append(text[start:])
    return "".join(out)


class VariableLike(Protocol):
    @property
    def value(self) -> str: ...

    @property
    def expand(self) -> bool: ...

    @property
    def file(self) -> bool: ...


def _lookup(
    variables: Mapping[str, VariableLike],
    file_path: Callable[[str], str] | None,
    value_of: Callable[[str], str],
) -> Callable[[str], str | None]:
    """A reference's value: None when unknown, a File variable's path, else ``value_of``."""

    def look(ref: str) -> str | None:
        var = variables.get(ref)
        if var is None:
            return None
        if file_path is not None and var.file:
            return file_path(ref)
        return value_of(ref)

    return look


def resolve(
    name: str,
    variables: Mapping[str, VariableLike],
    *,
    keep_unknown: bool = False,
    file_path: Callable[[str], str] | None = None,
    memo: MutableMapping[str, str] | None = None,
) -> str:
    """The value of ``variables[name]`` with its references resolved all the way down.

    ``file_path`` names the file a File variable is written to (a reference expands to it);
    without it the reference expands to the content. ``memo`` keeps answers across calls over
    the same variables."""
    memo = {} if memo is None else memo

    def value_of(key: str, stack: tuple[str, ...]) -> str:
        hit = memo.get(key)
        if hit is not None:
            return hit
        var = variables[key]
        if not var.expand or "$" not in var.value:
            out = var.value
        else:

            def inner(ref: str) -> str:
                # a cycle: the text as written
                return variables[ref].value if ref in stack else value_of(ref, (*stack, ref))

            look = _lookup(variables, file_path, inner)
            out = expand(var.value, look, keep_unknown=keep_unknown)
        memo[key] = out
        return out

    return value_of(name, (name,))


def expand_with(
    text: str,
    variables: Mapping[str, VariableLike],
    *,
    keep_unknown: bool = False,
    file_path: Callable[[str], str] | None = None,
) -> str:
    """``text`` (an image name, ``DOCKER_HOST``…) expanded against ``variables``, whose own
    references resolve all the way down."""
    if "$" not in text:
        return text
    memo: dict[str, str] = {}

    def inner(ref: str) -> str:
        return resolve(ref, variables, keep_unknown=keep_unknown, file_path=file_path, memo=memo)

    look = _lookup(variables, file_path, inner)
    return expand(text, look, keep_unknown=keep_unknown)
