"""A tiny web app: one page rendered with Jinja2 and served by bottle.

``python3 -m app.hello`` serves on :8000; ``python3 -m app.hello check`` renders the page once
through the WSGI app and prints it (what the end-to-end tests run in the built image).
"""

from __future__ import annotations

import io
import os
import platform
import sys
from pathlib import Path

import bottle
import jinja2

TEMPLATES = Path(__file__).parent / "templates"
env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
app = bottle.Bottle()


@app.get("/")
def index() -> str:
    return env.get_template("index.html").render(
        greeting=os.environ.get("HELLO_GREETING", "Hello from buildrig"),
        python=platform.python_version(),
        bottle_version=bottle.__version__,
        jinja_version=jinja2.__version__,
    )


@app.get("/healthz")
def healthz() -> str:
    return "ok\n"


def check() -> int:
    """Render ``/`` through the WSGI interface without opening a socket."""
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        status.append(line)

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "check", "SERVER_PORT": "0",
               "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http"}
    body = b"".join(app(environ, start_response))
    sys.stdout.write(body.decode())
    return 0 if status and status[0].startswith("200") else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["check"]:
        sys.exit(check())
    bottle.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "8000")), quiet=True)
