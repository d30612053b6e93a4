"""buildrig.engine pieces that need no engine."""

from __future__ import annotations

import contextlib
import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from docker.errors import APIError, DockerException
from requests.exceptions import ConnectionError as RequestsConnectionError

from buildrig import engine


@pytest.mark.parametrize(
    "exc",
    [APIError("refused"), DockerException("no socket"), RequestsConnectionError("reset"), OSError(2, "x")],
)
def test_sdk_errors_catch_what_the_sdk_raises(exc: Exception) -> None:
    caught = False
    try:
        raise exc
    except engine.sdk_errors():
        caught = True
    assert caught


def test_sdk_errors_let_a_bug_through() -> None:
    with pytest.raises(KeyError):
        try:
            raise KeyError("Id")
        except engine.sdk_errors():
            pass


class _FakeEngine(BaseHTTPRequestHandler):
    """Answers what the SDK asks while connecting: GET /version (the API version it will use)."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        body = json.dumps({"ApiVersion": "1.41", "Version": "20.10"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self) -> tuple[Any, Any]:
        request, _ = super().get_request()
        return request, ("local", 0)  # BaseHTTPRequestHandler wants a (host, port) address


@contextlib.contextmanager
def _serve(server: socketserver.BaseServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def unix_engine(tmp_path: Path) -> Iterator[str]:
    sock = tmp_path / "docker.sock"
    _FakeEngine.seen = []
    with _serve(_UnixHTTPServer(str(sock), _FakeEngine)):
        yield f"unix://{sock}"


def test_client_connects_with_one_request_and_reads_no_environment_for_a_socket(unix_engine: str) -> None:
    cli = engine.client(unix_engine)
    assert _FakeEngine.seen == ["/version"]  # the SDK's version probe; no second round trip (ping)
    assert cli.api.trust_env is False  # no proxy/CA/netrc lookup in os.environ per call


def test_client_over_tcp_keeps_the_environment() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeEngine)
    _FakeEngine.seen = []
    with _serve(server):
        cli = engine.client(f"tcp://127.0.0.1:{server.server_address[1]}")
        assert _FakeEngine.seen == ["/version"]
        assert cli.api.trust_env is True  # HTTP(S)_PROXY/NO_PROXY apply over TCP, as for the docker CLI


def test_client_of_a_silent_engine_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(engine.EngineError, match=r"^Docker Engine at unix://.* does not answer: "):
        engine.client(f"unix://{tmp_path / 'none.sock'}")
