"""Parse ``.gitlab-ci.yml`` into :class:`~buildrig.gitlab.model.Pipeline`, the way GitLab reads it.

Order of processing follows GitLab: local includes are merged first (included files in order,
the including file on top, hashes deep-merged), then ``!reference`` tags are resolved over the
merged document, then ``extends`` (deep merge, arrays replaced, several levels), then
``default:`` (and the legacy top-level ``image``/``services``/``before_script``/``after_script``/
``cache``) fills keys a job did not set, as far as ``inherit: default`` allows. Every value
keeps the file:line it was written at.

Limits (:mod:`buildrig.gitlab.limits`): ``include: local`` stays inside the project directory, at
most :data:`~buildrig.gitlab.limits.MAX_INCLUDES` includes (repeats count), and the pipeline,
once aliases, ``!reference`` and ``extends`` are expanded, holds at most
:data:`~buildrig.gitlab.limits.MAX_NODES` values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from buildrig.errors import InputError, Loc
from buildrig.fsutil import read_user_text
from buildrig.gitlab.limits import MAX_INCLUDES, MAX_NODES, Sizes, too_big
from buildrig.gitlab.model import ImageSpec, Job, Pipeline, ServiceSpec, Variable
from buildrig.gitlab.yamlnodes import LList, LMap, Ref, deep_merge, load_documents, plain

#: Top-level keys that are not jobs.
RESERVED_KEYS = frozenset(
    {
        "stages",
        "types",
        "variables",
        "default",
        "include",
        "workflow",
        "image",
        "services",
        "before_script",
        "after_script",
        "cache",
        "spec",
    }
)
#: Keys ``default:`` may carry (GitLab's list), used by ``inherit: default``.
DEFAULT_KEYS = frozenset(
    {
        "after_script",
        "artifacts",
        "before_script",
        "cache",
        "hooks",
        "id_tokens",
        "identity",
        "image",
        "interruptible",
        "retry",
        "services",
        "tags",
        "timeout",
    }
)
LEGACY_GLOBAL_DEFAULTS = ("image", "services", "before_script", "after_script", "cache")
DEFAULT_STAGES = ("build", "test", "deploy")
_MAX_EXTENDS_DEPTH = 11
_MAX_REFERENCE_DEPTH = 10
_GLOB = re.compile(r"[*?\[]")


def load_pipeline(path: Path) -> Pipeline:
    """Read ``path`` (and its local includes, relative to its directory) into a Pipeline."""
    path = Path(path)
    return load_pipeline_text(_read(path, None, path.parent), path)


def load_pipeline_text(text: str, path: Path, *, root: Path | None = None) -> Pipeline:
    """Parse ``text`` as if it were the file ``path``; includes resolve under ``root``
    (default: the file's directory, i.e. the project root)."""
    path = Path(path)
    loader = _Loader(root if root is not None else path.parent)
    top = loader.load(path, text, ())
    top = _resolve_references(top, loader)
    loader.sizes.check(top, top.loc, "the pipeline")
    return _build_pipeline(path, top, loader)


# --- reading and includes -----------------------------------------------------------------------


def _read(path: Path, loc: Loc | None, root: Path) -> str:
    """The text of a pipeline file, which must lie inside the project ``root``.

    GitLab reads ``include: local`` from the repository only; a symlink or ``../`` that leads out
    of the project would let a pipeline read (and an error message echo) any file of the host.
    """
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
        raise InputError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}", loc=loc) from None
    if not inside:
        raise InputError(f"{path}: leads outside the project directory {root}; not read", loc=loc)
    return read_user_text(path, loc=loc)


