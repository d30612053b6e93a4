"""The privileged fallback (every available capability, confinement off) when the runtime refuses
--privileged: forbidden with BUILDRIG_PRIVILEGED_FALLBACK=0, otherwise taken and reported in the
job's log and in the run's summary (JobResult.notes, printed by `buildrig run`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from docker.errors import APIError

from buildrig.run.capabilities import FALLBACK_ENV
from buildrig.run.docker_executor import DockerExecutor
from buildrig.run.executor import JobError
from buildrig.run.log import JobLog
from buildrig.run.variables import Masker


class _Api:
    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, cid: str) -> None:
        if cid == "strict":
            raise APIError("OCI runtime create failed: unable to apply caps: operation not permitted")
        self.started.append(cid)


def _executor() -> Any:
    return SimpleNamespace(
        api=_Api(), tracker=SimpleNamespace(remove_container=lambda cid: None), _refused=None
    )


def _start(ex: Any, log: JobLog) -> str:
    return str(DockerExecutor._start(ex, log, True, lambda fallback: "relaxed" if fallback else "strict"))


@pytest.mark.parametrize("value", [None, "1"])
def test_fallback_is_taken_and_reported(value: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if value is None:
        monkeypatch.delenv(FALLBACK_ENV, raising=False)
    else:
        monkeypatch.setenv(FALLBACK_ENV, value)
    ex, log = _executor(), JobLog("j", Masker([]), None)
    assert _start(ex, log) == "relaxed"
    text = "\n".join(line.text for line in log.lines)
    assert "refused privileged mode" in text and "unconfined" in text
    assert (f"{FALLBACK_ENV}=0 refuses this" in text) is (value is None)
    assert len(log.notes) == 1 and log.notes[0].startswith("privileged fallback:")
    # The next privileged container of the run falls back at once, and is reported again.
    log2 = JobLog("k", Masker([]), None)
    assert _start(ex, log2) == "relaxed" and log2.notes


def test_fallback_forbidden_fails_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FALLBACK_ENV, "0")
    ex, log = _executor(), JobLog("j", Masker([]), None)
    with pytest.raises(JobError, match=f"{FALLBACK_ENV}=0 forbids the fallback"):
        _start(ex, log)
    assert ex.api.started == []


def test_bad_setting_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FALLBACK_ENV, "maybe")
    with pytest.raises(JobError, match=r"expected 1 \(allow\) or 0 \(refuse\)"):
        _start(_executor(), JobLog("j", Masker([]), None))


class _Engine(_Api):
    base_url = "http+docker://localhost"  # docker-py's address for every unix socket

    def __init__(self, daemon: str = "D1") -> None:
        super().__init__()
        self.daemon = daemon
        self.tried: list[str] = []

    def info(self) -> dict[str, str]:
        return {"ID": self.daemon}

    def start(self, cid: str) -> None:
        self.tried.append(cid)
        super().start(cid)


def test_a_refusal_is_remembered_per_engine_for_the_next_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from buildrig.run import capabilities

    monkeypatch.delenv(FALLBACK_ENV, raising=False)
    monkeypatch.setattr(capabilities, "_REFUSED", {})
    first = _real_executor(_Engine())
    assert _start(first, JobLog("j", Masker([]), None)) == "relaxed"
    assert first.api.tried == ["strict", "relaxed"]  # type: ignore[attr-defined]
    # A later run on the same engine starts from what the first learnt: no strict attempt, and
    # the job's log still says the fallback was taken and why.
    api = _Engine()
    log = JobLog("k", Masker([]), None)
    assert _start(_real_executor(api), log) == "relaxed"
    assert api.tried == ["relaxed"]
    assert "unable to apply caps" in "\n".join(line.text for line in log.lines)
    # Another daemon behind the same address (another socket), or containers asking for the
    # host's user namespace, learn for themselves.
    other = _Engine("D2")
    assert _start(_real_executor(other), JobLog("l", Masker([]), None)) == "relaxed"
    assert other.tried == ["strict", "relaxed"]
    hostns = _Engine()
    assert _start(_real_executor(hostns, userns_mode="host"), JobLog("m", Masker([]), None)) == "relaxed"
    assert hostns.tried == ["strict", "relaxed"]


def _real_executor(api: Any, userns_mode: str | None = None) -> DockerExecutor:
    from pathlib import Path

    from buildrig.gitlab.model import DockerSection
    from buildrig.run.variables import GitInfo, Project, new_context

    git = GitInfo("0" * 40, "main", "main", None, "m", "a <a@b>", "2026-01-01T00:00:00Z", None)
    ctx = new_context("r1", Project(Path("."), "g", "p", "https://gitlab.example.com"), git, None,
                      "docker", "runner", (), "/builds")
    tracker: Any = SimpleNamespace(remove_container=lambda cid: None)
    return DockerExecutor(api, ctx, DockerSection(userns_mode=userns_mode), tracker=tracker, overrides={},
                          default_pull_policy=("never",), network_per_build=False)


def test_only_a_missing_capability_is_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another refusal (a policy plugin, say) may not hold for the next run: it is learnt again."""
    from buildrig.run import capabilities

    class _Policy(_Engine):
        def start(self, cid: str) -> None:
            self.tried.append(cid)
            if cid == "strict":
                raise APIError("authorization denied by plugin: privileged mode is not allowed")
            self.started.append(cid)

    monkeypatch.delenv(FALLBACK_ENV, raising=False)
    monkeypatch.setattr(capabilities, "_REFUSED", {})
    for _ in range(2):
        api = _Policy()
        assert _start(_real_executor(api), JobLog("j", Masker([]), None)) == "relaxed"
        assert api.tried == ["strict", "relaxed"]
    assert capabilities._REFUSED == {}
