"""Cleanup on SIGTERM/SIGINT of a running job, and ``buildrig gc`` for dead runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from buildrig import engine
from buildrig.run.cleanup import gc

pytestmark = pytest.mark.engine

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from buildrig.gitlab.model import DockerSection, Runner
    from buildrig.errors import Loc
    from buildrig.run import RunInterrupted, RunOptions, run_jobs
    runner = Runner(name="t", executor="docker", loc=Loc("x", 1),
                    docker=DockerSection(volumes=("/shared",), pull_policy=("if-not-present",)))
    try:
        run_jobs(RunOptions(project_dir=Path(sys.argv[1]), run_id=sys.argv[2], runner=runner))
    except RunInterrupted as exc:
        print("interrupted", exc.exit_code, exc.result.jobs[0].status if exc.result else "-", flush=True)
        sys.exit(exc.exit_code)
    """
)


def _objects(api: Any, run_id: str) -> list[str]:
    flt = {"label": f"{engine.LABEL_RUN}={run_id}"}
    return (
        [c["Id"] for c in api.containers(all=True, filters=flt)]
        + [n["Name"] for n in api.networks(filters=flt)]
        + [v["Name"] for v in api.volumes(filters=flt).get("Volumes") or []]
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_job_removes_everything(
    api: Any, images: dict[str, str], tmp_path: Path, sig: signal.Signals
) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(
        f"job:\n  image: {images['plain']}\n  services:\n    - name: {images['svc']}\n"
        "      command: ['sh', '-c', 'while true; do echo x | nc -l -p 7777; done']\n"
        "  script:\n    - echo started\n    - sleep 60\n  after_script:\n    - echo after\n"
    )
    run_id = f"sig{sig.value}{os.getpid()}"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), run_id], stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            jobs = api.containers(
                filters={"label": [f"{engine.LABEL_RUN}={run_id}", f"{engine.LABEL_ROLE}=job"]}
            )
            if jobs:
                break
            time.sleep(0.2)
        assert jobs, "the job container never started"
        assert len(_objects(api, run_id)) >= 4  # job, service, network, volume(s)
        time.sleep(0.5)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130)
    assert out.strip() == f"interrupted {proc.returncode} canceled"
    assert _objects(api, run_id) == []


def test_gc_removes_dead_runs_only(api: Any, images: dict[str, str]) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    tag = f"gc{os.getpid()}"

    def labels(role: str, pid: int) -> dict[str, str]:
        out = engine.labels(f"{tag}-{role}-{pid}", role)
        out[engine.LABEL_PID] = str(pid)
        return out

    made_dead = [
        api.create_container(images["plain"], command=["true"], labels=labels("job", dead.pid))["Id"],
    ]
    api.create_network(f"{tag}-net", labels=labels("network", dead.pid))
    api.create_volume(f"{tag}-vol", labels=labels("volume", dead.pid))
    live = api.create_container(images["plain"], command=["true"], labels=labels("job", os.getpid()))["Id"]
    registry = api.create_container(images["plain"], command=["true"], labels=labels("registry", dead.pid))[
        "Id"
    ]
    try:
        items = gc(api)
        removed = {(i.kind, i.run_id) for i in items if i.removed}
        assert ("container", f"{tag}-job-{dead.pid}") in removed
        assert ("network", f"{tag}-network-{dead.pid}") in removed
        assert ("volume", f"{tag}-volume-{dead.pid}") in removed
        ids = {c["Id"] for c in api.containers(all=True, filters={"label": engine.LABEL})}
        assert made_dead[0] not in ids
        assert live in ids  # its process (this one) is alive
        assert registry in ids  # not a run's object: the testbed owns it
        assert f"{tag}-vol" not in json.dumps(api.volumes(filters={"label": engine.LABEL}))
    finally:
        for cid in (live, registry):
            api.remove_container(cid, force=True, v=True)


def test_cache_slots_are_held_apart_and_freed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of one project at once get two stores (the runner's concurrent slots); a slot is
    free again once its run ends, and the lowest free one is taken."""

    from buildrig.run.cleanup import cache_slot

    monkeypatch.setenv("BUILDRIG_HOME", str(tmp_path))
    with cache_slot("p1") as first:
        # another process, as a second `buildrig run` would be
        code = "from buildrig.run.cleanup import cache_slot\nwith cache_slot('p1') as s: print(s)"
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert first == "p1-0" and other.stdout.strip() == "p1-1"
        with cache_slot("p2") as elsewhere:
            assert elsewhere == "p2-0"
    with cache_slot("p1") as again:
        assert again == "p1-0"


def test_a_removal_in_progress_elsewhere_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job's release cut short by Ctrl-C leaves its removals running in their threads; the run's
    sweep then retries until the container is gone, or the network and volumes after it would
    still be in use; past 30 s it says so instead of passing over it."""
    from docker.errors import APIError, NotFound

    from buildrig.run import cleanup
    from buildrig.run.cleanup import Tracker

    class _Api:
        def __init__(self, answers: list[Exception | None]) -> None:
            self.answers = answers
            self.tries = 0

        def remove_container(self, cid: str, v: bool, force: bool) -> None:
            self.tries += 1
            answer = self.answers.pop(0) if self.answers else APIError("removal of c1 is already in progress")
            if answer is not None:
                raise answer

    busy = APIError("removal of container c1 is already in progress")
    for answers in ([busy, busy, NotFound("gone")], [busy, None]):  # gone, or the other one failed
        api = _Api(list(answers))
        tracker = Tracker(api, "r1")  # type: ignore[arg-type]
        tracker.containers.append("c1")
        tracker.remove_container("c1")
        assert api.tries == len(answers) and tracker.containers == []
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(cleanup.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(cleanup.time, "sleep", lambda s: None)
    stuck = Tracker(_Api([]), "r1")  # type: ignore[arg-type]
    with pytest.raises(APIError, match="still being removed after 30 s"):
        stuck.remove_container("c1")


def test_a_jobs_network_goes_with_what_is_still_attached_to_it() -> None:
    """A container the job started on its network (through a mounted socket, say) would keep the
    network from being removed; the runner force-removes it first, and so does the release."""
    from buildrig.run.cleanup import Tracker

    calls: list[str] = []

    class _Api:
        def inspect_network(self, nid: str) -> dict[str, Any]:
            return {"Containers": {"stray": {}}}

        def remove_container(self, cid: str, v: bool, force: bool) -> None:
            calls.append(f"container {cid} force={force}")

        def remove_network(self, nid: str) -> None:
            calls.append(f"network {nid}")

    tracker = Tracker(_Api(), "r1")  # type: ignore[arg-type]
    tracker.networks.append("n1")
    tracker.remove_network("n1")
    assert calls == ["container stray force=True", "network n1"] and tracker.networks == []