class _Loader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.included = 0
        self.sizes = Sizes()
        self.files: list[Path] = []
        self.skipped: list[tuple[str, Loc]] = []
        self.unresolved: list[tuple[str, Loc]] = []

    def load(self, path: Path, text: str, stack: tuple[Path, ...]) -> LMap:
        key = path.resolve()
        if key not in {p.resolve() for p in self.files}:
            self.files.append(path)
        docs = load_documents(text, path, self.sizes)
        doc = _config_document(docs, path)
        includes = doc.pop("include", None)
        inc_loc = doc.locs.pop("include", doc.loc)
        merged: LMap | None = None
        for inc_path, loc in self._local_includes(includes, inc_loc):
            ikey = inc_path.resolve()
            if ikey in stack or ikey == key:
                chain = " -> ".join(str(p) for p in (*stack, path, inc_path))
                raise InputError(f"include cycle: {chain}", loc=loc)
            # GitLab counts every include, nested and repeated ones too (ci_max_includes)
            self.included += 1
            if self.included > MAX_INCLUDES:
                raise InputError(f"more than the limit of {MAX_INCLUDES} included files", loc=loc)
            sub = self.load(inc_path, _read(inc_path, loc, self.root), (*stack, key))
            merged = sub if merged is None else deep_merge(merged, sub)
        return doc if merged is None else deep_merge(merged, doc)

    def _local_includes(self, value: Any, loc: Loc) -> Iterable[tuple[Path, Loc]]:
        if value is None:
            return
        items: list[tuple[Any, Loc]]
        if isinstance(value, LList):
            items = [(v, value.item_loc(i)) for i, v in enumerate(value)]
        else:
            items = [(value, loc)]
        for item, iloc in items:
            if isinstance(item, str):
                if re.match(r"^[a-z]+://", item):
                    self.skipped.append((f"remote: {item}", iloc))
                    continue
                yield from self._expand(item, iloc)
            elif isinstance(item, LMap):
                if "local" in item:
                    local = item["local"]
                    if not isinstance(local, str):
                        raise InputError("include: local must be a path", loc=item.key_loc("local"))
                    yield from self._expand(local, item.key_loc("local"))
                else:
                    kind = next(iter(item), "?")
                    self.skipped.append((f"{kind}: {plain(item.get(kind))}", iloc))
            else:
                raise InputError("include entries are paths or mappings like {local: path}", loc=iloc)

    def _expand(self, rel: str, loc: Loc) -> Iterable[tuple[Path, Loc]]:
        rel = rel.lstrip("/")
        if "$" in rel:  # variables in include paths are expanded by GitLab from project variables
            self.skipped.append((f"local: {rel} (uses variables)", loc))
            return
        if _GLOB.search(rel):
            try:
                found = sorted(p for p in self.root.glob(rel) if p.is_file())
            except (OSError, ValueError) as exc:
                raise InputError(f"include: local '{rel}' cannot be matched: {exc}", loc=loc) from None
            if not found:
                raise InputError(f"include: local '{rel}' matches no file under {self.root}", loc=loc)
            for p in found:
                yield p, loc
            return
        target = self.root / rel
        try:
            exists = target.exists()
        except (OSError, ValueError) as exc:  # a name too long, a NUL byte
            raise InputError(f"include: local '{rel}' cannot be read: {exc}", loc=loc) from None
        if not exists:
            raise InputError(f"include: local file '{rel}' does not exist under {self.root}", loc=loc)
        yield target, loc


def _config_document(docs: list[Any], path: Path) -> LMap:
    # A file may start with a `spec:` header document (CI/CD inputs) followed by the config.
    if len(docs) >= 2 and isinstance(docs[0], LMap) and "spec" in docs[0]:
        docs = docs[1:]
    if len(docs) > 1:
        raise InputError(
            "expected one YAML document (or a spec: header and one document)", loc=Loc(str(path))
        )
    if not docs or docs[0] is None:
        return LMap(Loc(str(path), 1))
    doc = docs[0]
    if not isinstance(doc, LMap):
        raise InputError("the top level must be a mapping of jobs and keywords", loc=Loc(str(path), 1))
    return doc


# --- !reference ----------------------------------------------------------------------------------


