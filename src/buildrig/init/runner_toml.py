"""The runner side: render a ``[[runners]]`` fragment, or merge it into an existing config.toml.

tomlkit keeps the user's comments, order and formatting; we only add what the way needs: a
missing volume, ``privileged = true`` for dind, ``security_opt`` entries, Kubernetes volumes and
annotations. A setting we would have to remove (e.g. ``privileged`` on a runner other jobs may
rely on) is reported as a warning instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError
from tomlkit.items import AoT, Array, Table

from buildrig.errors import InputError, Loc
from buildrig.strategies.base import RunnerSpec


@dataclass(frozen=True)
class Merged:
    text: str
    notes: tuple[str, ...]
    warnings: tuple[str, ...]


def parse(text: str, path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        msg = str(exc).split(" at line ")[0]
        raise InputError(f"malformed TOML: {msg}", loc=Loc.of(path, exc.line)) from exc
    except TOMLKitError as exc:
        raise InputError(f"malformed TOML: {exc}", loc=Loc.of(path)) from exc


def _array(values: tuple[str, ...] | list[str]) -> Array:
    arr = tomlkit.array()
    arr.extend(values)
    return arr


def _section_table(spec: RunnerSpec) -> Table:
    t = tomlkit.table()
    if spec.image:
        t.add("image", spec.image)
    t.add("privileged", spec.privileged)
    if spec.volumes:
        t.add("volumes", _array(spec.volumes))
    if spec.security_opt:
        t.add("security_opt", _array(spec.security_opt))
    if spec.devices:
        t.add("devices", _array(spec.devices))
    if spec.empty_dirs or spec.host_paths:
        vols = tomlkit.table()
        if spec.empty_dirs:
            aot = tomlkit.aot()
            for d in spec.empty_dirs:
                e = tomlkit.table()
                e.add("name", d.name)
                e.add("mount_path", d.mount_path)
                if d.medium:
                    e.add("medium", d.medium)
                aot.append(e)
            vols.add("empty_dir", aot)
        if spec.host_paths:
            aot = tomlkit.aot()
            for h in spec.host_paths:
                e = tomlkit.table()
                e.add("name", h.name)
                e.add("host_path", h.host_path)
                e.add("mount_path", h.mount_path)
                e.add("read_only", h.read_only)
                aot.append(e)
            vols.add("host_path", aot)
        t.add("volumes", vols)
    if spec.pod_annotations:
        ann = tomlkit.table()
        for k, v in spec.pod_annotations:
            ann.add(k, v)
        t.add("pod_annotations", ann)
    return t


def runner_table(spec: RunnerSpec, name: str) -> Table:
    r = tomlkit.table()
    r.add("name", name)
    r.add("executor", spec.executor)
    if spec.section:
        r.add(spec.section, _section_table(spec))
    return r


def render_fragment(spec: RunnerSpec, name: str, header: str) -> str:
    doc = tomlkit.document()
    for line in header.splitlines():
        doc.add(tomlkit.comment(line))
    aot = tomlkit.aot()
    aot.append(runner_table(spec, name))
    doc.add("runners", aot)
    return tomlkit.dumps(doc)


def _executor(r: Any) -> str:
    return str(r.get("executor", "")) if isinstance(r, dict) else ""


def _need(value: Any, kind: type | tuple[type, ...], what: str, path: Path) -> None:
    """Refuse a setting of the wrong TOML type (``volumes = "/cache"``) instead of failing on it."""
    if not isinstance(value, kind):
        raise InputError(
            f"{what} must be {_KIND_NAMES.get(kind, 'a table')}; merge by hand", loc=Loc.of(path)
        )


_KIND_NAMES: dict[Any, str] = {list: "an array", dict: "a table"}


def _merge_list(section: Table, key: str, values: tuple[str, ...], added: list[str], path: Path) -> None:
    if not values:
        return
    cur = section.get(key)
    if cur is not None:
        _need(cur, list, key, path)
    if cur is None:
        section[key] = _array(values)
        added.append(f"{key} = {list(values)}")
        return
    for v in values:
        if v not in [str(x) for x in cur]:
            cur.append(v)
            added.append(f"{key} += {v!r}")


def _merge_aot(
    parent: Table, key: str, entries: list[Table], ident: str, added: list[str], path: Path
) -> None:
    cur = parent.get(key)
    if cur is not None:
        _need(cur, list, key, path)
        for e in cur:
            _need(e, dict, f"each {key} entry", path)
    if cur is None:
        aot = tomlkit.aot()
        for e in entries:
            aot.append(e)
        parent[key] = aot
        added += [f"{key} {e[ident]}" for e in entries]
        return
    have = {str(e.get(ident)) for e in cur}
    for e in entries:
        if str(e[ident]) not in have:
            cur.append(e)
            added.append(f"{key} {e[ident]}")


def merge(
    text: str, path: Path, spec: RunnerSpec, *, name: str, runner_name: str | None, header: str
) -> Merged:
    """Add ``spec`` to the matching ``[[runners]]`` entry of ``text`` (or append a new entry)."""
    doc = parse(text, path)
    notes: list[str] = []
    warnings: list[str] = []
    runners = doc.get("runners")
    if runners is not None and not isinstance(runners, AoT | list):
        raise InputError("`runners` must be an array of tables ([[runners]])", loc=Loc.of(path))
    if isinstance(runners, Array):
        if len(runners):
            raise InputError(
                "`runners` is an inline array; write its entries as [[runners]] tables to merge into it",
                loc=Loc.of(path),
            )
        # `runners = []`: appending a table to the inline array would render `runners = [name = …`.
        del doc["runners"]
        runners = None
    entries = list(runners) if runners is not None else []
    for r in entries:
        _need(r, dict, "each [[runners]] entry", path)
    if runner_name is not None:
        targets = [r for r in entries if str(r.get("name", "")) == runner_name]
        if not targets:
            names = ", ".join(repr(str(r.get("name", ""))) for r in entries) or "none"
            raise InputError(
                f"no [[runners]] entry named {runner_name!r} (present: {names})", loc=Loc.of(path)
            )
        target = targets[0]
        if _executor(target) != spec.executor:
            raise InputError(
                f"runner {runner_name!r} uses executor {_executor(target)!r}, not {spec.executor!r}",
                loc=Loc.of(path),
            )
    else:
        matching = [r for r in entries if _executor(r) == spec.executor]
        if len(matching) > 1:
            names = ", ".join(repr(str(r.get("name", ""))) for r in matching)
            raise InputError(
                f"several {spec.executor} runners ({names}); choose one with --runner-name",
                loc=Loc.of(path),
            )
        target = matching[0] if matching else None

    if target is None:
        table = runner_table(spec, name)
        if runners is None:
            aot = tomlkit.aot()
            aot.append(table)
            doc.add(tomlkit.nl())
            for line in header.splitlines():
                doc.add(tomlkit.comment(line))
            doc.add("runners", aot)
        else:
            runners.append(table)
        notes.append(
            f"{path}: added a new [[runners]] entry {name!r}; register it (url and token) with gitlab-runner"
        )
        return Merged(tomlkit.dumps(doc), tuple(notes), tuple(warnings))

    rname = str(target.get("name", "")) or "(unnamed)"
    added: list[str] = []
    if spec.section:
        section = target.get(spec.section)
        if section is not None:
            _need(section, dict, f"[runners.{spec.section}]", path)
        if section is None:
            target[spec.section] = _section_table(spec)
            added.append(f"[runners.{spec.section}]")
        else:
            if spec.image and "image" not in section:
                section["image"] = spec.image
                added.append("image")
            existing_priv = bool(section.get("privileged", False))
            if spec.privileged and not existing_priv:
                section["privileged"] = True
                added.append("privileged = true")
            elif not spec.privileged and existing_priv:
                warnings.append(
                    f"{path}: runner {rname!r} is privileged although this way does not need it; "
                    "left as is because other jobs may rely on it"
                )
            _merge_list(section, "volumes", spec.volumes, added, path)
            _merge_list(section, "security_opt", spec.security_opt, added, path)
            _merge_list(section, "devices", spec.devices, added, path)
            if spec.empty_dirs or spec.host_paths:
                vols = section.get("volumes")
                if vols is not None:
                    _need(vols, dict, f"[runners.{spec.section}.volumes]", path)
                if vols is None:
                    vols = tomlkit.table()
                    section["volumes"] = vols
                if spec.empty_dirs:
                    _merge_aot(
                        vols,
                        "empty_dir",
                        list(_section_table(spec)["volumes"]["empty_dir"]),
                        "mount_path",
                        added,
                        path,
                    )
                if spec.host_paths:
                    _merge_aot(
                        vols,
                        "host_path",
                        list(_section_table(spec)["volumes"]["host_path"]),
                        "mount_path",
                        added,
                        path,
                    )
            if spec.pod_annotations:
                ann = section.get("pod_annotations")
                if ann is not None:
                    _need(ann, dict, f"[runners.{spec.section}.pod_annotations]", path)
                if ann is None:
                    ann = tomlkit.table()
                    section["pod_annotations"] = ann
                for k, v in spec.pod_annotations:
                    if k not in ann:
                        ann[k] = v
                        added.append(f"pod_annotations {k}")
    if added:
        notes.append(f"{path}: runner {rname!r}: " + "; ".join(added))
    else:
        notes.append(f"{path}: runner {rname!r} already has everything this way needs")
    return Merged(tomlkit.dumps(doc), tuple(notes), tuple(warnings))
