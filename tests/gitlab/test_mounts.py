"""``[runners.docker] volumes`` with GitLab Runner v17.9.3's grammar
(executors/docker/internal/volumes/parser/linux_parser.go, windows_parser.go, volume.go)."""

from __future__ import annotations

import pytest

from buildrig.gitlab.mounts import covers, invalid_volumes, parse_volume, parse_volumes


@pytest.mark.parametrize(
    ("spec", "source", "destination", "mode", "label", "propagation"),
    [
        ("/cache", None, "/cache", "", "", ""),
        ("/certs/client", None, "/certs/client", "", "", ""),
        ("/cache:ro", None, "/cache", "ro", "", ""),  # a cache volume; the runner mounts it rw
        (
            "/var/run/docker.sock:/var/run/docker.sock",
            "/var/run/docker.sock",
            "/var/run/docker.sock",
            "",
            "",
            "",
        ),
        ("/srv:/srv:ro", "/srv", "/srv", "ro", "", ""),
        ("/srv:/srv:RW", "/srv", "/srv", "RW", "", ""),  # the runner's mode is case-insensitive
        ("/srv:/srv:z", "/srv", "/srv", "", "z", ""),
        ("/srv:/srv:Z", "/srv", "/srv", "", "Z", ""),
        ("/srv:/srv:ro,z", "/srv", "/srv", "ro", "z", ""),
        ("/srv:/srv:ro:z:rshared", "/srv", "/srv", "ro", "z", "rshared"),
        ("/srv:/srv:rw,shared", "/srv", "/srv", "rw", "", "shared"),
        ("builds:/builds", "builds", "/builds", "", "", ""),  # a named volume
        ("my cache:/cache", "my cache", "/cache", "", "", ""),  # names may hold spaces, paths not
        ("/a/:/b/", "/a/", "/b/", "", "", ""),
    ],
)
def test_linux_volumes(
    spec: str, source: str | None, destination: str, mode: str, label: str, propagation: str
) -> None:
    m = parse_volume(spec)
    assert m is not None
    assert (m.source, m.destination, m.mode, m.label, m.propagation) == (
        source,
        destination,
        mode,
        label,
        propagation,
    )


@pytest.mark.parametrize(
    "spec",
    [
        "cache",  # relative destination
        "/srv:srv",
        "/srv:/srv:delegated",  # Docker Desktop's consistency options are not in the grammar
        "/srv:/srv:ro:ro",
        "/a b:/c",  # white space in a path
        "C:\\cache",  # a Windows path on a Linux runner
        "/a:/b:/c",
    ],
)
def test_linux_refuses(spec: str) -> None:
    assert parse_volume(spec) is None


def test_windows_volumes() -> None:
    m = parse_volume("c:\\cache", windows=True)
    assert m is not None and (m.source, m.destination) == (None, "c:\\cache")
    m = parse_volume("C:\\host:c:\\data:ro", windows=True)
    assert m is not None and (m.source, m.destination, m.mode) == ("C:\\host", "c:\\data", "ro")
    pipe = "\\\\.\\pipe\\docker_engine"
    m = parse_volume(f"{pipe}:{pipe}", windows=True)
    assert m is not None and m.host_path == pipe
    assert parse_volume("/cache", windows=True) is None


def test_kinds_and_binds() -> None:
    bind = parse_volume("/srv:/data:ro,z")
    named = parse_volume("builds:/builds")
    cache = parse_volume("/cache:ro")
    assert bind is not None and named is not None and cache is not None
    assert (bind.host_path, bind.named_volume, bind.read_only) == ("/srv", None, True)
    assert (named.host_path, named.named_volume) == (None, "builds")
    assert cache.source is None and not cache.read_only
    # volume.go:25-54: options joined by commas; a cache volume's mode is dropped (manager.go:217-220)
    assert parse_volume("/srv:/data:ro:z").bind() == "/srv:/data:ro,z"  # type: ignore[union-attr]
    assert cache.bind("runner-x-cache-1") == "runner-x-cache-1:/cache"
    assert parse_volume("/srv:/srv:ro").with_label("z") == "/srv:/srv:ro,z"  # type: ignore[union-attr]


def test_lists_and_paths() -> None:
    specs = ("/cache", "", "bad", "/certs/client")
    assert [m.destination for m in parse_volumes(specs)] == ["/cache", "/certs/client"]
    assert invalid_volumes(specs) == ("bad",)
    certs = parse_volume("/certs/client")
    assert certs is not None
    assert covers(certs, "/certs/client") and covers(certs, "/certs/client/ca.pem")
    assert not covers(certs, "/certs") and not covers(certs, "/certs/clientx")


def test_a_long_entry_the_grammar_refuses_is_refused_at_once() -> None:
    # found by tests/doctor/test_fuzz.py: the grammar's (segment/?)* form backtracked
    # exponentially on a long segment followed by a character no path may hold
    assert parse_volume("/var/run/docker.sock" + "1e999aNNNaN" * 400 + "sock|x") is None
    assert parse_volume("c:\\" + "a" * 4000 + "*", windows=True) is None