def _resolve_references(top: LMap, loader: _Loader) -> LMap:
    # Each reference path and each container is resolved once: a tag used many times (or a
    # fan-out of tags referring to tags) shares the result instead of walking it again, which
    # keeps this linear; the expanded size is checked by the caller. Results remember how many
    # references deep they go, so the 10-level limit holds wherever a shared result is reused.
    resolved: dict[tuple[str, ...], tuple[Any, int]] = {}
    walked: dict[int, tuple[Any, int]] = {}

    def lookup(ref: Ref, depth: int) -> tuple[Any, int]:
        if depth > _MAX_REFERENCE_DEPTH:
            raise InputError(f"!reference {list(ref.path)} nests deeper than 10 levels", loc=ref.loc)
        found = resolved.get(ref.path)
        if found is not None:
            if depth + found[1] - 1 > _MAX_REFERENCE_DEPTH:
                raise InputError(f"!reference {list(ref.path)} nests deeper than 10 levels", loc=ref.loc)
            return found
        node: Any = top
        for i, part in enumerate(ref.path):
            if not isinstance(node, LMap) or part not in node:
                where = " > ".join(ref.path[: i + 1])
                if loader.skipped and i == 0:
                    # most likely defined in an include we do not follow: keep going without it
                    loader.unresolved.append((f"!reference {list(ref.path)}", ref.loc))
                    return None, 1
                raise InputError(f"!reference {list(ref.path)}: '{where}' could not be found", loc=ref.loc)
            node = node[part]
        value, height = walk(node, depth + 1)
        resolved[ref.path] = (value, height + 1)
        return value, height + 1

    # One pass: a subtree without a !reference comes back as the same object, so a container
    # is copied only when something below it changed.
    def walk(value: Any, depth: int) -> tuple[Any, int]:
        if isinstance(value, Ref):
            return lookup(value, depth)
        if not isinstance(value, (LMap, LList)):
            return value, 0
        found = walked.get(id(value))
        if found is not None:
            if found[1] and depth + found[1] - 1 > _MAX_REFERENCE_DEPTH:
                return _walk_container(value, depth, walk)  # raises, naming the deep reference
            return found
        result = _walk_container(value, depth, walk)
        walked[id(value)] = result
        return result

    result, _ = walk(top, 0)
    assert isinstance(result, LMap)
    return result


def _walk_container(value: LMap | LList, depth: int, walk: Any) -> tuple[Any, int]:
    height = 0
    if isinstance(value, LMap):
        changed: dict[str, Any] | None = None
        for k, v in value.items():
            if isinstance(v, (LMap, LList, Ref)):
                w, h = walk(v, depth)
                height = max(height, h)
                if w is not v:
                    if changed is None:
                        changed = {}
                    changed[k] = w
        if changed is None:
            return value, height
        out = LMap(value.loc)
        for k, v in value.items():
            out[k] = changed.get(k, v)
            out.locs[k] = value.key_loc(k)
        return out, height
    items: list[Any] | None = None
    for i, v in enumerate(value):
        if isinstance(v, (LMap, LList, Ref)):
            w, h = walk(v, depth)
            height = max(height, h)
            if w is not v:
                if items is None:
                    items = list(value)
                items[i] = w
    if items is None:
        return value, height
    seq = LList(value.loc)
    seq.extend(items)
    seq.locs = list(value.locs)
    return seq, height


# --- extends, default, jobs --------------------------------------------------------------------


def _extends_names(value: Any, loc: Loc) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InputError("extends must be a job name or a list of job names", loc=loc)


def _resolve_extends(top: LMap, names: Iterable[str], loader: _Loader) -> dict[str, LMap]:
    done: dict[str, LMap] = {}

    def resolve(name: str, stack: tuple[str, ...]) -> LMap:
        if name in done:
            return done[name]
        job = top[name]
        if not isinstance(job, LMap) or "extends" not in job:
            done[name] = job
            return job
        if len(stack) >= _MAX_EXTENDS_DEPTH:
            raise InputError(f"{name}: extends nests deeper than {_MAX_EXTENDS_DEPTH} levels", loc=job.loc)
        eloc = job.key_loc("extends")
        merged: LMap | None = None
        for base in _extends_names(job["extends"], eloc):
            if base in stack or base == name:
                chain = " -> ".join((*stack, name, base))
                raise InputError(f"circular dependency in extends: {chain}", loc=eloc)
            if base not in top and loader.skipped:
                # defined in a remote/template/project include we do not follow
                loader.unresolved.append((f"{name}: extends '{base}'", eloc))
                continue
            if base not in top or base in RESERVED_KEYS:
                raise InputError(f"{name}: extends unknown job '{base}'", loc=eloc)
            if not isinstance(top[base], LMap):
                raise InputError(f"{name}: extends '{base}', which is not a job mapping", loc=eloc)
            parent = resolve(base, (*stack, name))
            merged = parent if merged is None else deep_merge(merged, parent)
        result = deep_merge(merged, job) if merged is not None else job
        done[name] = result
        return result

    for name in names:
        resolve(name, ())
    return done


