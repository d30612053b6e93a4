"""Read dockerd's configuration: ``daemon.json`` and the systemd unit with its drop-ins.

dockerd refuses to start when a directive is given both as a flag and in daemon.json ("the
following directives are specified both as a flag and in the configuration file"), so the two
sources are kept apart where that matters (``hosts_json`` vs ``hosts_flags``); elsewhere the flag
wins as a summary. ExecStart follows systemd: a drop-in's empty ``ExecStart=`` clears the list and
the last one left is what runs.

Files are read as bounded regular files (:func:`buildrig.fsutil.read_user_file`), daemon.json
within :data:`~buildrig.gitlab.limits.MAX_DEPTH` levels; the certificate daemon.json names is
only parsed, never shown, and skipped when it is no regular file of at most 1 MiB.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from buildrig.errors import InputError, Loc
from buildrig.fsutil import read_user_file, read_user_text
from buildrig.gitlab.limits import check_json_depth
from buildrig.gitlab.model import DaemonConfig

_JSON_FIELDS = {
    "tls": "tls",
    "tlsverify": "tlsverify",
    "tlscacert": "tlscacert",
    "tlscert": "tlscert",
    "tlskey": "tlskey",
    "userns-remap": "userns_remap",
    "selinux-enabled": "selinux_enabled",
    "mtu": "mtu",
    "storage-driver": "storage_driver",
}
# flag spelling -> (field, takes a value)
_FLAGS: dict[str, tuple[str, bool]] = {
    "-H": ("hosts", True),
    "--host": ("hosts", True),
    "--tls": ("tls", False),
    "--tlsverify": ("tlsverify", False),
    "--tlscacert": ("tlscacert", True),
    "--tlscert": ("tlscert", True),
    "--tlskey": ("tlskey", True),
    "--userns-remap": ("userns_remap", True),
    "--selinux-enabled": ("selinux_enabled", False),
    "--mtu": ("mtu", True),
    "--insecure-registry": ("insecure_registries", True),
    "--registry-mirror": ("registry_mirrors", True),
    "--storage-driver": ("storage_driver", True),
    "-s": ("storage_driver", True),
    "--config-file": ("config_file", True),
}


_read = read_user_text
# a JSON string (escapes included) followed by a colon: an object key
_JSON_KEY = re.compile(r'"((?:[^"\\\n]|\\.)*)"\s*:')
#: A server certificate is a few KiB; more is not a certificate.
MAX_CERT_BYTES = 1024 * 1024


def _json_key_lines(text: str, keys: Iterable[str]) -> dict[str, int]:
    """The line of the first occurrence of each key, in one pass over the text (one search per
    key was quadratic: 40,000 keys took 37 s)."""
    wanted = set(keys)
    out = dict.fromkeys(wanted, 0)
    line, last = 1, 0
    for match in _JSON_KEY.finditer(text):
        raw = match.group(1)
        try:
            key = json.loads(f'"{raw}"') if "\\" in raw else raw
        except ValueError:
            continue
        if key in wanted and not out[key]:
            line += text.count("\n", last, match.start())
            last = match.start()
            out[key] = line
    return out


def load_daemon_json(path: Path) -> DaemonConfig:
    path = Path(path)
    return load_daemon_json_text(_read(path), path)


def load_daemon_json_text(text: str, path: Path) -> DaemonConfig:
    file = str(path)
    check_json_depth(text, path)
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", loc=Loc(file, exc.lineno)) from None
    except (RecursionError, ValueError) as exc:  # e.g. an integer of more than 4,300 digits
        raise InputError(f"invalid JSON: {exc}", loc=Loc(file)) from None
    if not isinstance(data, dict):
        raise InputError("daemon.json must be a JSON object", loc=Loc(file, 1))
    lines = _json_key_lines(text, data)
    locs = {k: Loc(file, n) for k, n in lines.items()}

    def strs(key: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise InputError(f'"{key}" must be a list of strings', loc=locs[key])

    values: dict[str, Any] = {}
    for key, attr in _JSON_FIELDS.items():
        if key not in data:
            continue
        value = data[key]
        want: type | tuple[type, ...] = int if attr == "mtu" else (bool if key in _BOOL_KEYS else str)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise InputError(f'"{key}" has the wrong type ({type(value).__name__})', loc=locs[key])
        values[attr] = value
    return DaemonConfig(
        hosts_json=strs("hosts"),
        insecure_registries=strs("insecure-registries"),
        registry_mirrors=strs("registry-mirrors"),
        files=(path,),
        raw_json=MappingProxyType(data),
        key_locs=MappingProxyType(locs),
        **values,
    )


_BOOL_KEYS = frozenset({"tls", "tlsverify", "selinux-enabled"})


def _unit_lines(text: str) -> Iterable[tuple[int, str, str, str]]:
    """(line, section, key, value) of a systemd unit, joining ``\\`` continuations."""
    section = ""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not pending:
            start = number
            stripped = line.strip()
            if not stripped or stripped[0] in "#;":
                continue
            if stripped.startswith("[") and stripped.endswith("]"):
                section = stripped[1:-1]
                continue
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = " ".join(p.strip() for p in pending)
        pending = []
        key, sep, value = joined.partition("=")
        if sep:
            yield start, section, key.strip(), value.strip()


def load_docker_units(paths: Sequence[Path]) -> DaemonConfig:
    """The unit file first, then its drop-ins (``*.d/*.conf`` in name order) as given."""
    exec_start: list[tuple[str, Loc]] = []
    env: list[tuple[str, Loc]] = []
    files = []
    for path in paths:
        path = Path(path)
        files.append(path)
        text = _read(path)
        for line, section, key, value in _unit_lines(text):
            if section != "Service":
                continue
            loc = Loc(str(path), line)
            if key == "ExecStart":
                if value == "":
                    exec_start.clear()
                else:
                    exec_start.append((value, loc))
            elif key == "Environment":
                env.append((value, loc))
    if not exec_start:
        return DaemonConfig(files=tuple(files))
    command, loc = exec_start[-1]
    return _from_flags(command, loc, tuple(files), tuple(v for v, _ in env))


def _from_flags(command: str, loc: Loc, files: tuple[Path, ...], env: tuple[str, ...]) -> DaemonConfig:
    try:
        argv = shlex.split(command.lstrip("-@:+!"))
    except ValueError as exc:
        raise InputError(f"ExecStart cannot be split into words: {exc}", loc=loc) from None
    values: dict[str, Any] = {}
    hosts: list[str] = []
    lists: dict[str, list[str]] = {"insecure_registries": [], "registry_mirrors": []}
    locs: dict[str, Loc] = {}
    i = 1
    while i < len(argv):
        arg = argv[i]
        i += 1
        name, eq, inline = arg.partition("=")
        if name not in _FLAGS and arg.startswith("-H") and len(arg) > 2:  # -Hunix:///x
            name, eq, inline = "-H", "=", arg[2:]
        spec = _FLAGS.get(name)
        if spec is None:
            continue
        attr, takes_value = spec
        locs[name] = loc
        if takes_value:
            if eq:
                value = inline
            elif i < len(argv):
                value = argv[i]
                i += 1
            else:
                raise InputError(f"ExecStart: {name} needs a value", loc=loc)
            if attr == "hosts":
                hosts.append(value)
            elif attr in lists:
                lists[attr].append(value)
            elif attr == "mtu":
                try:
                    values["mtu"] = int(value)
                except ValueError:
                    raise InputError(f"ExecStart: --mtu {value} is not a number", loc=loc) from None
            elif attr != "config_file":
                values[attr] = value
        else:
            values[attr] = inline.lower() not in ("false", "0") if eq else True
    return DaemonConfig(
        hosts_flags=tuple(hosts),
        insecure_registries=tuple(lists["insecure_registries"]),
        registry_mirrors=tuple(lists["registry_mirrors"]),
        files=files,
        key_locs=MappingProxyType(locs),
        exec_start=tuple(argv),
        exec_start_loc=loc,
        unit_environment=env,
        **values,
    )


def merge_daemon(json_cfg: DaemonConfig | None, unit_cfg: DaemonConfig | None) -> DaemonConfig | None:
    """One DaemonConfig from both sources; flags win for single values, lists are joined."""
    if json_cfg is None or unit_cfg is None:
        return json_cfg or unit_cfg
    merged = replace(
        json_cfg,
        hosts_flags=unit_cfg.hosts_flags,
        insecure_registries=(*json_cfg.insecure_registries, *unit_cfg.insecure_registries),
        registry_mirrors=(*json_cfg.registry_mirrors, *unit_cfg.registry_mirrors),
        files=(*json_cfg.files, *unit_cfg.files),
        key_locs=MappingProxyType({**json_cfg.key_locs, **unit_cfg.key_locs}),
        exec_start=unit_cfg.exec_start,
        exec_start_loc=unit_cfg.exec_start_loc,
        unit_environment=unit_cfg.unit_environment,
    )
    for attr in (
        "tls",
        "tlsverify",
        "tlscacert",
        "tlscert",
        "tlskey",
        "userns_remap",
        "selinux_enabled",
        "mtu",
        "storage_driver",
    ):
        value = getattr(unit_cfg, attr)
        if value is not None:
            merged = replace(merged, **{attr: value})
    return merged


def load_dockerd(daemon_json: Path | None, units: Sequence[Path]) -> DaemonConfig | None:
    json_cfg = load_daemon_json(daemon_json) if daemon_json is not None else None
    unit_cfg = load_docker_units(units) if units else None
    return with_cert_sans(merge_daemon(json_cfg, unit_cfg))


def with_cert_sans(
    cfg: DaemonConfig | None, base: Path | None = None, search: Sequence[Path] = ()
) -> DaemonConfig | None:
    """Read the subjectAltNames of the daemon's server certificate when the file is readable
    here: at its path (doctor run on the build host), relative to ``base``, or by file name in
    one of ``search`` (the certificates ``buildrig init`` generated next to the unit)."""
    if cfg is None or not cfg.tlscert:
        return cfg
    given = Path(cfg.tlscert)
    candidates = [given] if given.is_absolute() else []
    if not given.is_absolute() and base is not None:
        candidates.append(base / given)
    candidates += [d / given.name for d in search]
    data = None
    for path in candidates:
        try:
            # the path comes from daemon.json: a device, a FIFO or a huge file is no certificate,
            # and what is read is never shown, only parsed
            data = read_user_file(path, limit=MAX_CERT_BYTES)
            break
        except InputError:
            continue
    if data is None:
        return cfg
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        return cfg
    not_after = cert.not_valid_after_utc
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return replace(cfg, tlscert_sans=(), tlscert_not_after=not_after)
    sans = [f"DNS:{n}" for n in ext.get_values_for_type(x509.DNSName)]
    sans += [f"IP:{ip}" for ip in ext.get_values_for_type(x509.IPAddress)]
    return replace(cfg, tlscert_sans=tuple(sans), tlscert_not_after=not_after)
