"""A job's log: raw output → lines → masked → :class:`LogLine` to the sink and the result."""

from __future__ import annotations

import codecs
import time

from buildrig.run.model import LogLine, LogSink
from buildrig.run.variables import Masker

# The runner's colours, so a buildrig log reads like a GitLab job log.
GREEN = "\x1b[32;1m"
YELLOW = "\x1b[0;33m"
RED = "\x1b[31;1m"
CYAN = "\x1b[36;1m"
RESET = "\x1b[0;m"


class JobLog:
    def __init__(self, job: str, masker: Masker, sink: LogSink | None, keep: bool = True) -> None:
        self.job = job
        self.mask = masker
        self.sink = sink
        self.keep = keep
        self.lines: list[LogLine] = []
        self.notes: list[str] = []  # what the run's summary must repeat (e.g. a privileged fallback)
        self._buf = ""
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def _emit(self, text: str, kind: str) -> None:
        line = LogLine(self.job, self.mask(text), time.monotonic(), time.time(), kind)
        if self.keep:
            self.lines.append(line)
        if self.sink is not None:
            self.sink(line)

    def feed(self, chunk: bytes) -> None:
        """Output of the job (any chunking); complete lines are emitted as they arrive."""
        self._buf += self._dec.decode(chunk)
        if "\n" not in self._buf:
            return
        *complete, self._buf = self._buf.split("\n")
        for text in complete:
            self._emit(text.removesuffix("\r"), "out")

    def flush(self) -> None:
        self._buf += self._dec.decode(b"", final=True)
        if self._buf:
            self._emit(self._buf, "out")
            self._buf = ""

    def service(self, alias: str, text: str) -> None:
        """A line of a service's output (CI_DEBUG_SERVICES), emitted from its own thread."""
        self._emit(f"{YELLOW}[service:{alias}]{RESET} {text.removesuffix(chr(13))}", "service")

    def sys(self, text: str) -> None:
        self._emit(text, "sys")

    def section(self, text: str) -> None:
        self._emit(f"{CYAN}{text}{RESET}", "sys")

    def ok(self, text: str) -> None:
        self._emit(f"{GREEN}{text}{RESET}", "sys")

    def warn(self, text: str) -> None:
        self._emit(f"{YELLOW}{text}{RESET}", "warn")

    def note(self, text: str) -> None:
        """Remember ``text`` for the job's summary line (the log has already said it)."""
        masked = self.mask(text)
        if masked not in self.notes:
            self.notes.append(masked)

    def error(self, text: str) -> None:
        self._emit(f"{RED}{text}{RESET}", "error")
