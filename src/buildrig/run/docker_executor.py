"""GitLab Runner's Docker executor, over the Docker SDK: services, the job container, after_script.

What the runner does and this mirrors: a network per job when there are services (aliases from the
image name), services get the job's variables, their exposed TCP ports are waited for (a warning
plus their log on timeout, then the job goes on), the job's image runs the script through its own
entrypoint with the shell it has (bash, else sh), ``after_script`` runs in the same job container
started again (what the script left outside the build directory, in ``/tmp`` say, is still there),
and everything is removed when the job ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from buildrig import engine
from buildrig.gitlab.model import DockerSection, Job, ServiceSpec
from buildrig.run import artifacts as arts
from buildrig.run import script as scripts
from buildrig.run.artifacts import ArtifactFile
from buildrig.run.cleanup import Tracker
from buildrig.run.log import JobLog
from buildrig.run.variables import JobVariables, PipelineContext, expand, slug

# Capability names by bit number (linux/capability.h), for the privileged fallback.
CAPS = (
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
)
UNCONFINED = ("seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined")
AFTER_SCRIPT_TIMEOUT = 300  # the runner's default for after_script


class JobError(Exception):
    """The job fails before or around its script (image missing, engine refused); message is GitLab-like."""


@dataclass(frozen=True)
class Outcome:
    status: str
    exit_code: int
    reason: str | None = None
    artifacts: tuple[ArtifactFile, ...] = ()
    cache: tuple[ArtifactFile, ...] = ()  # files under the job's cache: paths, for the caller to keep


FALLBACK_ENV = "BUILDRIG_PRIVILEGED_FALLBACK"


def privileged_fallback_allowed() -> bool | None:
    """Whether a job may run with the privileged fallback when the runtime refuses --privileged:
    True (``BUILDRIG_PRIVILEGED_FALLBACK=1``), False (``=0``: the job fails instead), None (unset:
    allowed, as this project's own machine and CI need it, and reported in the job's log and in the
    run's summary like any other use)."""
    raw = os.environ.get(FALLBACK_ENV, "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "yes", "true", "on"):
        return True
    if raw in ("0", "no", "false", "off"):
        return False
    raise JobError(f"{FALLBACK_ENV}={raw!r}: expected 1 (allow) or 0 (refuse)")


def missing_caps(status_path: str = "/proc/self/status") -> list[str]:
    """Capabilities the kernel knows but this host's bounding set lacks (what makes --privileged fail)."""
    try:
        with open(status_path) as fh:
            bnd = next(int(line.split()[1], 16) for line in fh if line.startswith("CapBnd:"))
        with open("/proc/sys/kernel/cap_last_cap") as fh:
            last = int(fh.read().strip())
    except (OSError, StopIteration, ValueError):
        return []
    # Names Docker 20.10 doesn't know (PERFMON and later) can't be dropped by name; skip them.
    return [CAPS[bit] for bit in range(min(last, len(CAPS) - 1) + 1) if not bnd >> bit & 1]


def service_aliases(image: str, alias: str | None) -> list[str]:
    """GitLab's hostnames for a service: explicit aliases, then the two derived from the image name
    (tag/digest and registry port dropped, ``/`` → ``__`` and ``/`` → ``-``)."""
    out: list[str] = []
    if alias:
        out += [a for a in re.split(r"[,\s]+", alias) if a]
    name = image.split("@", 1)[0]
    last = name.rfind("/")
    colon = name.rfind(":")
    if colon > last:
        name = name[:colon]
    parts = name.split("/")
    if len(parts) > 1 and ":" in parts[0]:
        parts[0] = parts[0].split(":", 1)[0]
    name = "/".join(parts)
    for derived in (name.replace("/", "__"), name.replace("/", "-")):
        if derived not in out:
            out.append(derived)
    return out


def parse_volume(spec: str) -> tuple[str | None, str, str]:
    """``[source:]target[:mode]`` → (source or None for an anonymous-per-run volume, target, mode)."""
    parts = spec.split(":")
    if len(parts) == 1:
        return None, parts[0], "rw"
    if len(parts) == 2:
        if parts[1] in ("ro", "rw", "z", "Z"):
            return None, parts[0], parts[1]
        return parts[0], parts[1], "rw"
    return parts[0], parts[1], ":".join(parts[2:])


class DockerExecutor:
    def __init__(
        self,
        api: Any,
        ctx: PipelineContext,
        docker: DockerSection,
        *,
        tracker: Tracker,
        overrides: Mapping[str, str],
        default_pull_policy: tuple[str, ...],
        network_per_build: bool,
        extra_hosts: Sequence[str] = (),
    ) -> None:
        self.api = api
        self.ctx = ctx
        self.docker = docker
        self.tracker = tracker
        self.overrides = overrides
        self.default_pull_policy = default_pull_policy
        self.network_per_build = network_per_build
        self.extra_hosts = [*docker.extra_hosts, *extra_hosts]
        self._volumes: dict[str, str] = {}  # container path → per-run volume name
        self._refused: str | None = None  # why the runtime refused --privileged (once per run)
        self._images: dict[str, str] = {}
        self.pre_build: tuple[str, ...] = ()  # [[runners]] pre_build_script, run before before_script

    # --- images ----------------------------------------------------------------------------------

    def _inspect(self, name: str) -> dict[str, Any] | None:
        from docker.errors import ImageNotFound, NotFound

        try:
            data: dict[str, Any] = self.api.inspect_image(name)
        except (ImageNotFound, NotFound):
            return None
        return data

    def resolve_image(self, name: str, policies: tuple[str, ...] | None, log: JobLog) -> str:
        """The local image to run for ``name``, honouring the pull policy, or :class:`JobError`."""
        from docker.errors import APIError

        if name in self._images:
            return self._images[name]
        pols = tuple(policies or self.docker.pull_policy or self.default_pull_policy)
        shown = ", ".join(pols)
        local = self.overrides.get(name)
        if local is not None:
            # A stand-in from the image map is local by definition: pulling it would only fail.
            if self._inspect(local) is None:
                raise JobError(
                    f'failed to pull image "{name}" with specified policies [{shown}]: '
                    f"the image map names {local}, which is not in the engine "
                    f"(run `buildrig images prepare --offline`)"
                )
            log.sys(f"Using local stand-in {local} for {name} (image map; pull skipped)")
            self._images[name] = local
            return local
        error = ""
        for pol in pols:
            if pol in ("never", "if-not-present"):
                data = self._inspect(name)
                if data is not None:
                    log.sys(f'Using locally found image version due to "{pol}" pull policy')
                    log.sys(f"Using docker image {data['Id'][:19]} for {name} ...")
                    self._images[name] = name
                    return name
                error = f"Error response from daemon: No such image: {name}"
                if pol == "never":
                    continue
            log.sys(f"Pulling docker image {name} ...")
            repo, tag = _split_tag(name)
            try:
                self.api.pull(repo, tag=tag)
            except APIError as exc:
                error = str(exc.explanation or exc).strip().splitlines()[0]
                log.warn(f'WARNING: Failed to pull image with policy "{pol}": {error}')
                continue
            self._images[name] = name
            return name
        raise JobError(f'failed to pull image "{name}" with specified policies [{shown}]: {error}')

    # --- volumes, host config ------------------------------------------------------------------

    def _binds(self) -> list[str]:
        binds: list[str] = []
        for spec in self.docker.volumes:
            source, target, mode = parse_volume(spec)
            if source is None:
                source = self._volumes.get(target)
                if source is None:
                    h = hashlib.sha1(target.encode()).hexdigest()[:10]
                    source = f"buildrig-{self.ctx.run_id}-{h}"
                    self.api.create_volume(
                        source, labels=engine.labels(self.ctx.run_id, "volume", path=target)
                    )
                    self.tracker.volumes.append(source)
                    self._volumes[target] = source
            binds.append(f"{source}:{target}:{mode}")
        return binds

    def _host_config(self, *, privileged: bool, binds: list[str], network: str | None, fallback: bool) -> Any:
        d = self.docker
        kwargs: dict[str, Any] = {
            "binds": binds,
            "security_opt": list(d.security_opt) or None,
            "cap_add": list(d.cap_add) or None,
            "cap_drop": list(d.cap_drop) or None,
            "extra_hosts": list(self.extra_hosts) or None,
            "dns": list(d.dns) or None,
            "userns_mode": d.userns_mode,
            "devices": list(d.devices) or None,
            "group_add": list(d.group_add) or None,
            "network_mode": network,
            "privileged": privileged and not fallback,
        }
        if privileged and fallback:
            kwargs["cap_add"] = ["ALL", *(c for c in d.cap_add if c.upper() != "ALL")]
            kwargs["cap_drop"] = [*missing_caps(), *d.cap_drop] or None
            kwargs["security_opt"] = [*d.security_opt, *UNCONFINED]
            # dind needs its own cgroup namespace to remount the cgroup v1 hierarchy read-write.
            kwargs["cgroupns"] = "private"
        # "systempaths=unconfined" is a docker CLI spelling: the API wants empty masked/readonly paths.
        opts = kwargs.get("security_opt") or []
        unmask = any(o.replace(":", "=", 1) == "systempaths=unconfined" for o in opts)
        kwargs["security_opt"] = [
            o for o in opts if o.replace(":", "=", 1) != "systempaths=unconfined"
        ] or None
        hc = self.api.create_host_config(**{k: v for k, v in kwargs.items() if v is not None})
        if unmask:
            hc["MaskedPaths"] = []
            hc["ReadonlyPaths"] = []
        return hc

    def _start(
        self,
        log: JobLog,
        privileged: bool,
        create: Callable[[Any], str],
        before_start: Callable[[str], None] | None = None,
    ) -> str:
        """Create and start a container; fall back from a refused --privileged once, saying so."""
        from docker.errors import APIError

        if privileged and self._refused is None:
            cid = create(False)
            if before_start:
                before_start(cid)
            try:
                self.api.start(cid)
                return cid
            except APIError as exc:
                text = str(exc.explanation or exc)
                if not re.search(r"caps|operation not permitted|privileged", text, re.I):
                    raise
                self._refused = text.strip().splitlines()[0][:200]
                self.tracker.remove_container(cid)
        if privileged and self._refused is not None:
            allowed = privileged_fallback_allowed()
            if allowed is False:
                raise JobError(
                    f"the container runtime refused privileged mode ({self._refused}) and "
                    f"{FALLBACK_ENV}=0 forbids the fallback (every available capability, confinement off)"
                )
            caps = missing_caps()
            what = (
                f"every capability the host has (ALL{' minus ' + ', '.join(caps) if caps else ''}), "
                "seccomp, apparmor and systempaths unconfined"
            )
            log.warn(
                f"WARNING: the container runtime refused privileged mode ({self._refused}); running with "
                f"{what} instead"
                + ("" if allowed is True else f" ({FALLBACK_ENV}=0 refuses this, =1 acknowledges it)")
            )
            log.note(f"privileged fallback: {what} (the runtime refused --privileged)")
            cid = create(True)
        else:
            cid = create(False)
        if before_start:
            before_start(cid)
        self.api.start(cid)
        return cid

    def _container(
        self,
        fallback: bool,
        *,
        image: str,
        name: str,
        role: str,
        command: list[str] | None,
        entrypoint: list[str] | None,
        env: list[str],
        privileged: bool,
        binds: list[str],
        network: str | None,
        aliases: list[str] | None,
        workdir: str | None = None,
        user: str | None = None,
    ) -> str:
        netcfg = None
        if network and aliases and network not in ("host", "none", "bridge"):
            netcfg = self.api.create_networking_config(
                {network: self.api.create_endpoint_config(aliases=aliases)}
            )
        res = self.api.create_container(
            image,
            command=command,
            entrypoint=entrypoint,
            environment=env,
            working_dir=workdir,
            user=user or "",
            labels=engine.labels(self.ctx.run_id, role),
            name=name,
            networking_config=netcfg,
            host_config=self._host_config(
                privileged=privileged, binds=binds, network=network, fallback=fallback
            ),
        )
        cid: str = res["Id"]
        self.tracker.containers.append(cid)
        return cid

    # --- the job -----------------------------------------------------------------------------------

    def run(
        self,
        job: Job,
        index: int,
        jv: JobVariables,
        log: JobLog,
        inputs: Sequence[ArtifactFile] = (),
        cache_paths: Sequence[str] = (),
    ) -> Outcome:
        from docker.errors import APIError

        ctx = self.ctx
        created: list[str] = []
        network: str | None = self.docker.network_mode
        own_network: str | None = None
        try:
            lookup = jv.as_dict()
            image_spec = job.image
            name = expand(image_spec.name, lookup) if image_spec else (self.docker.image or "")
            if not name:
                raise JobError("no image: set image: in the job (or default:), or image in [runners.docker]")
            log.section('Preparing the "docker" executor')
            log.sys(f"Using Docker executor with image {name} ...")
            image = self.resolve_image(name, image_spec.pull_policy if image_spec else None, log)

            if network is None and (job.services or self.docker.services or self.network_per_build):
                own_network = f"buildrig-{ctx.run_id}-{index}-{slug(job.name)[:30]}"
                mtu = self.docker.network_mtu
                self.api.create_network(
                    own_network,
                    driver="bridge",
                    options={"com.docker.network.driver.mtu": str(mtu)} if mtu else None,
                    labels=engine.labels(ctx.run_id, "network", job=slug(job.name)[:60]),
                )
                self.tracker.networks.append(own_network)
                network = own_network
            binds = self._binds()

            services = (*self.docker.services, *job.services)
            if services:
                created += self._start_services(services, job, index, jv, log, network, binds)

            # GitLab Runner's docker executor runs the job under `umask 0000` (unless
            # FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR), so the script writes File variables 0666 and
            # an image whose user is not root (BuildKit rootless: uid 1000) can read them.
            files = {f"{ctx.project_dir}.tmp/{k}": (v, 0o666) for k, v in jv.files.items()}
            if inputs:
                log.sys(f"Downloading artifacts ({len(inputs)} files from earlier jobs)...")
            files.update({f"{ctx.project_dir}/{f.path}": (f.content, f.mode) for f in inputs})
            env = [f"{k}={(ctx.project_dir + '.tmp/' + k) if k in jv.files else v}" for k, v in jv.env]
            entry = list(image_spec.entrypoint) if image_spec and image_spec.entrypoint is not None else None
            user = (image_spec.user if image_spec else None) or self.docker.user
            privileged = self.docker.privileged

            log.section('Executing "step_script" stage of the job script')
            # One path for every stage: the container runs it on each start (after_script restarts it).
            script_path = f"{ctx.project_dir}.tmp/stage_script.sh"
            main = scripts.render([*self.pre_build, *job.before_script, *job.script], workdir=ctx.project_dir)
            # GIT_STRATEGY: none — the runner fetches nothing; the job starts in an empty directory.
            source = None if lookup.get("GIT_STRATEGY") == "none" else ctx.project.dir
            tar = scripts.build_tar(source, ctx.project_dir, {**files, script_path: (main.encode(), 0o755)})

            def create_job(fallback: bool) -> str:
                return self._container(
                    fallback,
                    image=image,
                    name=f"buildrig-{ctx.run_id}-{index}-{slug(job.name)[:40]}-build",
                    role="job",
                    command=scripts.shell_detect_command(script_path),
                    entrypoint=entry,
                    env=env,
                    privileged=privileged,
                    binds=binds,
                    network=network,
                    aliases=None,
                    workdir=ctx.project_dir,
                    user=user,
                )

            def put(cid: str) -> None:
                tar.seek(0)  # a refused --privileged means a second container gets the same archive
                self.api.put_archive(cid, "/", tar)

            cid = self._start(log, privileged, create_job, put)
            created.append(cid)
            code, timed_out = self._follow(cid, log, job_timeout(job))
            if timed_out:
                log.flush()

            if job.after_script:
                self._after_script(cid, script_path, job, "success" if code == 0 else "failed", log)
            collected = self._collect(cid, job, code == 0 and not timed_out, log)
            cached = tuple(f for p in cache_paths for f in self._gather(cid, p))
            if timed_out:
                limit = duration_text(job_timeout(job))
                return Outcome("failed", 1, f"execution took longer than {limit} seconds", collected, cached)
            if code == 0:
                return Outcome("success", 0, None, collected, cached)
            return Outcome("failed", code, f"exit code {code}", collected, cached)
        except JobError as exc:
            return Outcome("failed", 1, str(exc))
        except APIError as exc:
            text = str(exc.explanation or exc).strip().splitlines()[0]
            return Outcome("failed", 1, f"Docker Engine: {text}")
        finally:
            for cid in created:
                with contextlib.suppress(APIError):
                    self.tracker.remove_container(cid)
            if own_network:
                with contextlib.suppress(APIError):
                    self.api.remove_network(own_network)
                    self.tracker.networks.remove(own_network)

    def _gather(self, cid: str, pattern: str) -> list[ArtifactFile]:
        from docker.errors import NotFound

        start = arts.prefix(pattern)
        path = f"{self.ctx.project_dir}/{start}" if start else self.ctx.project_dir
        try:
            stream, _ = self.api.get_archive(cid, path)
        except NotFound:
            return []
        return arts.from_tar(stream, start, [pattern])

    def _collect(self, cid: str, job: Job, success: bool, log: JobLog) -> tuple[ArtifactFile, ...]:
        return arts.collect(job, success, log, lambda pattern: self._gather(cid, pattern))

    def _follow(self, cid: str, log: JobLog, timeout: float | None = None,
                stream: Iterable[bytes] | None = None) -> tuple[int, bool]:
        """Stream the container's output (or ``stream``, attached before a restart) until it
        exits; kill it after ``timeout`` seconds.

        Returns (exit code, whether the timeout killed it).
        """
        from docker.errors import APIError

        fired = threading.Event()

        def kill() -> None:
            fired.set()
            with contextlib.suppress(APIError):
                self.api.kill(cid)

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            for chunk in stream if stream is not None else self.api.logs(cid, stream=True, follow=True):
                log.feed(chunk)
            log.flush()
            res = self.api.wait(cid)
        finally:
            if timer is not None:
                timer.cancel()
        return int(res.get("StatusCode", 1)), fired.is_set()

    def _after_script(self, cid: str, script_path: str, job: Job, status: str, log: JobLog) -> None:
        """Start the stopped job container again with the after_script stage, as GitLab Runner
        does: files the script left in the container are still there. Its outcome never changes
        the job's."""
        log.section("Running after_script")
        log.sys("Running after script...")
        text = scripts.render(job.after_script, workdir=self.ctx.project_dir,
                              exports=(("CI_JOB_STATUS", status),))
        tar = scripts.build_tar(None, script_path.rsplit("/", 1)[0], {script_path: (text.encode(), 0o755)})
        self.api.put_archive(cid, "/", tar)
        # Attached before the start, so the stream holds this stage's output only.
        stream = self.api.attach(cid, stdout=True, stderr=True, stream=True, logs=False)
        self.api.start(cid)
        code, timed_out = self._follow(cid, log, timeout=AFTER_SCRIPT_TIMEOUT, stream=stream)
        if timed_out:
            log.warn(f"WARNING: after_script timed out after {AFTER_SCRIPT_TIMEOUT}s")
        elif code != 0:
            log.warn(f"WARNING: after_script failed, but job will continue unaffected: exit code {code}")

    # --- services ----------------------------------------------------------------------------------

    def _start_services(
        self,
        services: Sequence[ServiceSpec],
        job: Job,
        index: int,
        jv: JobVariables,
        log: JobLog,
        network: str | None,
        binds: list[str],
    ) -> list[str]:
        ctx = self.ctx
        lookup = jv.as_dict()
        # Like the runner (public variables only): no file variables, no masked ones (CI_JOB_TOKEN...).
        base_env = [(k, v) for k, v in jv.env if k not in jv.files and k not in jv.secret_names]
        privileged = (
            self.docker.privileged
            if self.docker.services_privileged is None
            else self.docker.services_privileged
        )
        started: list[tuple[str, str, str, dict[str, str]]] = []
        for i, svc in enumerate(services):
            name = expand(svc.name, lookup)
            log.sys(f"Starting service {name} ...")
            image = self.resolve_image(name, svc.pull_policy, log)
            svc_env = dict(base_env)
            for var in svc.variables:
                svc_env[var.name] = expand(var.value, lookup) if var.expand else var.value
            aliases = service_aliases(name, expand(svc.alias, lookup) if svc.alias else None)
            cname = f"buildrig-{ctx.run_id}-{index}-svc{i}-{slug(aliases[0])[:30]}"

            def create(
                fallback: bool,
                image: str = image,
                svc: ServiceSpec = svc,
                cname: str = cname,
                env: dict[str, str] = svc_env,
                aliases: list[str] = aliases,
            ) -> str:
                return self._container(
                    fallback,
                    image=image,
                    name=cname,
                    role="service",
                    command=list(svc.command) if svc.command is not None else None,
                    entrypoint=list(svc.entrypoint) if svc.entrypoint is not None else None,
                    env=[f"{k}={v}" for k, v in env.items()],
                    privileged=privileged,
                    binds=binds,
                    network=network,
                    aliases=aliases,
                )

            cid = self._start(log, privileged, create)
            started.append((cid, name, cname, svc_env))
            if str(lookup.get("CI_DEBUG_SERVICES", "")).lower() == "true":
                self._stream_service_log(cid, aliases[0], log)
        if started:
            timeout = self.docker.wait_for_services_timeout
            if timeout >= 0:
                log.sys(f"Waiting for services to be up and running (timeout {timeout} seconds)...")
                for cid, name, cname, env in started:
                    self._wait_service(cid, name, cname, env, network, timeout, log)
        return [s[0] for s in started]

    def _stream_service_log(self, cid: str, alias: str, log: JobLog) -> None:
        """CI_DEBUG_SERVICES: the service's output joins the job log live, prefixed like the runner's."""
        from docker.errors import APIError

        def pump() -> None:
            buf = b""
            with contextlib.suppress(APIError, OSError, ValueError):
                for chunk in self.api.logs(cid, stream=True, follow=True):
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        log.service(alias, line.decode("utf-8", "replace"))

        threading.Thread(target=pump, name=f"svc-log-{alias}", daemon=True).start()

    def _wait_service(
        self,
        cid: str,
        name: str,
        cname: str,
        env: Mapping[str, str],
        network: str | None,
        timeout: int,
        log: JobLog,
    ) -> None:
        if env.get("HEALTHCHECK_TCP_PORT"):
            ports = [int(env["HEALTHCHECK_TCP_PORT"])]
        else:
            info = self.api.inspect_container(cid)
            exposed = (info.get("Config") or {}).get("ExposedPorts") or {}
            ports = sorted(int(p.split("/")[0]) for p in exposed if p.endswith("/tcp"))[:20]
        if not ports or network == "none":
            return
        deadline = time.monotonic() + timeout
        problem = f"service {name!r} timeout"
        while True:
            info = self.api.inspect_container(cid)
            state = info.get("State") or {}
            if not state.get("Running"):
                problem = f"service {name!r} container exited with code {state.get('ExitCode')}"
                break
            if network == "host":
                ip = "127.0.0.1"
            else:
                nets = (info.get("NetworkSettings") or {}).get("Networks") or {}
                ip = next((n.get("IPAddress") for n in nets.values() if n.get("IPAddress")), "")
            if ip and any(_tcp_open(ip, port) for port in ports):
                return
            if time.monotonic() >= deadline:
                problem = (
                    f"service {name!r} timeout: no connection to {ip or '?'} on port(s) "
                    f"{', '.join(map(str, ports))} within {timeout}s"
                )
                break
            time.sleep(0.1)
        log.warn(f"*** WARNING: Service {cname} probably didn't start properly.")
        log.warn("")
        log.warn("Health check error:")
        log.warn(problem)
        log.warn("")
        log.warn("Service container logs:")
        raw = self.api.logs(cid, stdout=True, stderr=True, timestamps=True, tail=200)
        for line in raw.decode("utf-8", "replace").splitlines():
            log.warn(line)
        log.warn("")
        log.warn("*********")


DEFAULT_JOB_TIMEOUT = 3600.0  # GitLab's default project timeout
_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}


def job_timeout(job: Job) -> float:
    """``timeout:`` (``"1h 30m"``, ``"90 minutes"``, ``"3600"``) in seconds; GitLab's 1 h by default."""
    raw = job.raw.get("timeout")
    if raw is None:
        return DEFAULT_JOB_TIMEOUT
    text = str(raw).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]+)", text):
        total += float(num) * _UNITS.get(unit, 0)
    return total or DEFAULT_JOB_TIMEOUT


def duration_text(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60}m{s % 60}s"


def _tcp_open(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.3):
            return True
    except OSError:
        return False


def _split_tag(name: str) -> tuple[str, str | None]:
    if "@" in name:
        return name, None
    last = name.rfind("/")
    colon = name.rfind(":")
    if colon > last:
        return name[:colon], name[colon + 1 :]
    return name, "latest"
