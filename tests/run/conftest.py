"""Fixtures for ``buildrig run`` tests: tiny images built from busybox-static (no registry needed),
a project factory, and a check that no test leaves a labelled object behind."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from buildrig import engine
from buildrig.errors import Loc
from buildrig.gitlab.model import DockerSection, Runner, Variable
from buildrig.run import RunOptions, RunResult, run_jobs
from buildrig.run.cleanup import RUN_ROLES

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
TAG = "buildrig-test"


@pytest.fixture(scope="session")
def api() -> Any:
    return engine.client().api


def _rootfs(extra: dict[str, tuple[bytes, int]] | None = None) -> bytes:
    """A rootfs tar: /bin/busybox + one symlink per applet, /tmp, /etc/passwd, plus ``extra``."""
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d, mode in (("bin", 0o755), ("tmp", 0o1777), ("etc", 0o755), ("root", 0o700)):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        with open(BUSYBOX, "rb") as fh:
            data = fh.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in applets:
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        files = {
            "etc/passwd": (b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n", 0o644),
            "etc/group": (b"root:x:0:\nnogroup:x:65534:\n", 0o644),
        }
        files.update(extra or {})
        for name, (content, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _import(
    api: Any, name: str, changes: list[str], extra: dict[str, tuple[bytes, int]] | None = None
) -> str:
    """Import once per content: re-importing under the same tag would leave dangling images."""
    from docker.errors import ImageNotFound

    digest = hashlib.sha256(Path(BUSYBOX).read_bytes())
    digest.update(repr((changes, sorted((extra or {}).items()))).encode())
    key = digest.hexdigest()[:16]
    try:
        if (api.inspect_image(name)["Config"].get("Labels") or {}).get("buildrig.test.key") == key:
            return name
    except ImageNotFound:
        pass
    repo, tag = name.rsplit(":", 1)
    api.import_image_from_data(
        _rootfs(extra),
        repository=repo,
        tag=tag,
        changes=["ENV PATH=/bin", f"LABEL buildrig.test.key={key}", *changes],
    )
    return name


@pytest.fixture(scope="session")
def images(api: Any) -> dict[str, str]:
    """``plain``: busybox; ``bash``: has /bin/bash (a wrapper that marks itself); ``svc``: EXPOSE 7777;
    ``entry``: an ENTRYPOINT that exports a variable and execs its arguments (like docker:cli's)."""
    bash = b'#!/bin/sh\nexport BUILDRIG_TEST_SHELL=bash\nexec /bin/sh "$@"\n'
    entry = b'#!/bin/sh\nexport FROM_ENTRYPOINT=yes\nexec "$@"\n'
    return {
        "plain": _import(api, f"{TAG}/bb:1", ['CMD ["sh"]']),
        "bash": _import(api, f"{TAG}/bash:1", ['CMD ["sh"]'], {"bin/bash": (bash, 0o755)}),
        "svc": _import(api, f"{TAG}/pong-svc:1", ["EXPOSE 7777", 'CMD ["sh"]']),
        "entry": _import(
            api, f"{TAG}/entry:1", ['ENTRYPOINT ["/entry.sh"]', 'CMD ["sh"]'], {"entry.sh": (entry, 0o755)}
        ),
    }


def _leftovers(api: Any, pid: int) -> list[str]:
    flt = {"label": f"{engine.LABEL_PID}={pid}"}
    found = [
        f"container {c['Names'][0]}"
        for c in api.containers(all=True, filters=flt)
        if c["Labels"].get(engine.LABEL_ROLE) in RUN_ROLES
    ]
    found += [
        f"network {n['Name']}"
        for n in api.networks(filters=flt)
        if (n.get("Labels") or {}).get(engine.LABEL_ROLE) in RUN_ROLES
    ]
    found += [
        f"volume {v['Name']}"
        for v in api.volumes(filters=flt).get("Volumes") or []
        if (v.get("Labels") or {}).get(engine.LABEL_ROLE) in RUN_ROLES
    ]
    return found


@pytest.fixture
def no_leftovers(api: Any) -> Iterator[None]:
    """Fails the test when anything this process labelled for a run is still in the engine."""
    yield
    assert _leftovers(api, os.getpid()) == []


def leftovers_of(api: Any, pid: int) -> list[str]:
    return _leftovers(api, pid)


Runfn = Callable[..., RunResult]


@pytest.fixture
def run_yaml(tmp_path: Path, images: dict[str, str], no_leftovers: None) -> Runfn:
    """``run_yaml(yaml_text, files={...}, **RunOptions fields)`` → RunResult, in a fresh project dir."""

    def go(yaml: str, files: dict[str, str] | None = None, **kw: Any) -> RunResult:
        proj = tmp_path / "proj"
        proj.mkdir(exist_ok=True)
        text = yaml
        for key, image in images.items():
            text = text.replace(f"<{key}>", image)
        (proj / ".gitlab-ci.yml").write_text(text)
        for name, content in (files or {}).items():
            (proj / name).parent.mkdir(parents=True, exist_ok=True)
            (proj / name).write_text(content)
        kw.setdefault("install_signal_handlers", False)
        return run_jobs(RunOptions(project_dir=proj, **kw))

    return go


@pytest.fixture
def docker_runner() -> Callable[..., Runner]:
    """``docker_runner(environment={...}, **DockerSection fields)`` → a docker Runner entry."""
    return _docker_runner


def _docker_runner(environment: dict[str, str] | None = None, **kw: Any) -> Runner:
    env = tuple(Variable(k, v) for k, v in (environment or {}).items())
    kw.setdefault("pull_policy", ("if-not-present",))  # the runner's default, always, needs a registry
    return Runner(
        name="test-runner",
        executor="docker",
        loc=Loc("config.toml", 1),
        environment=env,
        docker=DockerSection(**kw),
    )


@pytest.fixture
def builds() -> Iterator[Path]:
    # Not under pytest's 0700 tmp dir: another user must be able to reach it.
    path = Path(tempfile.mkdtemp(prefix="buildrig-shell-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