def _defaults(top: LMap) -> LMap:
    out = LMap(top.loc)
    for key in LEGACY_GLOBAL_DEFAULTS:
        if key in top:
            out[key] = top[key]
            out.locs[key] = top.key_loc(key)
    default = top.get("default")
    if default is not None:
        if not isinstance(default, LMap):
            raise InputError("default: must be a mapping", loc=top.key_loc("default"))
        for key, value in default.items():
            out[key] = value
            out.locs[key] = default.key_loc(key)
    return out


def _inherit(job: LMap, what: str) -> bool | tuple[str, ...]:
    inherit = job.get("inherit")
    if not isinstance(inherit, LMap) or what not in inherit:
        return True
    value = inherit[what]
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise InputError(f"inherit:{what} must be true, false or a list", loc=inherit.key_loc(what))


def _build_pipeline(path: Path, top: LMap, loader: _Loader) -> Pipeline:
    job_names = [k for k, v in top.items() if k not in RESERVED_KEYS]
    for name in job_names:
        if not isinstance(top[name], LMap):
            raise InputError(
                f"'{name}' is not a keyword and not a job: a job must be a mapping with a script",
                loc=top.key_loc(name),
            )
    resolved = _resolve_extends(top, job_names, loader)
    defaults = _defaults(top)
    jobs = []
    total = 0
    for name in job_names:
        if name.startswith("."):
            continue
        merged = resolved[name]
        inherit_default = _inherit(merged, "default")
        if inherit_default is not False and defaults:
            filled = LMap(merged.loc)
            for key, value in defaults.items():
                if key in merged or (isinstance(inherit_default, tuple) and key not in inherit_default):
                    continue
                filled[key] = value
                filled.locs[key] = defaults.key_loc(key)
            if filled:
                merged = deep_merge(filled, merged)
        # extends and default: share parts between jobs; each job's raw copy pays for all of them
        total += loader.sizes.of(merged)
        if total > MAX_NODES:
            raise too_big(f"the pipeline up to job {name}", top.key_loc(name))
        jobs.append(_job(name, merged, top.key_loc(name)))

    stages_value = top.get("stages", top.get("types"))
    if stages_value is None:
        stages: tuple[str, ...] = DEFAULT_STAGES
    elif isinstance(stages_value, list) and all(isinstance(s, str) for s in _flatten(stages_value)):
        stages = tuple(str(s) for s in _flatten(stages_value))
    else:
        raise InputError("stages must be a list of names", loc=top.key_loc("stages"))
    stages = (".pre", *(s for s in stages if s not in (".pre", ".post")), ".post")

    global_vars = _variables(top.get("variables"), top.key_loc("variables"), "variables")
    return Pipeline(
        path=path,
        stages=stages,
        variables=global_vars,
        jobs=tuple(jobs),
        files=tuple(loader.files),
        skipped_includes=tuple(loader.skipped),
        unresolved=tuple(loader.unresolved),
        key_locs=MappingProxyType(dict(top.locs)),
        default_keys=MappingProxyType(dict(defaults.locs)),
    )


