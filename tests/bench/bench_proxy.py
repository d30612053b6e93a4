"""A TCP → unix-socket relay on loopback: makes the local engine look like a remote
``DOCKER_HOST=tcp://127.0.0.1:PORT`` so the bench is exercised over TCP, not the socket."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


class Relay:
    """What :func:`tcp_to_unix` yields: the URL, a count of connections, and a kill switch that
    makes the engine vanish for its clients (listener and every open connection closed)."""

    def __init__(self, url: str, server: socket.socket) -> None:
        self.url = url
        self.accepted: list[int] = []
        self.sockets: list[socket.socket] = []
        self.dead = threading.Event()
        self._server = server

    def kill(self) -> None:
        self.dead.set()
        with contextlib.suppress(OSError):
            self._server.close()
        for sock in list(self.sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


@contextlib.contextmanager
def relay(unix_path: str = "/var/run/docker.sock") -> Iterator[Relay]:
    with tcp_to_unix(unix_path) as (_, __, r):
        yield r


@contextlib.contextmanager
def tcp_to_unix(unix_path: str = "/var/run/docker.sock") -> Iterator[tuple[str, list[int], Relay]]:
    """Yields (``tcp://127.0.0.1:PORT``, a list that counts accepted connections, the relay)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    port = server.getsockname()[1]
    r = Relay(f"tcp://127.0.0.1:{port}", server)
    accepted = r.accepted
    stop = r.dead

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                return
            if stop.is_set():
                client.close()
                return
            accepted.append(1)
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            r.sockets += [client, upstream]
            try:
                upstream.connect(unix_path)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield r.url, accepted, r
    finally:
        r.kill()
