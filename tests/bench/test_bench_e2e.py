"""A small real benchmark: examples/hello through the shell way, on the engine, against the test
bed's registry — over the local socket and over ``DOCKER_HOST=tcp://``.

Needs the test bed (stand-in images + registry): prepared here through the ordinary
``buildrig.testbed.prepare.prepare`` (cached by recipe, so fast after scripts/setup.sh did it).
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from bench_chromium import find_chromium, launch, open_page
from bench_proxy import relay, tcp_to_unix

from buildrig import engine
from buildrig.bench.backend import NAMESPACE_PREFIX
from buildrig.cli import main

pytestmark = [pytest.mark.engine, pytest.mark.slow]

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"


@pytest.fixture(scope="module")
def testbed() -> Any:
    from buildrig.testbed import registry
    from buildrig.testbed.prepare import prepare

    prepare(offline=True)
    return registry.current()


def _bench_images(registry_host: str) -> list[str]:
    cli = engine.client()
    prefix = f"{registry_host}/{NAMESPACE_PREFIX}-"
    return [t for img in cli.images.list() for t in img.tags if t.startswith(prefix)]


def _remove_images_added_since(registry_host: str, before: set[str]) -> None:
    """The cold run's images of a run whose engine was cut off: it could not remove them itself."""
    cli = engine.client()
    for ref in set(_bench_images(registry_host)) - before:
        with contextlib.suppress(Exception):
            cli.images.remove(ref)


