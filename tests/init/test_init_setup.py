"""SETUP.md states each way's inherent risk, and the runner side matches the job by construction."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomlkit
from ruamel.yaml import YAML

from buildrig.init import InitOptions, init_project, plan_project
from buildrig.strategies import ALL, Strategy


@pytest.mark.parametrize(
    ("way", "executor", "phrases"),
    [
        ("dind", "docker", ["privileged = true", "take over the host"]),
        ("dind", "kubernetes", ["privileged = true", "dedicated build nodes"]),
        ("docker_sock", "docker", ["binding the Docker socket gives every job root on the host"]),
        ("docker_sock", "kubernetes", ["binding the Docker socket", "node_selector"]),
        ("shell", "shell", ["root-equivalent", "never use `--user root`"]),
        ("docker_host", "docker", ["File**", 'no "hosts" key', "not 0.0.0.0"]),
    ],
)
def test_setup_md_states_the_risks(way: str, executor: str, phrases: list[str], tmp_path: Path) -> None:
    init_project(InitOptions(strategy=way, executor=executor, out=tmp_path, docker_host="10.1.1.1"))
    text = (tmp_path / "runner" / "SETUP.md").read_text()
    for phrase in phrases:
        assert phrase in text, phrase
    # Steps are numbered 1..n without gaps.
    numbers = [int(line.split(".", 1)[0]) for line in text.splitlines() if line[:1].isdigit()]
    assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.parametrize(("s", "executor"), [(s, e) for s in ALL for e in s.executors])
def test_job_and_runner_match(s: Strategy, executor: str) -> None:
    plan = plan_project(
        InitOptions(
            strategy=s.name, executor=executor, out=Path("/nonexistent/buildrig"), docker_host="10.1.1.1"
        )
    )
    files = {f.path.name: f.data.decode() for f in plan.files if not f.path.name.endswith(".pem")}
    job = YAML(typ="safe").load(files[".gitlab-ci.yml"])["build-image"]
    runner = tomlkit.parse(files["config.toml"])["runners"][0]
    assert runner["executor"] == executor
    section = runner.get("kubernetes" if executor == "kubernetes" else "docker", {})
    privileged = bool(section.get("privileged", False))
    assert privileged == s.needs_privileged
    services = job.get("services", [])
    if s.name == "dind":
        tls = job["variables"]["DOCKER_HOST"].endswith(":2376")
        if executor == "kubernetes":
            dirs = [d["mount_path"] for d in section["volumes"]["empty_dir"]]
            assert dirs == ["/certs/client"]
            assert services[0]["variables"]["HEALTHCHECK_TCP_PORT"] == "2376"
            assert "--mtu=1450" in services[0]["command"]
        else:
            assert "/certs/client" in section["volumes"]
        assert tls
    else:
        assert not services
    if s.name == "docker_sock" and executor != "kubernetes":
        assert "/var/run/docker.sock:/var/run/docker.sock" in section["volumes"]
    if executor != "shell":
        image = job["image"] if isinstance(job["image"], str) else job["image"]["name"]
        assert section["image"] == image
    else:
        assert "image" not in job
