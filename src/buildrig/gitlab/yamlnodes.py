"""YAML to plain values that remember where they were written.

ruamel.yaml composes the node tree (its libyaml-based C composer when ``ruamel.yaml.clib`` is
installed, the pure-Python one otherwise); we build the values ourselves from the nodes because
the round-trip constructor is ~40x slower than composing, and a 1,000-job pipeline must load in
well under a second. Every mapping is an :class:`LMap` (a dict with ``loc`` and per-key ``locs``),
every sequence an :class:`LList`; ``!reference`` becomes a :class:`Ref` to be resolved later.

Text nested deeper than :data:`~buildrig.gitlab.limits.MAX_DEPTH` never reaches the composer (it
recurses on the C stack), and a document whose aliases expand past
:data:`~buildrig.gitlab.limits.MAX_NODES` values is refused once composed (an alias is the anchor's
own node, so composing costs nothing; copying it out would).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from buildrig.errors import InputError, Loc
from buildrig.gitlab.limits import Sizes, check_yaml_depth

try:  # the C composer; a pure-Python fallback keeps buildrig working without the wheel
    from ruamel.yaml.cyaml import CSafeLoader as _CSafeLoader
except ImportError:  # pragma: no cover - depends on the installed wheels
    _CSafeLoader = None  # type: ignore[assignment,misc]

if _CSafeLoader is not None:

    class _CLoader(_CSafeLoader):
        """The C composer with its tag resolution remembered per (kind, value, implicit).

        The composer asks the Python resolver for every node; a pipeline repeats the same keys
        and values thousands of times and, with no path resolvers registered, the answer depends
        only on those three arguments. Tags are never mutated, so nodes may share one.
        """

        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._resolved: dict[tuple[Any, Any, Any], Any] = {}

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            key = (kind, value, implicit)
            try:
                return self._resolved[key]
            except KeyError:
                tag = super().resolve(kind, value, implicit)
                if not self.yaml_path_resolvers:
                    self._resolved[key] = tag
                return tag

        # path resolvers are what these track; with none registered they have nothing to do
        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            if self.yaml_path_resolvers:
                super().descend_resolver(current_node, current_index)

        def ascend_resolver(self) -> None:
            if self.yaml_path_resolvers:
                super().ascend_resolver()

else:  # pragma: no cover - depends on the installed wheels
    _CLoader = None  # type: ignore[assignment,misc]


class LMap(dict[str, Any]):
    """A mapping with the Loc of itself and of each key."""

    __slots__ = ("loc", "locs")

    def __init__(self, loc: Loc) -> None:
        super().__init__()
        self.loc = loc
        self.locs: dict[str, Loc] = {}

    def key_loc(self, key: str) -> Loc:
        return self.locs.get(key, self.loc)


class LList(list[Any]):
    """A sequence with the Loc of itself and of each item."""

    __slots__ = ("loc", "locs")

    def __init__(self, loc: Loc) -> None:
        super().__init__()
        self.loc = loc
        self.locs: list[Loc] = []

    def item_loc(self, index: int) -> Loc:
        return self.locs[index] if 0 <= index < len(self.locs) else self.loc


@dataclass(frozen=True)
class Ref:
    """A ``!reference [job, key, ...]`` tag, resolved once every file is merged."""

    path: tuple[str, ...]
    loc: Loc


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_REFERENCE = "!reference"
_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")


def _tag(node: Node) -> str:
    # Node.tag builds a string from a Tag object on every access; the suffix is the same string
    ctag = node.ctag
    suffix = getattr(ctag, "suffix", None)
    return suffix if isinstance(suffix, str) and getattr(ctag, "handle", None) is None else str(node.tag)


def _scalar(node: ScalarNode) -> Any:
    return _scalar_tagged(node, _tag(node))


def _scalar_tagged(node: ScalarNode, tag: str) -> Any:
    text = node.value
    if tag == _STR or node.style in ("'", '"', "|", ">"):
        return text
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return text.lower() in ("true", "yes", "on")
    if tag == _INT:
        try:
            if text.lower().startswith(("0o", "-0o", "+0o")):
                return int(text.replace("0o", "").replace("0O", ""), 8)
            if text.lower().startswith(("0x", "-0x", "+0x")):
                return int(text, 16)
            return int(text.replace("_", ""))
        except ValueError:
            return text
    if tag == _FLOAT:
        low = text.lower()
        if low in (".inf", "+.inf"):
            return math.inf
        if low == "-.inf":
            return -math.inf
        if low == ".nan":
            return math.nan
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return text
    return text


def _key_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_BUILDING = object()  # the memo's mark for a node being built: meeting it again is recursion


class _Builder:
    def __init__(self, path: Path) -> None:
        self.file = str(path)
        self.memo: dict[int, Any] = {}
        # Locs are frozen values: one per line serves every node written on it
        self.locs: dict[int, Loc] = {}

    def loc(self, node: Node) -> Loc:
        line = node.start_mark.line + 1
        found = self.locs.get(line)
        if found is None:
            found = self.locs[line] = Loc(self.file, line)
        return found

    def build(self, node: Node) -> Any:
        if type(node) is ScalarNode:
            # most nodes: a scalar's value is immutable, so an alias may rebuild it unmemoized
            tag = _tag(node)
            if tag != _REFERENCE:
                return _scalar_tagged(node, tag)
        key = id(node)
        if key in self.memo:  # an alias: the same node object as its anchor
            value = self.memo[key]
            if value is _BUILDING:
                raise InputError("an alias inside its own anchor (a recursive alias)", loc=self.loc(node))
            return value
        self.memo[key] = _BUILDING
        value = self._build(node)
        self.memo[key] = value
        return value

    def _build(self, node: Node) -> Any:
        tag = _tag(node)
        if tag == _REFERENCE:
            if not isinstance(node, SequenceNode):
                raise InputError(
                    "!reference needs a list, e.g. !reference [.job, script]", loc=self.loc(node)
                )
            parts = tuple(str(_scalar(n)) if isinstance(n, ScalarNode) else "" for n in node.value)
            if not parts or "" in parts:
                raise InputError("!reference needs a non-empty list of names", loc=self.loc(node))
            return Ref(parts, self.loc(node))
        if isinstance(node, ScalarNode):
            return _scalar_tagged(node, tag)
        if isinstance(node, SequenceNode):
            seq = LList(self.loc(node))
            append, locs_append, build, loc = seq.append, seq.locs.append, self.build, self.loc
            for item in node.value:
                append(build(item))
                iloc = self.locs.get(item.start_mark.line + 1)
                locs_append(iloc if iloc is not None else loc(item))
            return seq
        if isinstance(node, MappingNode):
            return self._mapping(node)
        raise InputError(f"unsupported YAML node {tag}", loc=self.loc(node))  # pragma: no cover

    def _mapping(self, node: MappingNode) -> LMap:
        out = LMap(self.loc(node))
        locs = out.locs
        merges: list[LMap] = []
        build, loc = self.build, self.loc
        for knode, vnode in node.value:
            ctag = knode.ctag
            if type(knode) is ScalarNode and ctag.suffix == _STR and ctag.handle is None:
                # the usual key: a plain string (the general path below gives the same)
                key = knode.value
                if key in out:
                    first = locs[key].line
                    raise InputError(
                        f'duplicate key "{key}" (first defined on line {first})', loc=self.loc(knode)
                    )
                out[key] = build(vnode)
                kloc = self.locs.get(knode.start_mark.line + 1)
                locs[key] = kloc if kloc is not None else loc(knode)
                continue
            ktag = _tag(knode)
            if ktag == _MERGE:
                src = build(vnode)
                items = src if isinstance(src, list) else [src]
                for item in items:
                    if not isinstance(item, LMap):
                        raise InputError("'<<' merges only mappings", loc=self.loc(vnode))
                    merges.append(item)
                continue
            if not isinstance(knode, ScalarNode):
                raise InputError("mapping keys must be plain scalars", loc=self.loc(knode))
            raw_key = _scalar_tagged(knode, ktag)
            key = raw_key if type(raw_key) is str else "" if raw_key is None else _key_str(raw_key)
            if key in out:
                first = locs[key].line
                raise InputError(
                    f'duplicate key "{key}" (first defined on line {first})', loc=self.loc(knode)
                )
            out[key] = build(vnode)
            line = knode.start_mark.line + 1
            kloc = self.locs.get(line)
            locs[key] = kloc if kloc is not None else loc(knode)
        # YAML merge keys: explicit keys win; among merged maps the first one listed wins.
        for src in merges:
            for key, value in src.items():
                if key not in out:
                    out[key] = value
                    locs[key] = src.key_loc(key)
        return out


def _docs(text: str, path: Path) -> Iterator[Node]:
    if _CLoader is None:
        from ruamel.yaml import YAML

        yield from YAML(typ="safe", pure=True).compose_all(text)
        return
    loader = _CLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                yield node
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()


def load_documents(text: str, path: Path, sizes: Sizes | None = None) -> list[Any]:
    """Every YAML document of ``text`` as located values; malformed YAML → InputError at file:line.
    ``sizes`` carries expanded sizes over to later checks of the same values."""
    check_yaml_depth(text, path)
    builder = _Builder(path)
    try:
        docs = [builder.build(node) for node in _docs(text, path)]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = exc.problem or exc.context or "malformed YAML"
        ctx = f" ({exc.context})" if exc.context and exc.problem else ""
        raise InputError(f"invalid YAML: {what}{ctx}", loc=Loc(str(path), line)) from None
    except YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", loc=Loc(str(path))) from None
    except RecursionError:
        raise InputError("YAML nested too deeply", loc=Loc(str(path))) from None
    except UnicodeEncodeError as exc:  # text that did not come from a strict UTF-8 decode
        raise InputError(f"not UTF-8 text ({exc.reason})", loc=Loc(str(path))) from None
    sizes = Sizes() if sizes is None else sizes
    for doc in docs:
        sizes.check(doc, getattr(doc, "loc", Loc(str(path), 1)), "this document")
    return docs


def plain(value: Any) -> Any:
    """Located values back to plain dict/list/scalars (``Ref`` left as is)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def deep_merge(base: Any, override: Any) -> Any:
    """GitLab's merge for ``extends``/``include``: hashes merge key by key, anything else replaces."""
    if not (isinstance(base, LMap) and isinstance(override, LMap)):
        return override
    out = LMap(override.loc)
    for key, value in base.items():
        out[key] = value
        out.locs[key] = base.key_loc(key)
    for key, value in override.items():
        out[key] = deep_merge(out[key], value) if key in out else value
        out.locs[key] = override.key_loc(key)
    return out
