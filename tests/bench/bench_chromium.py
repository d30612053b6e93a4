"""Drive Debian's headless ``chromium`` over the DevTools protocol on a pipe (fds 3/4).

Just enough protocol to open a file, collect console errors and uncaught exceptions, evaluate an
expression and take a PNG screenshot; plus a small PNG decoder to measure pixel variance. No
network: the page is a file:// URL and every background service is switched off.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class Browser:
    proc: subprocess.Popen[bytes]
    to_browser: int
    from_browser: int
    buf: bytes = b""
    next_id: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError(f"chromium closed the DevTools pipe (exit {self.proc.poll()})")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_event(self, method: str, *, session: str, timeout: float = 30.0) -> dict[str, Any]:
        for ev in self.events:
            if ev.get("method") == method and ev.get("sessionId") == session:
                return ev
        deadline = time.monotonic() + timeout
        while True:
            ev = self._read_message(deadline)
            self.events.append(ev)
            if ev.get("method") == method and ev.get("sessionId") == session:
                return ev


@contextmanager
def launch(chromium: str, user_data_dir: Path) -> Iterator[Browser]:
    cmd_r, cmd_w = os.pipe()  # we write commands, chromium reads fd 3
    ev_r, ev_w = os.pipe()  # chromium writes fd 4, we read

    def child_fds() -> None:
        # Via fresh descriptors first, so neither dup2 can clobber the other pipe end; dup2's
        # targets are inheritable, and close_fds=False keeps them across exec (Python's own
        # descriptors are close-on-exec by default, so nothing else leaks).
        a, b = os.dup(cmd_r), os.dup(ev_w)
        os.dup2(a, 3)
        os.dup2(b, 4)

    proc = subprocess.Popen(
        [chromium, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=child_fds,
        close_fds=False,
    )
    os.close(cmd_r)
    os.close(ev_w)
    browser = Browser(proc, cmd_w, ev_r)
    try:
        yield browser
    finally:
        with suppress(RuntimeError, TimeoutError, OSError):
            browser.send("Browser.close", timeout=5)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(cmd_w)
        os.close(ev_r)


@dataclass(frozen=True)
class PageReport:
    errors: tuple[str, ...]
    png: bytes
    value: Any


def open_page(
    browser: Browser, url: str, expression: str, *, width: int = 1280, height: int = 1600
) -> PageReport:
    """Load ``url``, collect errors, evaluate ``expression`` (JSON-serialisable) and screenshot."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
        browser.send(domain, session=session)
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait_event("Page.loadEventFired", session=session)
    value = browser.send(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
    )["result"].get("value")
    shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
    # Drain anything already queued (late console messages) without blocking.
    browser.send("Runtime.evaluate", {"expression": "1"}, session=session)
    errors: list[str] = []
    for ev in browser.events:
        if ev.get("sessionId") != session:
            continue
        params = ev.get("params", {})
        method = ev.get("method")
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exc = details.get("exception", {})
            errors.append(f"uncaught: {exc.get('description') or details.get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(
                "console.error: "
                + " ".join(str(a.get("value", a.get("description"))) for a in params.get("args", []))
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            errors.append(f"log: {entry.get('text')} ({entry.get('url', '')})")
    return PageReport(tuple(errors), base64.b64decode(shot["data"]), value)


def png_pixels(png: bytes) -> tuple[int, int, int, bytes]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG: width, height, channels, raw pixel bytes."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", data)
            if depth != 8 or interlace or color not in (2, 6):
                raise ValueError(f"unsupported PNG (depth {depth}, colour {color}, interlace {interlace})")
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += data
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * channels
    out = bytearray(height * stride)
    prev = bytearray(stride)
    i = 0
    for row in range(height):
        ftype = raw[i]
        line = bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        if ftype == 1:
            for x in range(channels, stride):
                line[x] = (line[x] + line[x - channels]) & 0xFF
        elif ftype == 2:
            for x in range(stride):
                line[x] = (line[x] + prev[x]) & 0xFF
        elif ftype == 3:
            for x in range(stride):
                left = line[x - channels] if x >= channels else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 0xFF
        elif ftype == 4:
            for x in range(stride):
                a = line[x - channels] if x >= channels else 0
                b = prev[x]
                c = prev[x - channels] if x >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xFF
        out[row * stride : (row + 1) * stride] = line
        prev = line
    return width, height, channels, bytes(out)


def luminance_variance(png: bytes) -> float:
    width, height, channels, pixels = png_pixels(png)
    n = width * height
    total = total_sq = 0
    for k in range(0, len(pixels), channels):
        lum = (pixels[k] * 299 + pixels[k + 1] * 587 + pixels[k + 2] * 114) // 1000
        total += lum
        total_sq += lum * lum
    mean = total / n
    return total_sq / n - mean * mean
