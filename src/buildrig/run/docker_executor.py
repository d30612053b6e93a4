"""GitLab Runner's Docker executor, over the Docker SDK: services, the job container, after_script.

What the runner does and this mirrors: services on the default bridge, reached from the job through
host entries for every name (aliases from the image name), or on a network per job with
FF_NETWORK_PER_BUILD; services get the job's variables, their exposed TCP ports are waited for (a warning
plus their log on timeout, then the job goes on), the job's image runs the script through its own
entrypoint with the shell it has (bash, else sh), ``after_script`` runs in the same job container
started again (what the script left outside the build directory, in ``/tmp`` say, is still there),
and everything is removed when the job ends.

The pieces around it live beside it: image resolution (``images``), service readiness and aliases
(``services``), the privileged fallback's capability probing (``capabilities``), and what both
executors share (``executor``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from buildrig import engine
from buildrig.gitlab.expand import expand
from buildrig.gitlab.features import NETWORK_PER_BUILD, flag_on, go_bool
from buildrig.gitlab.model import DockerSection, Job, ServiceSpec
from buildrig.gitlab.mounts import parse_volume
from buildrig.gitlab.privileged import job_privileged, service_privileged
from buildrig.gitlab.services import assign, service_names
from buildrig.run import artifacts as arts
from buildrig.run import script as scripts
from buildrig.run.artifacts import ArtifactFile
from buildrig.run.capabilities import (
    FALLBACK_ENV,
    UNCONFINED,
    missing_caps,
    privileged_fallback_allowed,
    remember_refusal,
    remembered_refusal,
)
from buildrig.run.cleanup import Tracker
from buildrig.run.executor import AFTER_SCRIPT_TIMEOUT, JobError, Outcome, duration_text, job_timeout
from buildrig.run.images import ImageResolver
from buildrig.run.log import JobLog
from buildrig.run.services import stream_service_log, wait_service
from buildrig.run.variables import JobVariables, PipelineContext, slug

if TYPE_CHECKING:
    from docker import APIClient


class DockerExecutor:
    def __init__(
        self,
        api: APIClient,
        ctx: PipelineContext,
        docker: DockerSection,
        *,
        tracker: Tracker,
        overrides: Mapping[str, str],
        default_pull_policy: tuple[str, ...],
        network_per_build: bool,
        extra_hosts: Sequence[str] = (),
        feature_flags: Mapping[str, bool] | None = None,
        cache_scope: str | None = None,
        keep_cache: bool = False,
    ) -> None:
        self.api = api
        self.cache_scope = cache_scope
        self.keep_cache = keep_cache
        self.ctx = ctx
        self.docker = docker
        self.tracker = tracker
        self.images = ImageResolver(api, overrides, tuple(docker.pull_policy), default_pull_policy)
        self.network_per_build = network_per_build  # --network-per-build: on whatever the job says
        self.feature_flags: Mapping[str, bool] = feature_flags or {}  # [runners.feature_flags]
        self.extra_hosts = [*docker.extra_hosts, *extra_hosts]
        self._volumes: dict[str, str] = {}  # container path → per-run volume name
        self._refused: str | None = None  # why the runtime refused --privileged
        self.pre_build: tuple[str, ...] = ()  # [[runners]] pre_build_script, run before before_script

    def resolve_image(self, name: str, policies: tuple[str, ...] | None, log: JobLog) -> str:
        """The local image to run for ``name``, honouring the pull policy, or :class:`JobError`."""
        return self.images.resolve(name, policies, log)

    def _lookup(self, jv: JobVariables) -> Callable[[str], str | None]:
        """A job variable's value for expansion: a File variable expands to its file's path."""
        values = jv.as_dict()
        tmp = f"{self.ctx.tmp_dir}/"

        def look(name: str) -> str | None:
            return tmp + name if name in jv.files else values.get(name)

        return look

    # --- volumes, host config ------------------------------------------------------------------

    def _binds(self, log: JobLog) -> list[str]:
        """The runner's volumes as binds: a cache volume (no source) becomes a volume of this run
        (or of the cache scope, kept between runs as the runner keeps it between jobs), or nothing
        under ``disable_cache`` (gitlab/mounts.py has the runner's rules)."""
        binds: list[str] = []
        for spec in self.docker.volumes:
            if not spec:
                continue
            mount = parse_volume(spec)
            if mount is None:
                raise JobError(f'parse volume: invalid volume specification: "{spec}"')
            if mount.source is not None:
                binds.append(mount.bind())
                continue
            if self.docker.disable_cache:
                log.warn(
                    "WARNING: Container based cache volumes creation is disabled. "
                    f'Will not create volume for "{spec}"'
                )
                continue
            target = mount.destination
            source = self._volumes.get(target)
            if source is None:
                h = hashlib.sha1(target.encode()).hexdigest()[:10]
                if self.cache_scope:
                    # kept for the scope's next run; creating an existing volume returns it
                    source = f"buildrig-cache-{self.cache_scope}-{h}"
                    labels = engine.cache_labels(self.cache_scope, target, kept=self.keep_cache)
                    self.api.create_volume(source, labels=labels)
                else:
                    source = f"buildrig-{self.ctx.run_id}-{h}"
                    self.api.create_volume(
                        source, labels=engine.labels(self.ctx.run_id, "volume", path=target)
                    )
                    self.tracker.volumes.append(source)
                self._volumes[target] = source
            binds.append(mount.bind(source))
        return binds

    def _build_volume(self, index: int, job: Job, binds: Sequence[str]) -> str | None:
        """The builds directory on a volume of this job, as GitLab Runner keeps it.

        The runner creates it before the services and removes it with the job
        (executors/docker/docker.go:1135 createBuildVolume at v17.9.3: a temporary volume, since
        buildrig hands every job a fresh copy as GIT_STRATEGY=clone would) and binds it into the
        services too (docker.go:397). It matters to builders that wipe the root file system
        between stages but keep mounts (kaniko): on the container's own layer the project is gone
        by the second stage. A `volumes` entry for the same directory wins, as the runner's
        ErrVolumeAlreadyDefined leaves it (internal/volumes/manager.go:230).
        """
        root = self.ctx.builds_dir.rstrip("/") or "/"
        for spec in binds:
            mount = parse_volume(spec)
            if mount is not None and (mount.destination.rstrip("/") or "/") == root:
                return None
        name = f"buildrig-{self.ctx.run_id}-{index}-{slug(job.name)[:30]}-builds"
        self.api.create_volume(name, labels=engine.labels(self.ctx.run_id, "volume", path=root))
        self.tracker.volumes.append(name)
        return name

    def _host_config(
        self, *, privileged: bool, binds: list[str], network: str | None, fallback: bool,
        links: Sequence[str] = (),
    ) -> Any:
        d = self.docker
        kwargs: dict[str, Any] = {
            "binds": binds,
            "security_opt": list(d.security_opt) or None,
            "cap_add": list(d.cap_add) or None,
            "cap_drop": list(d.cap_drop) or None,
            "extra_hosts": [*self.extra_hosts, *links] or None,
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
            self._refused = remembered_refusal(self)
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
                remember_refusal(self, self._refused)
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
        links: Sequence[str] = (),
    ) -> str:
        netcfg = None
        if network and aliases and network not in ("host", "none", "bridge"):
            # types-docker types the argument as one EndpointConfig; the SDK takes {network: config}.
            netcfg = self.api.create_networking_config(
                {network: self.api.create_endpoint_config(aliases=aliases)}  # type: ignore[arg-type]
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
                privileged=privileged, binds=binds, network=network, fallback=fallback, links=links
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
        build_volume: str | None = None
        try:
            lookup = jv.as_dict()
            image_spec = job.image
            look = self._lookup(jv)
            name = expand(image_spec.name, look) if image_spec else expand(self.docker.image or "", look)
            if not name:
                raise JobError("no image: set image: in the job (or default:), or image in [runners.docker]")
            log.section('Preparing the "docker" executor')
            log.sys(f"Using Docker executor with image {name} ...")
            image = self.resolve_image(name, image_spec.pull_policy if image_spec else None, log)

            per_build = self.network_per_build or flag_on(NETWORK_PER_BUILD, self.feature_flags, look)
            # Without FF_NETWORK_PER_BUILD the runner makes no network: services start on the
            # default bridge and the job reaches them through host entries (below).
            if network is None and per_build:
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
            binds = self._binds(log)
            build_volume = self._build_volume(index, job, binds)
            if build_volume is not None:
                binds.append(f"{build_volume}:{ctx.builds_dir}")

            services = (*self.docker.services, *job.services)
            links: list[str] = []
            if services:
                started = self._start_services(services, job, index, jv, log, network, binds, created)
                links = self._links(started)

            # GitLab Runner's docker executor runs the job under `umask 0000` (unless
            # FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR), so the script writes File variables 0666 and
            # an image whose user is not root (BuildKit rootless: uid 1000) can read them.
            files = {f"{ctx.tmp_dir}/{k}": (v, 0o666) for k, v in jv.files.items()}
            if inputs:
                log.sys(f"Downloading artifacts ({len(inputs)} files from earlier jobs)...")
            files.update({f"{ctx.project_dir}/{f.path}": (f.content, f.mode) for f in inputs})
            env = [f"{k}={(ctx.tmp_dir + '/' + k) if k in jv.files else v}" for k, v in jv.env]
            entry = list(image_spec.entrypoint) if image_spec and image_spec.entrypoint is not None else None
            user = (image_spec.user if image_spec else None) or self.docker.user
            privileged = job_privileged(self.docker, name)

            log.section('Executing "step_script" stage of the job script')
            # One path for every stage: the container runs it on each start (after_script restarts it).
            script_path = f"{ctx.tmp_dir}/stage_script.sh"
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
                    links=links,
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
            self._release(created, own_network, build_volume)

    def _release(self, created: Sequence[str], network: str | None, volume: str | None) -> None:
        """Remove what the job created, containers first (they hold the network and volume)."""

        def remove(cid: str) -> None:
            # Any engine error (a timeout too): the run's final sweep retries what is left.
            with contextlib.suppress(*engine.sdk_errors()):
                self.tracker.remove_container(cid)

        # Side by side, as GitLab Runner's Cleanup does (a goroutine per container): killing a
        # service's daemon and unmounting its layers takes ~0.15 s each here.
        workers = [threading.Thread(target=remove, args=(cid,), name="rm-container") for cid in created[1:]]
        for w in workers:
            w.start()
        if created:
            remove(created[0])
        for w in workers:
            w.join()
        if volume is not None:
            with contextlib.suppress(*engine.sdk_errors()):
                self.api.remove_volume(volume, force=True)
                self.tracker.volumes.remove(volume)
        if network:
            with contextlib.suppress(*engine.sdk_errors()):
                self.tracker.remove_network(network)

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
        created: list[str] | None = None,
    ) -> list[tuple[str, list[str]]]:
        """Start the services, wait for them, and return each one's container and names; each is
        added to ``created`` as it starts, so a failure part-way releases those already up."""
        ctx = self.ctx
        lookup = jv.as_dict()
        look = self._lookup(jv)
        # Like the runner (public variables only): no file variables, no masked ones (CI_JOB_TOKEN...).
        base_env = [(k, v) for k, v in jv.env if k not in jv.files and k not in jv.secret_names]
        started: list[tuple[str, str, str, dict[str, str], list[str]]] = []
        # Names and aliases are expanded first, then named as the runner names them.
        expanded = [(expand(s.name, look), expand(s.alias, look) if s.alias else None) for s in services]
        named = zip(services, expanded, assign(expanded), strict=True)
        for i, (svc, (name, alias), given) in enumerate(named):
            if not service_names(name, alias).valid:
                if service_names(name, alias).aliases:
                    raise JobError(f"invalid service image name: {name}")
                # The runner starts a service once per free name; without any it skips it unsaid.
                log.warn(f"WARNING: service {name!r} is not started: no image reference, no alias")
                continue
            if not given:
                log.warn(f"WARNING: Service {name} is already created. Ignoring.")
                continue
            aliases = list(given)
            privileged = service_privileged(self.docker, name)
            log.sys(f"Starting service {name} ...")
            image = self.resolve_image(name, svc.pull_policy, log)
            svc_env = dict(base_env)
            for var in svc.variables:
                svc_env[var.name] = expand(var.value, look) if var.expand else var.value
            cname = f"buildrig-{ctx.run_id}-{index}-svc{i}-{slug(aliases[0])[:30]}"

            def create(
                fallback: bool,
                image: str = image,
                svc: ServiceSpec = svc,
                cname: str = cname,
                env: dict[str, str] = svc_env,
                aliases: list[str] = aliases,
                privileged: bool = privileged,
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
            if created is not None:
                created.append(cid)
            started.append((cid, name, cname, svc_env, aliases))
            if go_bool(lookup.get("CI_DEBUG_SERVICES", "")):
                # the runner prefixes the lines with every name of the service joined by "-"
                # (executors/docker/services.go:304-316; in Go's map order, here in ours)
                stream_service_log(self.api, cid, "-".join(aliases), log)
        if started:
            timeout = self.docker.wait_for_services_timeout
            if timeout >= 0:
                log.sys(f"Waiting for services to be up and running (timeout {timeout} seconds)...")
                for cid, name, cname, env, _ in started:
                    wait_service(self.api, cid, name, cname, env, network, timeout, log)
        return [(s[0], s[4]) for s in started]

    def _links(self, started: Sequence[tuple[str, list[str]]]) -> list[str]:
        """``name:ip`` host entries for the job container, per name (and the short container ID,
        the service's own hostname) and address of each service: how GitLab Runner 18.7+ stands in
        for Docker's deprecated links (``e.links`` in executors/docker/services.go, the build
        container's ExtraHosts; links also set <ALIAS>_PORT_* variables, not emulated): the job
        resolves every service name, services resolve none."""
        links: list[str] = []
        for cid, names in started:
            nets = (self.api.inspect_container(cid).get("NetworkSettings") or {}).get("Networks") or {}
            ips = [n[k] for n in nets.values() for k in ("IPAddress", "GlobalIPv6Address") if n.get(k)]
            links += [f"{name}:{ip}" for name in (*names, cid[:12]) for ip in ips]
        return links