def test_shell_way_three_scenarios(
    testbed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    report = tmp_path / "report"
    # other runs' bench images are not this run's to remove (and a run cut off from its engine
    # could not remove its own): what must be gone afterwards is what this run added
    before = set(_bench_images(testbed.host))
    code = main(
        [
            "bench",
            str(HELLO),
            "--ways",
            "shell",
            "--repeat",
            "1",
            "--report",
            str(report),
            "--format",
            "json",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads(out)
    assert data == json.loads((report / "results.json").read_text())
    runs = {r["scenario"]: r for r in data["runs"]}
    assert set(runs) == {"cold", "warm", "change"}
    for r in runs.values():
        assert r["ok"] is True and r["way"] == "shell" and r["cache"] == "registry"
        assert r["phases"]["services"] is None  # the shell way has no services
        assert r["phases"]["login"] > 0 and r["phases"]["build"] > 0 and r["phases"]["push"] > 0
        assert r["total_s"] >= r["phases"]["login"] + r["phases"]["build"] + r["phases"]["push"]
    # cold builds every step (each stage starts with a copy of a file unique to the repeat, so
    # whatever other builds of this Dockerfile left in the host daemon's cache cannot match) and
    # warm takes them from the layer cache, as counted
    assert runs["cold"]["cached_steps"] == 0
    assert runs["warm"]["cached_steps"] > 0
    assert runs["cold"]["phases"]["build"] > runs["warm"]["phases"]["build"] + 1.0
    assert "COPY .buildrig-bench-nonce /.buildrig-bench-nonce" in (
        report / "logs" / "shell-registry-r1-cold.log"
    ).read_text()
    assert data["skipped"] == []  # only shell was asked for
    assert data["machine"]["storage_driver"] and data["machine"]["cpu_count"] >= 1
    # job logs kept, one per execution; the change run rebuilt only the app layer
    change_log = (report / "logs" / "shell-registry-r1-change.log").read_text()
    assert "COPY app/ ./app/" in change_log
    assert (report / "results.csv").read_text().count("\n") == 4
    # warm runs the same commit again; the change is a new commit (tags are CI_COMMIT_SHORT_SHA)
    tags = {
        sc: re.findall(
            r"^\s*[\d.]+\s+([0-9a-f]{8}): digest: sha256:",
            (report / "logs" / f"shell-registry-r1-{sc}.log").read_text(),
            re.M,
        )
        for sc in ("cold", "warm", "change")
    }
    assert len(tags["cold"]) == 1 and tags["cold"] == tags["warm"] != tags["change"], tags
    # the benchmark's images are gone from the engine afterwards
    assert set(_bench_images(testbed.host)) - before == set()
    # and the report opens in a browser without errors
    chromium = find_chromium()
    assert chromium, "Debian's chromium is not installed: `apt-get install chromium`"
    with launch(chromium, tmp_path / "profile") as browser:
        page = open_page(
            browser,
            (report / "report.html").as_uri(),
            'document.querySelectorAll("svg.chart rect.seg").length',
        )
    assert page.errors == ()
    assert page.value >= 9  # login, build, push, other × 3 scenarios at least


def test_over_docker_host_tcp(
    testbed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with tcp_to_unix() as (url, accepted, _):
        monkeypatch.setenv("DOCKER_HOST", url)
        code = main(
            [
                "bench",
                str(HELLO),
                "--ways",
                "shell",
                "--repeat",
                "1",
                "--scenarios",
                "warm",
                "--report",
                str(tmp_path / "r"),
                "--format",
                "json",
                "--quiet",
            ]
        )
        out = capsys.readouterr().out
        assert code == 0, out
        data = json.loads(out)
        assert data["machine"]["docker_host"] == url
        assert [(r["scenario"], r["ok"]) for r in data["runs"]] == [("warm", True)]
        assert len(accepted) > 0  # the engine really was reached through tcp://


def test_engine_gone_mid_run_keeps_partial_results(
    testbed: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The engine disappears (its only route, a TCP relay, is cut) once the cold run is done:
    one clear error, exit code 2, the cold run kept in every output, scratch space removed."""
    report = tmp_path / "r"
    scratch_before = set(Path(tempfile.gettempdir()).glob("buildrig-bench-*"))
    images_before = set(_bench_images(testbed.host))

    def remove_what_the_run_left() -> None:
        monkeypatch.delenv("DOCKER_HOST", raising=False)  # the relay is gone: the local engine
        _remove_images_added_since(testbed.host, images_before)

    request.addfinalizer(remove_what_the_run_left)
    with relay() as r:
        monkeypatch.setenv("DOCKER_HOST", r.url)
        cold_log = report / "logs" / "shell-registry-r1-cold.log"

        def cut_when_cold_done() -> None:
            deadline = time.monotonic() + 600
            while not cold_log.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            r.kill()

        cutter = threading.Thread(target=cut_when_cold_done, daemon=True)
        cutter.start()
        code = main(
            [
                "bench",
                str(HELLO),
                "--ways",
                "shell",
                "--repeat",
                "1",
                "--report",
                str(report),
                "--format",
                "json",
                "--quiet",
            ]
        )
        cutter.join(5)
    captured = capsys.readouterr()
    assert code == 2, captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("buildrig: error:")]
    assert len(errors) == 1 and "the engine stopped answering" in errors[0], captured.err
    assert "partial results written to" in errors[0]
    data = json.loads(captured.out)
    assert data["aborted"] and data["interrupted"] is False
    assert (data["runs"][0]["scenario"], data["runs"][0]["ok"]) == ("cold", True)
    assert json.loads((report / "results.json").read_text())["runs"][0]["ok"] is True
    assert (report / "report.html").read_text().count("Stopped early") == 1
    assert set(Path(tempfile.gettempdir()).glob("buildrig-bench-*")) == scratch_before


def _import_image(cli: Any, repo: str, tag: str, content: bytes) -> str:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("payload")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    cli.api.import_image_from_data(buf.getvalue(), repository=repo, tag=tag)
    return str(cli.images.get(f"{repo}:{tag}").id)


def test_cleanup_removes_digest_only_bench_images_of_its_own_run_and_nothing_else(testbed: Any) -> None:
    """A rebuild that takes a bench tag leaves the older image with only its digest: the run's
    clean-up removes it too; a user's image and another bench run's image stay (that run may be
    using it as its warm cache)."""
    from buildrig.bench.backend import RealBackend

    cli = engine.client()
    auth = {"username": testbed.user, "password": testbed.password}
    stamp = str(time.time_ns())
    backend = RealBackend(HELLO)
    repo = f"{testbed.host}/{backend.namespace}/x"
    old = _import_image(cli, repo, "main", f"old {stamp}".encode())
    cli.images.push(repo, "main", auth_config=auth)
    new = _import_image(cli, repo, "main", f"new {stamp}".encode())  # takes the tag over
    user = _import_image(cli, "buildrig-test/user-owned", stamp, f"user {stamp}".encode())
    other = _import_image(
        cli, f"{testbed.host}/{NAMESPACE_PREFIX}-other{stamp[-8:]}/x", "main", f"other {stamp}".encode()
    )
    try:
        orphan = cli.images.get(old)
        assert orphan.tags == [] and orphan.attrs["RepoDigests"], "the old image kept only its digest"
        assert backend.remove_bench_images() >= 2
        ids = {img.id for img in cli.images.list()}
        assert old not in ids and new not in ids
        assert user in ids and other in ids
    finally:
        for ref in (user, new, old, other):
            with contextlib.suppress(Exception):
                cli.images.remove(ref, force=True)
