"""Stand-in images for the roles the ways need, built offline from Debian packages.

``prepare`` (in :mod:`buildrig.testbed.prepare`) builds (or reuses) one image per role and writes
the image-override map ``run`` is given: the user's ``.gitlab-ci.yml`` keeps the real names
(``docker:29.7.2-cli``), the engine runs the stand-ins. Each image is made in two steps, each
cached by a recipe hash carried as a label:

1. a root filesystem (busybox + host binaries, or ``debootstrap --variant=minbase`` + packages),
   imported as ``buildrig-standin/<role>-root:<hash>``;
2. a small Dockerfile on top (entrypoint, ENV, VOLUME, the test bed CA) tagged
   ``buildrig-standin/<role>:<hash>``.

A second ``prepare`` finds both by label and tag and takes a few seconds. kaniko, BuildKit and
buildx have no Debian package: their real binaries are built from their Go modules
(``gotools``); where that cannot be done (no Go) those stand-ins are reported as skipped, with the
reason, never faked.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from buildrig import versions
from buildrig.engine import client as engine_client
from buildrig.engine import sdk_errors
from buildrig.errors import BuildrigError, EngineError
from buildrig.paths import state_dir
from buildrig.testbed import gotools, net, rootfs
from buildrig.testbed.gotools import BuiltTool
from buildrig.testbed.rootfs import RootSpec

if TYPE_CHECKING:
    from docker import DockerClient

REPO = "buildrig-standin"
LABEL_STANDIN = "buildrig.standin"
LABEL_RECIPE = "buildrig.recipe"
LABEL_ROLE_OF = "buildrig.standin-for"

#: The base image examples/hello builds FROM; the stand-in is served under this name by the
#: registry mirror, tagged on the host daemon, and pushed as ``library/...`` to the registry.
BASE_IMAGE = "python:3.11-slim-bookworm"
#: The host's CA bundle (Debian ca-certificates), what upstream images carry as theirs.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

Progress = Callable[[str], None]

@dataclass(frozen=True)
class Recipe:
    role: str
    title: str
    root: RootSpec
    dockerfile: str  # lines after FROM
    files: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))
    replaces: tuple[str, ...] = ()

    @property
    def root_key(self) -> str:
        return self.root.key()

    @property
    def key(self) -> str:
        return rootfs.files_digest(
            [("root", self.root_key.encode()), ("Dockerfile", self.dockerfile.encode()), *self.files.items()]
        )

    @property
    def root_tag(self) -> str:
        return f"{REPO}/{self.role}-root:{self.root_key[:16]}"

    @property
    def tag(self) -> str:
        return f"{REPO}/{self.role}:{self.key[:16]}"


@dataclass(frozen=True)
class PreparedImage:
    role: str
    tag: str
    replaces: tuple[str, ...]
    reused: bool
    seconds: float


def _asset(name: str) -> bytes:
    return resources.files("buildrig.testbed").joinpath("assets", name).read_bytes()


def _certs_d(prefix: str, ca: bytes) -> dict[str, bytes]:
    gw = net.gateway()
    return {f"{prefix}/{gw}:{port}/ca.crt": ca for port in (net.REGISTRY_PORT, net.MIRROR_PORT)}


def _copy_lines(files: Mapping[str, bytes]) -> str:
    return "".join(f'COPY ["{name}", "/{name}"]\n' for name in sorted(files) if name != "Dockerfile")


def registry_recipe() -> Recipe:
    return Recipe(
        role="registry",
        title="registry (Debian docker-registry)",
        root=RootSpec("busybox", binaries=("/usr/bin/docker-registry",)),
        dockerfile=(
            "VOLUME /var/lib/registry\nEXPOSE 5000\n"
            'ENTRYPOINT ["/usr/bin/docker-registry", "serve"]\n'
            'CMD ["/etc/docker/registry/config.yml"]\n'
        ),
        replaces=("registry:2",),
    )


def _tool_file(tools: Mapping[str, BuiltTool], tool: str, name: str) -> str:
    return str(tools[tool].path(name))


def kaniko_recipes(tools: Mapping[str, BuiltTool]) -> tuple[Recipe, Recipe]:
    """The kaniko ``-debug`` image (busybox shell) and the plain one (no shell), as upstream lays
    them out: FROM scratch, everything under /kaniko, busybox under /busybox declared a VOLUME so
    the executor leaves it alone when it unpacks a base image over /."""
    kaniko_files = (
        ("kaniko/executor", _tool_file(tools, "kaniko", "executor"), 0o755),
        ("kaniko/warmer", _tool_file(tools, "kaniko", "warmer"), 0o755),
        ("kaniko/ssl/certs/ca-certificates.crt", CA_BUNDLE, 0o644),
    )
    kaniko_dirs = (("kaniko", 0o777), ("kaniko/.docker", 0o777), ("workspace", 0o755), ("root", 0o700))
    env = (
        "ENV HOME=/root USER=root PATH=/usr/local/bin:/kaniko:/busybox SSL_CERT_DIR=/kaniko/ssl/certs "
        "DOCKER_CONFIG=/kaniko/.docker/ "
        "DOCKER_CREDENTIAL_GCR_CONFIG=/kaniko/.config/gcloud/docker_credential_gcr_config.json"
    )
    # Test bed only: Docker Hub's base images come from the local mirror (kaniko's own variable
    # for --registry-mirror); the job still has to trust its CA, as it does the registry's.
    mirror_env = f" KANIKO_REGISTRY_MIRROR={net.gateway()}:{net.MIRROR_PORT}\n"
    tail = 'WORKDIR /workspace\nENTRYPOINT ["/kaniko/executor"]\n'
    title = f"kaniko {versions.KANIKO_STANDIN_VERSION} ({versions.KANIKO_STANDIN_MODULE})"
    debug = Recipe(
        role="kaniko",
        title=f"{title}, -debug layout with Debian busybox",
        root=RootSpec("scratch", files=kaniko_files, dirs=kaniko_dirs, busybox_dir="busybox",
                      links=(("bin/sh", "/busybox/sh"),)),
        dockerfile=env + mirror_env + "VOLUME /busybox\n" + tail,
        replaces=(versions.KANIKO_IMAGE,),
    )
    plain = Recipe(
        role="kaniko-plain",
        title=f"{title}, plain layout (no shell)",
        root=RootSpec("scratch", files=kaniko_files, dirs=kaniko_dirs),
        dockerfile=env.replace(":/busybox", "") + mirror_env + tail,
        replaces=(versions.KANIKO_PLAIN_IMAGE,),
    )
    return debug, plain


def buildkit_recipe(tools: Mapping[str, BuiltTool], ca: bytes) -> Recipe:
    """moby/buildkit:<v>-rootless: user 1000 with subordinate ids, rootlesskit as entrypoint."""
    mirror = f"{net.gateway()}:{net.MIRROR_PORT}"
    # Test bed only: Docker Hub comes from the local mirror, whose CA this file names; the
    # registry jobs push to (CI_REGISTRY) is not listed: the job must bring its trust itself.
    toml = (f'[registry."docker.io"]\n  mirrors = ["{mirror}"]\n\n'
            f'[registry."{mirror}"]\n  ca = ["/etc/buildrig/testbed-mirror-ca.crt"]\n').encode()
    files = {"home/user/.config/buildkit/buildkitd.toml": toml, "etc/buildrig/testbed-mirror-ca.crt": ca}
    return Recipe(
        role="buildkit",
        title=f"BuildKit {versions.BUILDKIT_VERSION} rootless (Debian rootlesskit, runc, fuse-overlayfs)",
        root=RootSpec(
            "debootstrap",
            packages=("rootlesskit", "runc", "fuse-overlayfs", "fuse3", "uidmap", "slirp4netns", "pigz",
                      "git", "openssh-client", "ca-certificates", "libcap2-bin"),
            files=(("usr/bin/buildkitd", _tool_file(tools, "buildkit", "buildkitd"), 0o755),
                   ("usr/bin/buildctl", _tool_file(tools, "buildkit", "buildctl"), 0o755),
                   ("usr/bin/buildctl-daemonless.sh",
                    _tool_file(tools, "buildkit", "buildctl-daemonless.sh"), 0o755)),
        ),
        files=files,
        dockerfile=(
            _copy_lines(files)
            + 'RUN useradd --uid 1000 --user-group --create-home --home-dir /home/user --shell /bin/sh user'
            + " && echo user:100000:65536 > /etc/subuid && echo user:100000:65536 > /etc/subgid"
            + " && mkdir -p /run/user/1000 /home/user/.local/tmp /home/user/.local/share/buildkit"
            + " && chown -R user:user /run/user/1000 /home/user && chmod 700 /run/user/1000"
            # File capabilities, not setuid root: newuidmap must open the child's uid_map as its
            # owner (uid 1000); as euid 0 the kernel wants CAP_SYS_ADMIN, which containers lack.
            + " && chmod u-s /usr/bin/newuidmap /usr/bin/newgidmap"
            + " && setcap cap_setuid+ep /usr/bin/newuidmap && setcap cap_setgid+ep /usr/bin/newgidmap\n"
            + "USER 1000:1000\n"
            + "ENV USER=user HOME=/home/user XDG_RUNTIME_DIR=/run/user/1000 "
            + "TMPDIR=/home/user/.local/tmp BUILDKIT_HOST=unix:///run/user/1000/buildkit/buildkitd.sock\n"
            + "VOLUME /home/user/.local/share/buildkit\n"
            + 'ENTRYPOINT ["rootlesskit", "buildkitd"]\n'
        ),
        replaces=(versions.BUILDKIT_IMAGE,),
    )


def recipes(ca: bytes, tools: Mapping[str, BuiltTool] | None = None) -> tuple[Recipe, ...]:
    """Every stand-in but the registry; ``ca`` is the test bed CA the builders must trust.

    ``tools`` are the Go-built binaries; without them (no Go) kaniko and BuildKit have no
    stand-in and the docker CLI has no buildx plugin.
    """
    mirror = f"https://{net.gateway()}:{net.MIRROR_PORT}"
    cli_files = {"usr/local/bin/docker-entrypoint.sh": _asset("docker-entrypoint.sh")}
    tools = tools or {}
    buildx: tuple[tuple[str, str, int], ...] = ()
    if "buildx" in tools:
        buildx = (("usr/libexec/docker/cli-plugins/docker-buildx", _tool_file(tools, "buildx", "buildx"),
                   0o755),)
        # Like docker 23+: `docker build` is `docker buildx build` (BuildKit) once buildx is there.
        # Debian's 20.10 client routes it so through this alias.
        cli_files["root/.docker/config.json"] = b'{\n\t"aliases": {\n\t\t"builder": "buildx"\n\t}\n}\n'
    # Debian's 20.10 client (the docker CLI has no Go module to build a newer one from) with the
    # real buildx plugin.
    cli = Recipe(
        role="docker-cli",
        title="docker CLI (busybox + Debian docker client" + (" + buildx)" if buildx else ")"),
        root=RootSpec("busybox", binaries=("/usr/bin/docker",), files=buildx),
        files=cli_files,
        dockerfile=(
            _copy_lines(cli_files)
            + "ENV DOCKER_TLS_CERTDIR=/certs\n"
            + 'RUN ["/bin/busybox", "sh", "-c", '
            + '"mkdir -p /certs/client && chmod 1777 /certs /certs/client"]\n'
            + 'ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["sh"]\n'
        ),
        replaces=(versions.DOCKER_CLI_IMAGE, "docker:cli"),
    )
    dind_files = {"usr/local/bin/dockerd-entrypoint.sh": _asset("dockerd-entrypoint.sh"),
                  **_certs_d("etc/docker/certs.d", ca)}
    dind = Recipe(
        role="dind",
        title="dind (Debian docker.io)",
        root=RootSpec("debootstrap",
                      packages=("docker.io", "iptables", "openssl", "procps", "busybox-static")),
        files=dind_files,
        dockerfile=(
            _copy_lines(dind_files)
            + f"ENV DOCKER_TLS_CERTDIR=/certs BUILDRIG_REGISTRY_MIRROR={mirror}\n"
            + "VOLUME /var/lib/docker\nEXPOSE 2375 2376\n"
            + 'ENTRYPOINT ["dockerd-entrypoint.sh"]\nCMD []\n'
        ),
        replaces=(versions.DOCKER_DIND_IMAGE, "docker:dind"),
    )
    gw = net.gateway()
    registries_conf = (
        'unqualified-search-registries = ["docker.io"]\n\n'
        '[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n\n'
        f'[[registry.mirror]]\nlocation = "{gw}:{net.MIRROR_PORT}"\n'
    ).encode()
    # Like quay.io/buildah/stable: overlay through fuse-overlayfs (needs /dev/fuse); jobs that
    # cannot get the device choose vfs with STORAGE_DRIVER. Unlike it: no additional image store
    # (/var/lib/shared), which the stand-in has nothing to put in.
    storage_conf = (b'[storage]\ndriver = "overlay"\nrunroot = "/run/containers/storage"\n'
                    b'graphroot = "/var/lib/containers/storage"\n\n[storage.options.overlay]\n'
                    b'mount_program = "/usr/bin/fuse-overlayfs"\nmountopt = "nodev,fsync=0"\n')
    buildah_files = {
        "etc/containers/registries.conf": registries_conf,
        "etc/containers/storage.conf": storage_conf,
        **_certs_d("etc/containers/certs.d", ca),
    }
    buildah = Recipe(
        role="buildah",
        title="buildah (Debian buildah, fuse-overlayfs, chroot isolation)",
        root=RootSpec("debootstrap", packages=("buildah", "fuse-overlayfs", "containernetworking-plugins",
                                               "ca-certificates")),
        files=buildah_files,
        dockerfile=(
            _copy_lines(buildah_files)
            + "ENV BUILDAH_ISOLATION=chroot\n"
            # As upstream: on Docker the store is an anonymous volume, not the container's overlay root.
            + "VOLUME /var/lib/containers\n"
            + 'CMD ["/bin/sh"]\n'
        ),
        replaces=(versions.BUILDAH_IMAGE, "quay.io/buildah/stable"),
    )
    base = Recipe(
        role="python-base",
        title=f"{BASE_IMAGE} (Debian python3 + pip)",
        # Like the official python image: pip may install into the image's Python; like Debian's
        # -slim images: no translations.
        root=RootSpec("debootstrap", packages=("python3", "python3-pip"),
                      prune=("usr/lib/python3.11/EXTERNALLY-MANAGED", "usr/share/locale")),
        dockerfile='ENV LANG=C.UTF-8\nCMD ["python3"]\n',
        replaces=(),
    )
    out: tuple[Recipe, ...] = (cli, dind, buildah, base)
    if "kaniko" in tools:
        out += kaniko_recipes(tools)
    if "buildkit" in tools:
        out += (buildkit_recipe(tools, ca),)
    return out


def build_go_tools(progress: Progress) -> tuple[dict[str, BuiltTool], tuple[tuple[str, str], ...]]:
    """Build (or reuse) kaniko, BuildKit and buildx; a tool that cannot be built is reported with
    the images it would have stood in for, never replaced by anything else."""
    built: dict[str, BuiltTool] = {}
    skipped: list[tuple[str, str]] = []
    images_of = {"kaniko": (versions.KANIKO_IMAGE, versions.KANIKO_PLAIN_IMAGE),
                 "buildkit": (versions.BUILDKIT_IMAGE,), "buildx": ()}
    go: tuple[str, str] | BuildrigError
    try:
        go = gotools.find_go()
    except BuildrigError as exc:
        go = exc
    for tool in gotools.TOOLS:
        try:
            if isinstance(go, BuildrigError):
                raise go
            built[tool.name] = gotools.build(tool, progress, go)
        except BuildrigError as exc:
            progress(f"{tool.name}: not built: {exc}")
            skipped += [(image, str(exc)) for image in images_of[tool.name]]
            if tool.name == "buildx":
                skipped.append(("docker-buildx plugin", str(exc)))
    return built, tuple(skipped)


def images_state() -> Path:
    return state_dir() / "testbed" / "images.json"


def overrides() -> dict[str, str]:
    """Real image name → local stand-in tag, as written by the last ``prepare`` (empty if none)."""
    try:
        data = json.loads(images_state().read_text())
    except (OSError, ValueError):
        return {}
    raw = data.get("overrides") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def skipped() -> dict[str, str]:
    """Real image name → why the last ``prepare`` built no stand-in for it (empty if none)."""
    try:
        data = json.loads(images_state().read_text())
    except (OSError, ValueError):
        return {}
    raw = data.get("skipped") if isinstance(data, dict) else None
    return {str(s[0]): str(s[1]) for s in raw if isinstance(s, list) and len(s) == 2} if isinstance(
        raw, list) else {}


def _has_image(cli: DockerClient, tag: str, key: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        img = cli.images.get(tag)
    except ImageNotFound:
        return False
    return bool((img.labels or {}).get(LABEL_RECIPE) == key)


def _import_root(cli: DockerClient, recipe: Recipe, progress: Progress) -> None:
    work = state_dir() / "testbed" / "work"
    work.mkdir(parents=True, exist_ok=True)
    changes = [
        f"LABEL {LABEL_STANDIN}={recipe.role}-root",
        f"LABEL {LABEL_RECIPE}={recipe.root_key}",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]
    repo, tag = recipe.root_tag.rsplit(":", 1)
    with tempfile.TemporaryDirectory(dir=work, prefix=f"{recipe.role}-") as tmp:
        tar_path = Path(tmp) / "rootfs.tar"
        if recipe.root.kind == "busybox":
            tar_path.write_bytes(rootfs.busybox_tar(recipe.root))
        elif recipe.root.kind == "scratch":
            rootfs.scratch_tar(recipe.root).replace(tar_path)
        else:
            tree = Path(tmp) / "root"
            progress(f"{recipe.role}: debootstrap {rootfs.SUITE} minbase + {', '.join(recipe.root.packages)}")
            try:
                rootfs.debootstrap_tree(recipe.root, tree, work / f"{recipe.role}-debootstrap.log")
                rootfs.place_files(recipe.root, tree)
                rootfs.tar_tree(tree, tar_path)
            finally:
                rootfs.remove_tree(tree)
        try:
            cli.api.import_image_from_file(str(tar_path), repository=repo, tag=tag, changes=changes)
        except sdk_errors() as exc:
            raise EngineError(f"importing {recipe.root_tag} failed: {exc}") from exc
    if not _has_image(cli, recipe.root_tag, recipe.root_key):
        raise EngineError(f"importing {recipe.root_tag} produced no image")


def _build_final(cli: DockerClient, recipe: Recipe) -> None:
    dockerfile = f"FROM {recipe.root_tag}\n{recipe.dockerfile}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in [("Dockerfile", dockerfile.encode()), *sorted(recipe.files.items())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    labels = {LABEL_STANDIN: recipe.role, LABEL_RECIPE: recipe.key,
              LABEL_ROLE_OF: ",".join(recipe.replaces)}
    errors: list[str] = []
    try:
        for chunk in cli.api.build(fileobj=buf, custom_context=True, tag=recipe.tag, rm=True,
                                   forcerm=True, decode=True, labels=labels, pull=False):
            if "error" in chunk:
                errors.append(str(chunk["error"]).strip())
    except sdk_errors() as exc:
        raise EngineError(f"building {recipe.tag} failed: {exc}") from exc
    if errors or not _has_image(cli, recipe.tag, recipe.key):
        raise EngineError(f"building {recipe.tag} failed: {'; '.join(errors) or 'no image'}")


def ensure(cli: DockerClient, recipe: Recipe, progress: Progress) -> PreparedImage:
    """Build ``recipe`` unless an image with its recipe hash exists."""
    start = time.monotonic()
    if _has_image(cli, recipe.tag, recipe.key):
        return PreparedImage(recipe.role, recipe.tag, recipe.replaces, True, time.monotonic() - start)
    if not _has_image(cli, recipe.root_tag, recipe.root_key):
        _import_root(cli, recipe, progress)
    _build_final(cli, recipe)
    secs = time.monotonic() - start
    progress(f"{recipe.role}: built {recipe.tag} in {secs:.1f} s")
    return PreparedImage(recipe.role, recipe.tag, recipe.replaces, False, secs)


def remove_stale(cli: DockerClient, current: list[Recipe]) -> None:
    """Drop stand-ins of older recipes (a new CA, a new buildrig); images in use are kept."""
    from docker.errors import APIError, ImageNotFound

    keep = {r.tag for r in current} | {r.root_tag for r in current}
    for img in standin_images(cli):
        for tag in img.tags:
            if tag.startswith(f"{REPO}/") and tag not in keep:
                with contextlib.suppress(APIError, ImageNotFound):
                    cli.images.remove(tag)


def registry_image(cli: DockerClient, progress: Progress) -> str:
    """``registry:2`` when the engine has it, else the Debian stand-in (built if needed)."""
    from docker.errors import ImageNotFound

    try:
        cli.images.get("registry:2")
        return "registry:2"
    except ImageNotFound:
        return ensure(cli, registry_recipe(), progress).tag


def standin_images(cli: DockerClient) -> list[Any]:
    return list(cli.images.list(filters={"label": LABEL_STANDIN}))


def prune(*, docker_host: str | None = None) -> int:
    """Remove every stand-in image (final ones first); returns how many went."""
    from docker.errors import APIError, ImageNotFound

    cli = engine_client(docker_host)
    imgs = standin_images(cli)
    imgs.sort(key=lambda i: (i.labels or {}).get(LABEL_STANDIN, "").endswith("-root"))
    n = 0
    for img in imgs:
        for t in list(img.tags) or [img.id]:
            try:
                cli.images.remove(t, force=False, noprune=False)
                n += 1
            except (ImageNotFound, APIError):
                continue
    if os.path.exists(images_state()):
        os.unlink(images_state())
    return n