def _flatten(value: Any) -> Iterable[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _flatten(item)
    else:
        yield value


def _str_list(value: Any, loc: Loc, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        out = []
        for item in _flatten(value):
            if isinstance(item, dict):
                raise InputError(f"{what}: expected strings, found a mapping", loc=loc)
            if item is not None:  # an unresolved !reference into a skipped include
                out.append(_to_str(item))
        return tuple(out)
    if isinstance(value, bool | int | float):
        return (_to_str(value),)
    raise InputError(f"{what}: expected a string or a list of strings", loc=loc)


def _to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _variables(value: Any, loc: Loc, what: str) -> tuple[Variable, ...]:
    if value is None:
        return ()
    if not isinstance(value, LMap):
        raise InputError(f"{what} must be a mapping of NAME: value", loc=loc)
    out = []
    for name, raw in value.items():
        vloc = value.key_loc(name)
        if isinstance(raw, LMap):
            desc = raw.get("description")
            expand = raw.get("expand", True)
            val = raw.get("value", "")
            out.append(
                Variable(
                    name=name,
                    value="" if val is None else _to_str(val),
                    loc=vloc,
                    expand=bool(expand) if isinstance(expand, bool) else True,
                    description=None if desc is None else str(desc),
                )
            )
        elif isinstance(raw, list):
            raise InputError(f"{what}: {name} must be a string, not a list", loc=vloc)
        else:
            out.append(Variable(name=name, value="" if raw is None else _to_str(raw), loc=vloc))
    return tuple(out)


def _entrypoint(value: Any, loc: Loc) -> tuple[str, ...] | None:
    if value is None:
        return None
    return _str_list(value, loc, "entrypoint")


def _image(value: Any, loc: Loc) -> ImageSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        return ImageSpec(name=value, loc=loc)
    if isinstance(value, LMap):
        name = value.get("name")
        if not isinstance(name, str):
            raise InputError("image: needs a name", loc=loc)
        docker = value.get("docker")
        user = docker.get("user") if isinstance(docker, LMap) else None
        platform = docker.get("platform") if isinstance(docker, LMap) else None
        pp = value.get("pull_policy")
        return ImageSpec(
            name=name,
            entrypoint=_entrypoint(value.get("entrypoint"), value.key_loc("entrypoint")),
            pull_policy=None if pp is None else _str_list(pp, value.key_loc("pull_policy"), "pull_policy"),
            user=None if user is None else str(user),
            platform=None if platform is None else str(platform),
            loc=loc,
        )
    raise InputError("image: must be a name or a mapping with name", loc=loc)


def _services(value: Any, loc: Loc) -> tuple[ServiceSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, LList):
        raise InputError("services: must be a list", loc=loc)
    out = []
    for i, item in enumerate(_flatten_located(value)):
        item_value, iloc = item
        if isinstance(item_value, str):
            out.append(ServiceSpec(name=item_value, loc=iloc))
        elif isinstance(item_value, LMap):
            name = item_value.get("name")
            if not isinstance(name, str):
                raise InputError(f"services[{i}]: needs a name", loc=iloc)
            alias = item_value.get("alias")
            pp = item_value.get("pull_policy")
            cmd = item_value.get("command")
            out.append(
                ServiceSpec(
                    name=name,
                    alias=None if alias is None else str(alias),
                    entrypoint=_entrypoint(item_value.get("entrypoint"), item_value.key_loc("entrypoint")),
                    command=None if cmd is None else _str_list(cmd, item_value.key_loc("command"), "command"),
                    variables=_variables(
                        item_value.get("variables"), item_value.key_loc("variables"), "service variables"
                    ),
                    pull_policy=None
                    if pp is None
                    else _str_list(pp, item_value.key_loc("pull_policy"), "pull_policy"),
                    loc=iloc,
                )
            )
        else:
            raise InputError("services: entries are image names or mappings with name", loc=iloc)
    return tuple(out)


def _flatten_located(seq: LList) -> Iterable[tuple[Any, Loc]]:
    for i, item in enumerate(seq):
        if isinstance(item, LList):
            yield from _flatten_located(item)
        else:
            yield item, seq.item_loc(i)


def _job(name: str, merged: LMap, loc: Loc) -> Job:
    kl = merged.key_loc
    stage = merged.get("stage", "test")
    allow_failure = merged.get("allow_failure", False)
    when = merged.get("when", "on_success")
    return Job(
        name=name,
        stage=str(stage) if stage is not None else "test",
        loc=loc,
        image=_image(merged.get("image"), kl("image")),
        services=_services(merged.get("services"), kl("services")),
        variables=_variables(merged.get("variables"), kl("variables"), f"{name}: variables"),
        before_script=_str_list(merged.get("before_script"), kl("before_script"), "before_script"),
        script=_str_list(merged.get("script"), kl("script"), "script"),
        after_script=_str_list(merged.get("after_script"), kl("after_script"), "after_script"),
        tags=_str_list(merged.get("tags"), kl("tags"), "tags"),
        when=str(when),
        allow_failure=allow_failure is True or isinstance(allow_failure, dict),
        raw=MappingProxyType(plain(merged)),
        key_locs=MappingProxyType(dict(merged.locs)),
        inherit_variables=_inherit(merged, "variables"),
        extends=tuple(_extends_names(merged["extends"], kl("extends"))) if "extends" in merged else (),
    )


def job_variables(pipeline: Pipeline, job: Job) -> Mapping[str, Variable]:
    """Global variables the job inherits, then its own on top (GitLab's YAML-level precedence)."""
    env: dict[str, Variable] = {}
    inherit = job.inherit_variables
    for var in pipeline.variables:
        if inherit is True or (isinstance(inherit, tuple) and var.name in inherit):
            env[var.name] = var
    for var in job.variables:
        env[var.name] = var
    return env
