"""Parse GitLab Runner's ``config.toml`` into :class:`~buildrig.gitlab.model.RunnerConfig`.

tomlkit parses; it keeps no line numbers, so :func:`_scan` walks the source text once and records
the line of every table header and of every ``key =`` inside it. Tables are matched to parsed
values by order: the n-th ``[[runners]]`` header is ``runners[n]``, and the sub-tables that follow
it (``[runners.docker]``, ``[[runners.docker.services]]``, ...) belong to it.

The file is read as a bounded regular file (:func:`buildrig.fsutil.read_user_file`) and must
nest at most :data:`~buildrig.gitlab.limits.MAX_DEPTH` levels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError

from buildrig.errors import InputError, Loc
from buildrig.fsutil import read_user_text
from buildrig.gitlab.limits import check_toml_depth
from buildrig.gitlab.model import (
    DockerSection,
    KubernetesSection,
    KubeVolume,
    Runner,
    RunnerConfig,
    ServiceSpec,
    Variable,
)

# No two quantifiers here can match the same characters: "[" and 3,000 spaces once took 21 s
_HEADER = re.compile(r"^[ \t]*(\[\[?)([^\]]*)\]\]?[ \t]*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'')
# The owner's declaration that a runner serves only trusted projects (project-locked, dedicated):
# GitLab keeps "locked" server-side, so config.toml can only say it in a comment.
_DEDICATED = re.compile(r"^\s*#\s*buildrig:\s*dedicated\b", re.IGNORECASE)
KUBE_VOLUME_KINDS = ("host_path", "pvc", "config_map", "secret", "empty_dir", "csi")


@dataclass
class _Section:
    path: str  # dotted, without the leading "runners."; "" for the [[runners]] table itself
    line: int
    keys: dict[str, int] = field(default_factory=dict)


@dataclass
class _RunnerLines:
    line: int
    sections: list[_Section] = field(default_factory=list)
    dedicated_line: int = 0  # the "# buildrig: dedicated" marker inside this entry

    def section(self, path: str, index: int = 0) -> _Section | None:
        found = [s for s in self.sections if s.path == path]
        return found[index] if index < len(found) else None


@dataclass
class _Scan:
    top_keys: dict[str, int] = field(default_factory=dict)
    runners: list[_RunnerLines] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _unquote(key: str) -> str:
    return key[1:-1] if key[:1] in "\"'" and key[-1:] == key[:1] else key


def _scan(text: str) -> _Scan:
    scan = _Scan(lines=text.splitlines())
    current: _Section | None = None
    in_runners = False
    in_multiline: str | None = None
    for number, line in enumerate(scan.lines, start=1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if scan.runners and in_runners and _DEDICATED.match(line):
            scan.runners[-1].dedicated_line = scan.runners[-1].dedicated_line or number
        header = _HEADER.match(line)
        if header and header.group(2).strip() and not _KEY.match(line):
            name = ".".join(_unquote(p.strip()) for p in header.group(2).strip().split("."))
            if name == "runners" and header.group(1) == "[[":
                scan.runners.append(_RunnerLines(number))
                current = _Section("", number)
                scan.runners[-1].sections.append(current)
                in_runners = True
            elif name.startswith("runners.") and scan.runners:
                current = _Section(name[len("runners.") :], number)
                scan.runners[-1].sections.append(current)
                in_runners = True
            else:
                current = None
                in_runners = False
            continue
        key = _KEY.match(line)
        if key:
            name = _unquote(key.group(1))
            if current is not None and in_runners:
                current.keys.setdefault(name, number)
            elif not scan.runners and current is None:
                scan.top_keys.setdefault(name, number)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_multiline = quote
    return scan


def load_runner_config(path: Path) -> RunnerConfig:
    path = Path(path)
    return load_runner_config_text(read_user_text(path), path)


def load_runner_config_text(text: str, path: Path) -> RunnerConfig:
    file = str(path)
    check_toml_depth(text, path)
    try:
        doc = tomlkit.parse(text).unwrap()
    except ParseError as exc:
        raise InputError(f"invalid TOML: {_parse_message(exc)}", loc=Loc(file, exc.line)) from None
    except TOMLKitError as exc:
        raise InputError(f"invalid TOML: {exc}", loc=Loc(file)) from None
    except (RecursionError, ValueError) as exc:  # tomlkit's own checks stop short of these
        raise InputError(f"invalid TOML: {type(exc).__name__}", loc=Loc(file)) from None
    scan = _scan(text)
    runners_raw = doc.get("runners", [])
    if not isinstance(runners_raw, list):
        raise InputError("runners must be an array of tables ([[runners]])", loc=Loc(file))
    concurrent = doc.get("concurrent")
    if concurrent is not None and not isinstance(concurrent, int):
        raise InputError("concurrent must be an integer", loc=Loc(file, scan.top_keys.get("concurrent", 0)))
    runners = []
    for index, raw in enumerate(runners_raw):
        lines = scan.runners[index] if index < len(scan.runners) else _RunnerLines(0)
        runners.append(_Parser(file, lines, scan.lines).runner(raw, index))
    return RunnerConfig(path=path, concurrent=concurrent, runners=tuple(runners))


def _parse_message(exc: ParseError) -> str:
    # tomlkit appends " at line X col Y"; we give the line in the Loc already.
    return re.sub(r"\s+at line \d+ col \d+$", "", str(exc))


class _Parser:
    def __init__(self, file: str, lines: _RunnerLines, source: list[str]) -> None:
        self.file = file
        self.lines = lines
        self.source = source

    def loc(self, section: str = "", key: str | None = None, index: int = 0) -> Loc:
        sec = self.lines.section(section, index)
        if sec is None:
            # the key may sit in the parent table as a dotted key or an inline table
            return Loc(self.file, self.lines.line)
        if key is not None and key in sec.keys:
            return Loc(self.file, sec.keys[key])
        return Loc(self.file, sec.line)

    def key_locs(self, section: str, raw: Mapping[str, Any], index: int = 0) -> Mapping[str, Loc]:
        return MappingProxyType({k: self.loc(section, k, index) for k in raw})

    # --- typed getters: wrong types are input errors at the key's line ----------------------------

    def _bad(self, section: str, key: str, want: str, index: int = 0) -> InputError:
        where = f"[runners.{section}] " if section else "[[runners]] "
        return InputError(f"{where}{key} must be {want}", loc=self.loc(section, key, index))

    def str_(self, raw: Mapping[str, Any], section: str, key: str, index: int = 0) -> str | None:
        value = raw.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self._bad(section, key, "a string", index)

    def bool_(self, raw: Mapping[str, Any], section: str, key: str, index: int = 0) -> bool | None:
        value = raw.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self._bad(section, key, "true or false", index)

    def int_(self, raw: Mapping[str, Any], section: str, key: str, index: int = 0) -> int | None:
        value = raw.get(key)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise self._bad(section, key, "an integer", index)

    def strs(self, raw: Mapping[str, Any], section: str, key: str, index: int = 0) -> tuple[str, ...]:
        value = raw.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise self._bad(section, key, "a list of strings", index)

    def env(self, raw: Mapping[str, Any], section: str, key: str, index: int = 0) -> tuple[Variable, ...]:
        """``environment = ["K=V", ...]`` as Variables, each at the line its item is on."""
        items = self.strs(raw, section, key, index)
        base = self.loc(section, key, index)
        lines = self._item_lines(base) if items else {}
        out = []
        for item in items:
            name, sep, value = item.partition("=")
            if not sep or not name:
                # GitLab Runner skips entries it cannot split (doctor's BR007 reports them)
                continue
            line = lines.get(item)
            out.append(Variable(name=name, value=value, loc=Loc(self.file, line) if line else base))
        return tuple(out)

    def _item_lines(self, base: Loc) -> dict[str, int]:
        """The line of each string item of the array starting at ``base``: multi-line arrays put
        each item on its own line. One pass up to the next key or table (one search per item was
        quadratic in the array's length)."""
        found: dict[str, int] = {}
        start = max(base.line - 1, 0)
        for offset, text in enumerate(self.source[start:]):
            for match in _STRING.finditer(text):
                found.setdefault(
                    match.group(1) if match.group(1) is not None else match.group(2), start + offset + 1
                )
            if offset and (_KEY.match(text) or _HEADER.match(text)):
                break
        return found

    # --- sections -------------------------------------------------------------------------------

    def runner(self, raw: Any, index: int) -> Runner:
        if not isinstance(raw, dict):
            raise InputError("[[runners]] entries must be tables", loc=Loc(self.file, self.lines.line))
        executor = self.str_(raw, "", "executor")
        name = self.str_(raw, "", "name") or f"runner #{index + 1}"
        flags_raw = raw.get("feature_flags") or {}
        if not isinstance(flags_raw, dict):
            raise self._bad("", "feature_flags", "a table of flags")
        flags: dict[str, bool] = {}
        for flag, value in flags_raw.items():
            if not isinstance(value, bool):
                raise InputError(
                    f"[runners.feature_flags] {flag} must be true or false",
                    loc=self.loc("feature_flags", flag),
                )
            flags[flag] = value
        docker_raw = raw.get("docker")
        kube_raw = raw.get("kubernetes")
        return Runner(
            name=name,
            executor=executor or "",
            loc=Loc(self.file, self.lines.line),
            url=self.str_(raw, "", "url"),
            tags=self.strs(raw, "", "tags")
            if not isinstance(raw.get("tags"), str)
            else _split_tags(raw["tags"]),
            run_untagged=self.bool_(raw, "", "run_untagged"),
            locked=self.bool_(raw, "", "locked"),
            dedicated=Loc(self.file, self.lines.dedicated_line) if self.lines.dedicated_line else None,
            shell=self.str_(raw, "", "shell"),
            builds_dir=self.str_(raw, "", "builds_dir"),
            environment=self.env(raw, "", "environment"),
            feature_flags=MappingProxyType(flags),
            docker=self.docker(docker_raw) if isinstance(docker_raw, dict) else None,
            kubernetes=self.kubernetes(kube_raw) if isinstance(kube_raw, dict) else None,
            raw=MappingProxyType(dict(raw)),
            key_locs=self.key_locs("", raw),
        )

    def services(self, raw: Any, section: str) -> tuple[ServiceSpec, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
            raise InputError(
                f"[[runners.{section}]] must be an array of tables", loc=self.loc(section.rsplit(".", 1)[0])
            )
        out = []
        for i, svc in enumerate(raw):
            name = self.str_(svc, section, "name", i)
            if not name:
                raise InputError(f"[[runners.{section}]] needs a name", loc=self.loc(section, None, i))
            entry = svc.get("entrypoint")
            cmd = svc.get("command")
            out.append(
                ServiceSpec(
                    name=name,
                    alias=self.str_(svc, section, "alias", i),
                    entrypoint=None if entry is None else self.strs(svc, section, "entrypoint", i),
                    command=None if cmd is None else self.strs(svc, section, "command", i),
                    variables=self.env(svc, section, "environment", i),
                    loc=self.loc(section, None, i),
                )
            )
        return tuple(out)

    def docker(self, raw: dict[str, Any]) -> DockerSection:
        s = "docker"
        wait = self.int_(raw, s, "wait_for_services_timeout")
        return DockerSection(
            image=self.str_(raw, s, "image"),
            host=self.str_(raw, s, "host"),
            tls_verify=bool(self.bool_(raw, s, "tls_verify")),
            privileged=bool(self.bool_(raw, s, "privileged")),
            services_privileged=self.bool_(raw, s, "services_privileged"),
            allowed_privileged_services=self.strs(raw, s, "allowed_privileged_services"),
            volumes=self.strs(raw, s, "volumes"),
            security_opt=self.strs(raw, s, "security_opt"),
            cap_add=self.strs(raw, s, "cap_add"),
            cap_drop=self.strs(raw, s, "cap_drop"),
            network_mode=self.str_(raw, s, "network_mode"),
            network_mtu=self.int_(raw, s, "network_mtu"),
            pull_policy=self.strs(raw, s, "pull_policy"),
            extra_hosts=self.strs(raw, s, "extra_hosts"),
            dns=self.strs(raw, s, "dns"),
            userns_mode=self.str_(raw, s, "userns_mode"),
            user=self.str_(raw, s, "user"),
            wait_for_services_timeout=30 if wait is None else wait,
            disable_cache=bool(self.bool_(raw, s, "disable_cache")),
            services=self.services(raw.get("services"), "docker.services"),
            loc=self.loc(s),
            raw=MappingProxyType(raw),
            key_locs=self.key_locs(s, raw),
            allowed_privileged_images=self.strs(raw, s, "allowed_privileged_images"),
            allowed_images=self.strs(raw, s, "allowed_images"),
            allowed_services=self.strs(raw, s, "allowed_services"),
            tls_cert_path=self.str_(raw, s, "tls_cert_path"),
            devices=self.strs(raw, s, "devices"),
            group_add=self.strs(raw, s, "group_add"),
        )

    def kubernetes(self, raw: dict[str, Any]) -> KubernetesSection:
        s = "kubernetes"
        volumes: list[KubeVolume] = []
        vols = raw.get("volumes") or {}
        if not isinstance(vols, dict):
            raise self._bad(s, "volumes", "a table of volume kinds")
        for kind, entries in vols.items():
            section = f"kubernetes.volumes.{kind}"
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise InputError(f"[[runners.{section}]] must be an array of tables", loc=self.loc(s))
            for i, entry in enumerate(entries):
                volumes.append(
                    KubeVolume(
                        kind=kind,
                        name=self.str_(entry, section, "name", i) or "",
                        mount_path=self.str_(entry, section, "mount_path", i) or "",
                        host_path=self.str_(entry, section, "host_path", i),
                        loc=self.loc(section, None, i),
                        read_only=bool(self.bool_(entry, section, "read_only", i)),
                        medium=self.str_(entry, section, "medium", i),
                    )
                )
        annotations = raw.get("pod_annotations") or {}
        if not isinstance(annotations, dict):
            raise self._bad(s, "pod_annotations", "a table")
        return KubernetesSection(
            image=self.str_(raw, s, "image"),
            privileged=bool(self.bool_(raw, s, "privileged")),
            allow_privilege_escalation=self.bool_(raw, s, "allow_privilege_escalation"),
            volumes=tuple(volumes),
            services=self.services(raw.get("services"), "kubernetes.services"),
            pod_annotations=MappingProxyType({str(k): str(v) for k, v in annotations.items()}),
            loc=self.loc(s),
            raw=MappingProxyType(raw),
            key_locs=self.key_locs(s, raw),
            host=self.str_(raw, s, "host"),
            namespace=self.str_(raw, s, "namespace"),
        )


def _split_tags(value: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in value.split(",") if t.strip())
