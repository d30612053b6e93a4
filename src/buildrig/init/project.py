"""``buildrig init``'s work: validate the options, read the user's files, render the way's job,
runner config, host files and certificates, merge, check and write them all or none. The package's
``__init__`` is its public face; the rules of what is written are described there.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from buildrig import strategies
from buildrig.errors import BuildrigError, InputError, Loc
from buildrig.fsutil import FileWrite, ensure_mode, write_all
from buildrig.gitlab.variables_file import DEFAULT_PATH as VARIABLES_FILE
from buildrig.init import certs, check, ci_yaml, runner_toml, setup_md, variables
from buildrig.strategies import (
    CACHE_MODES,
    EXECUTORS,
    AutoChoice,
    RenderParams,
    RunnerFacts,
    Strategy,
)
from buildrig.strategies.docker_host import CERT_VARIABLES

CI_FILE = ".gitlab-ci.yml"
RUNNER_DIR = "runner"
HOST_DIR = "runner/host"
CERT_DIR = "runner/host/certs"

_UNSAFE = re.compile(r"[\s\"'`\\]")
_JOB_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9 _./:-]{0,254}$")


@dataclass(frozen=True)
class InitOptions:
    """Everything ``buildrig init`` takes. ``executor=None`` means the way's first executor.

    ``tls`` (dind only): True renders GitLab's recommended TLS set-up; False the documented
    TLS-disabled variant (``DOCKER_HOST=tcp://docker:2375``, ``DOCKER_TLS_CERTDIR: ""``, runner
    volumes ``["/cache"]``). ``cache``: ``"registry"`` (default) gives the ways without a persistent
    daemon (dind, kaniko, buildah, buildkit) a registry-backed layer cache, ``"none"`` leaves it
    out. ``docker_host`` (docker_host only): ``IP[:PORT]`` or ``tcp://IP[:PORT]``, a private
    address; ``insecure_i_know`` allows 0.0.0.0, public addresses and plain 2375. The last three
    fields are the ``--strategy auto`` facts (with ``executor``, default ``docker``).
    """

    strategy: str = "auto"
    executor: str | None = None
    image: str = "$CI_REGISTRY_IMAGE"
    dockerfile: str = "Dockerfile"
    context: str = "."
    job_name: str = "build-image"
    mirror: str | None = None
    registry_mirror: str | None = None
    mtu: int | None = None
    docker_host: str | None = None
    runner_config: Path | None = None
    runner_name: str | None = None
    out: Path = Path(".")
    force: bool = False
    insecure_i_know: bool = False
    tls: bool = True
    cache: str = "registry"
    # --strategy auto facts
    privileged_allowed: bool = False
    host_docker: bool = False
    need_isolation: bool = False


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    data: bytes
    mode: int | None = None
    secret: bool = False
    # Generated whole (SETUP.md, host files, certificates): an existing file that differs is the
    # user's (edited, or from another run) and is replaced only with --force.
    generated: bool = False


@dataclass(frozen=True)
class Plan:
    strategy: Strategy
    params: RenderParams
    files: tuple[PlannedFile, ...]
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    auto: AutoChoice | None = None
    # Files kept as they are whose mode is corrected (reused private keys: 0600).
    modes: tuple[tuple[Path, int], ...] = ()


@dataclass(frozen=True)
class InitResult:
    strategy: str
    executor: str
    job_name: str
    written: tuple[Path, ...]
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    auto: AutoChoice | None = None
    runner_config: Path | None = field(default=None)


# --- validation ---------------------------------------------------------------------------------


def _check_rel_path(value: str, what: str) -> str:
    v = value.strip()
    if not v:
        raise InputError(f"{what} must not be empty")
    if _UNSAFE.search(v) or "$" in v:
        raise InputError(f"{what} {value!r} must not contain spaces, quotes, backslashes or $")
    if v.startswith("/") or ".." in Path(v).parts:
        raise InputError(f"{what} {value!r} must be a path inside the project (relative, no '..')")
    if v.startswith("-"):
        # The job passes it as an argument ("$BUILD_CONTEXT", dirname "$BUILD_DOCKERFILE"): a
        # leading '-' would be read as an option of docker build, buildah or dirname.
        raise InputError(
            f"{what} {value!r} must not start with '-' (it would be read as an option); write ./{v}"
        )
    return v


def _check_docker_host(raw: str, insecure: bool) -> tuple[str, int, list[str]]:
    """(IP literal, port, warnings) for --docker-host; refuses unsafe listeners."""
    warnings: list[str] = []
    s = raw.strip()
    if s.startswith("tcp://"):
        s = s[len("tcp://") :]
    elif "://" in s:
        raise InputError(f"--docker-host {raw!r}: only tcp://ADDRESS[:PORT] is supported")
    port = 2376
    host = s
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], raw)
    elif s.count(":") == 1:
        host, _, p = s.partition(":")
        port = _port(p, raw)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise InputError(
            f"--docker-host {raw!r}: give the Docker host's private IP address (dockerd binds an "
            "address, and the TLS certificate names it)"
        ) from None
    if ip.is_loopback:
        raise InputError(
            f"--docker-host {raw!r}: a loopback address is unreachable from job containers; "
            "use the host's private address"
        )
    if ip.is_unspecified:
        if not insecure:
            raise InputError(
                f"--docker-host {raw!r}: refusing to listen on every interface ({ip}): the daemon "
                "would be reachable from public networks; give the private address "
                "(or --insecure-i-know)"
            )
        warnings.append(f"docker_host listens on {ip}: every interface, public ones included")
    elif ip.is_global or ip.is_multicast:
        if not insecure:
            raise InputError(
                f"--docker-host {raw!r}: {ip} is a public address; an exposed Docker API is root "
                "on the host for anyone who reaches it; use a private address (or --insecure-i-know)"
            )
        warnings.append(f"docker_host listens on public address {ip}")
    if port == 2375:
        if not insecure:
            raise InputError(
                f"--docker-host {raw!r}: port 2375 is Docker's plain, unauthenticated TCP port; "
                "buildrig sets up TLS on 2376 (or pass --insecure-i-know to generate plain 2375)"
            )
        warnings.append("docker_host uses plain TCP on 2375 without TLS: anyone reaching it is root")
    return str(ip), port, warnings


def _port(p: str, raw: str) -> int:
    # isascii: str.isdigit() accepts '²', which int() does not.
    if not (p.isascii() and p.isdigit()) or not 0 < int(p) < 65536:
        raise InputError(f"--docker-host {raw!r}: bad port {p!r}")
    return int(p)


def _resolve(opts: InitOptions) -> tuple[Strategy, str, AutoChoice | None]:
    auto: AutoChoice | None = None
    if opts.executor is not None and opts.executor not in EXECUTORS:
        raise InputError(f"unknown executor {opts.executor!r}; valid: {', '.join(EXECUTORS)}")
    if opts.strategy.strip().lower() == "auto":
        facts = RunnerFacts(
            executor=opts.executor or "docker",
            privileged_allowed=opts.privileged_allowed,
            host_docker=opts.host_docker,
            need_isolation=opts.need_isolation,
        )
        auto = strategies.choose_auto(facts)
        return auto.choice, facts.executor, auto
    s = strategies.get(opts.strategy)
    executor = opts.executor or s.executors[0]
    if not s.supports(executor):
        raise InputError(f"{s.name} cannot run on the {executor} executor: {s.why_not(executor)}")
    return s, executor, auto


def _params(
    opts: InitOptions, s: Strategy, executor: str, notes: list[str], warnings: list[str]
) -> RenderParams:
    if not _JOB_NAME.match(opts.job_name) or opts.job_name in ci_yaml.RESERVED:
        raise InputError(
            f"--job-name {opts.job_name!r} is not usable as a job name (a GitLab keyword, "
            "hidden '.' job, or unusual characters)"
        )
    image = opts.image.strip()
    if not image or _UNSAFE.search(image):
        raise InputError(f"--image {opts.image!r} must be an image name without spaces or quotes")
    dockerfile = _check_rel_path(opts.dockerfile, "--dockerfile")
    context = _check_rel_path(opts.context, "--context")
    mirror = opts.mirror.strip().rstrip("/") if opts.mirror else None
    if opts.mirror is not None and (not mirror or _UNSAFE.search(mirror)):
        raise InputError(
            f"--mirror {opts.mirror!r} must be a registry prefix like registry.example.com/mirror"
        )
    if opts.registry_mirror is not None and not re.match(r"^https?://[^\s\"'`\\]+$", opts.registry_mirror):
        raise InputError(f"--registry-mirror {opts.registry_mirror!r} must be an http(s):// URL")
    if opts.mtu is not None and not 576 <= opts.mtu <= 9216:
        raise InputError(f"--mtu {opts.mtu} is outside 576..9216")
    if opts.cache not in CACHE_MODES:
        raise InputError(f"--cache {opts.cache!r}; valid: {', '.join(CACHE_MODES)}")
    if s.name != "dind":
        for flag, value in (("--mtu", opts.mtu), ("--registry-mirror", opts.registry_mirror)):
            if value is not None:
                notes.append(f"{flag} applies only to the dind service daemon; ignored for {s.name}")
        if not opts.tls:
            notes.append(f"--no-tls applies only to dind; ignored for {s.name}")
    if s.persistent_cache and opts.cache != "registry":
        notes.append(f"--cache applies only to ways without a persistent daemon; ignored for {s.name}")
    host: str | None = None
    port = 2376
    if s.name == "docker_host":
        if not opts.docker_host:
            raise InputError("docker_host needs --docker-host ADDRESS (the Docker host's private IP)")
        host, port, w = _check_docker_host(opts.docker_host, opts.insecure_i_know)
        warnings += w
    elif opts.docker_host:
        notes.append(f"--docker-host applies only to docker_host; ignored for {s.name}")
    return RenderParams(
        executor=executor,
        job_name=opts.job_name,
        image=image,
        dockerfile=dockerfile,
        context=context,
        mirror=mirror,
        registry_mirror=opts.registry_mirror if s.name == "dind" else None,
        mtu=_dind_mtu(opts, s, executor, notes),
        docker_host=host,
        docker_port=port,
        tls=opts.tls if s.name == "dind" else True,
        cache=opts.cache,
    )


def _dind_mtu(opts: InitOptions, s: Strategy, executor: str, notes: list[str]) -> int | None:
    if s.name != "dind":
        return None
    if opts.mtu is None and executor == "kubernetes":
        # The inner daemon's 1500 exceeds typical pod overlay MTUs; pulls then hang (GitLab's
        # Kubernetes troubleshooting docs give 1450).
        notes.append("dind on Kubernetes: service MTU set to 1450 (override with --mtu)")
        return 1450
    return opts.mtu


# --- planning -----------------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    from buildrig.fsutil import read_user_text

    try:
        if path.exists() and not path.is_dir():
            # regular files only, bounded: `--runner-config /dev/zero` read until MemoryError
            return read_user_text(path)
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        # A missing file, or a parent that is a file: the pre-flight check reports the latter.
        return None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", loc=Loc.of(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason}", loc=Loc.of(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", loc=Loc.of(path)) from exc


def command_line(s: Strategy, p: RenderParams) -> str:
    """The ``buildrig init`` command that reproduces a plan (stable: golden files contain it)."""
    parts = ["buildrig init", f"--strategy {s.name}", f"--executor {p.executor}"]
    if p.job_name != "build-image":
        parts.append(f"--job-name '{p.job_name}'")
    if p.docker_host:
        parts.append(f"--docker-host {p.docker_host}:{p.docker_port}")
    if p.mirror:
        parts.append(f"--mirror {p.mirror}")
    if p.registry_mirror:
        parts.append(f"--registry-mirror {p.registry_mirror}")
    if p.mtu is not None:
        parts.append(f"--mtu {p.mtu}")
    if not p.tls:
        parts.append("--no-tls")
    if p.cache != "registry":
        parts.append(f"--cache {p.cache}")
    return " ".join(parts)


def _certs(
    out: Path, p: RenderParams, force: bool, notes: list[str], modes: list[tuple[Path, int]]
) -> list[PlannedFile]:
    assert p.docker_host is not None
    cert_dir = out / CERT_DIR
    existing = {n: cert_dir / n for n in certs.FILE_NAMES}
    if all(f.is_file() and not f.is_symlink() for f in existing.values()):
        server = existing["server-cert.pem"].read_bytes()
        if certs.server_cert_names_ip(server, p.docker_host):
            notes.append(f"{cert_dir}: kept the existing certificates (they name {p.docker_host})")
            # A key copied in with 0644 (or kept from an older buildrig) is readable by everyone.
            modes += [(path, certs.MODES[n]) for n, path in existing.items() if certs.MODES[n] == 0o600]
            return []
        if not force:
            raise InputError(
                f"{cert_dir}: the certificates there do not name {p.docker_host}; pass --force to "
                "replace them (the Docker host then needs the new ones)"
            )
        notes.append(f"{cert_dir}: replaced certificates that do not name {p.docker_host}")
    bundle = certs.generate(p.docker_host)
    return [
        PlannedFile(cert_dir / name, data, mode, secret=mode == 0o600, generated=True)
        for name, data, mode in bundle.files()
    ]


def plan_project(opts: InitOptions) -> Plan:
    """Validate and render everything ``init_project`` would write; writes nothing."""
    notes: list[str] = []
    warnings: list[str] = []
    for flag, value in (("--out", opts.out), ("--runner-config", opts.runner_config)):
        if value is not None and "\0" in str(value):
            raise InputError(f"{flag}: a path cannot contain a NUL byte")
    s, executor, auto = _resolve(opts)
    p = _params(opts, s, executor, notes, warnings)
    out = Path(opts.out)
    files: list[PlannedFile] = []
    modes: list[tuple[Path, int]] = []

    # .gitlab-ci.yml
    ci_path = out / CI_FILE
    existing = _read(ci_path)
    replacing = False
    if existing is not None:
        info = ci_yaml.inspect(existing, ci_path)
        replacing = p.job_name in info.jobs
        if info.stages is not None and p.stage not in info.stages:
            stage = info.stages[0] if info.stages else ".pre"
            notes.append(f"{ci_path}: no 'build' stage in stages:, the job runs in {stage!r}")
            p = dataclasses.replace(p, stage=stage)
    header = (
        f"Generated by buildrig init: {s.title}, {p.executor} executor.\n"
        "Runner side and host side: runner/SETUP.md (they must match this job)."
    )
    job_text = ci_yaml.render_job_text(p.job_name, s.render_job(p), header)
    merged = ci_yaml.merge(existing, ci_path, p.job_name, job_text, force=opts.force)
    check.check_ci(existing, merged, ci_path, p.job_name)
    files.append(PlannedFile(ci_path, merged.encode()))
    if existing is not None:
        notes.append(f"{ci_path}: {'replaced' if replacing else 'added'} job {p.job_name!r}")

    # runner config.toml
    spec = s.render_runner(p)
    runner_name = f"buildrig-{s.name}-{p.executor}"
    toml_header = (
        f"buildrig init: runner settings for the {s.name} way ({p.executor} executor).\n"
        "Merge into the [[runners]] entry `gitlab-runner register` created; keep its url and token."
    )
    rc_path = Path(opts.runner_config) if opts.runner_config is not None else out / RUNNER_DIR / "config.toml"
    text = _read(rc_path)
    if text is None and opts.runner_config is not None:
        raise InputError(
            "runner config not found (omit --runner-config to get a fragment)", loc=Loc.of(rc_path)
        )
    if text is not None:
        # An existing runner/config.toml may already hold the registered url and token: merge into
        # it as into --runner-config, never over it.
        m = runner_toml.merge(
            text, rc_path, spec, name=runner_name, runner_name=opts.runner_name, header=toml_header
        )
        notes += m.notes
        warnings += m.warnings
        new_toml = m.text
    else:
        new_toml = runner_toml.render_fragment(spec, runner_name, toml_header)
    check.check_toml(text, new_toml, rc_path)
    files.append(PlannedFile(rc_path, new_toml.encode()))
    config_label = str(rc_path) if opts.runner_config is not None else f"{RUNNER_DIR}/config.toml"

    # host side
    described: list[tuple[str, str]] = [
        (CI_FILE, f"the build job `{p.job_name}`"),
        (config_label, f"the [[runners]] settings for the {p.executor} executor"),
    ]
    for hf in s.render_host(p):
        files.append(PlannedFile(out / HOST_DIR / hf.path, hf.content.encode(), hf.mode, generated=True))
        described.append((f"{HOST_DIR}/{hf.path}", "host set-up (see the steps)"))
    if s.name == "docker_host" and p.host_tls:
        files += _certs(out, p, opts.force, notes, modes)
        described.append((f"{CERT_DIR}/ca.pem, server-cert.pem, server-key.pem", "for the Docker host"))
        described.append(
            (
                f"{CERT_DIR}/ca.pem, cert.pem, key.pem",
                "for the job, as File variables " + ", ".join(v for v, _, _ in CERT_VARIABLES),
            )
        )
    var_path = out / VARIABLES_FILE
    files.append(PlannedFile(var_path, variables.render(_read(var_path), var_path, s, p).encode()))
    described.append((str(VARIABLES_FILE), "CI/CD variables for `buildrig run` (GitLab: Settings > CI/CD)"))
    described.append((f"{RUNNER_DIR}/SETUP.md", "this file"))
    setup = setup_md.render(s, p, files=tuple(described), command=command_line(s, p))
    files.append(PlannedFile(out / RUNNER_DIR / "SETUP.md", setup.encode(), generated=True))
    if s.needs_privileged:
        warnings.append(f"{s.name} needs privileged mode on the runner: a job can take over the host")
    if s.name == "docker_sock":
        warnings.append("docker_sock binds the host's Docker socket: every job is root on the host")
    _keep_users_files(files, opts.force)
    return Plan(s, p, tuple(files), tuple(notes), tuple(warnings), auto, tuple(modes))


def _keep_users_files(files: list[PlannedFile], force: bool) -> None:
    """Refuse to replace a generated file whose content differs, unless --force."""
    if force:
        return
    for f in files:
        if not f.generated:
            continue
        try:
            same = f.path.read_bytes() == f.data
        except (FileNotFoundError, NotADirectoryError):
            # Missing, or a parent that is a file: the pre-flight check reports the latter.
            continue
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", loc=Loc.of(f.path)) from exc
        if not same:
            raise InputError(
                "exists and differs from what init writes (edited, or from another run); "
                "pass --force to replace it, or move it away",
                loc=Loc.of(f.path),
            )


# --- writing ------------------------------------------------------------------------------------


def _preflight(files: tuple[PlannedFile, ...]) -> None:
    """Fail before the first write if any target cannot be written."""
    for f in files:
        if f.path.is_dir():
            raise BuildrigError(f"{f.path}: is a directory, cannot write a file there")
        parent = f.path.parent
        probe = parent
        while not probe.exists():
            if probe.parent == probe:
                break
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            raise BuildrigError(f"{parent}: cannot write here: {probe} is not a directory")
        if not os.access(probe, os.W_OK | os.X_OK):
            raise BuildrigError(f"{parent}: cannot write here: permission denied")
        if f.path.exists() and not os.access(f.path, os.W_OK) and os.geteuid() != 0:
            raise BuildrigError(f"{f.path}: cannot write: permission denied")


def init_project(opts: InitOptions) -> InitResult:
    """Plan (every file rendered and re-parsed), check every target, then write all files or none."""
    plan = plan_project(opts)
    _preflight(plan.files)
    # Kept keys first: a mode fix cannot fail after the files are in place.
    for path, mode in plan.modes:
        ensure_mode(path, mode)
    write_all([FileWrite(f.path, f.data, f.mode) for f in plan.files])
    written = [f.path for f in plan.files]
    return InitResult(
        strategy=plan.strategy.name,
        executor=plan.params.executor,
        job_name=plan.params.job_name,
        written=tuple(written),
        notes=plan.notes,
        warnings=plan.warnings,
        auto=plan.auto,
        runner_config=opts.runner_config,
    )


__all__ = [
    "InitOptions",
    "InitResult",
    "Plan",
    "PlannedFile",
    "command_line",
    "init_project",
    "plan_project",
]
