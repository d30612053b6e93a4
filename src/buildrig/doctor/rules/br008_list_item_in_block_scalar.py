"""Input: a script list item indented into the block scalar before it.

What it checks: a ``script``/``before_script``/``after_script`` entry written as a block scalar
(``- |`` or ``- >``) in which a later line starts with ``- `` outside any quote or here-document::

    before_script:
      - |
        echo "-----BEGIN CERTIFICATE-----
        ...
        -----END CERTIFICATE-----" >> /kaniko/ssl/certs/additional-ca-cert-bundle.crt
        - echo 'end of before script'

The indented ``- echo ...`` is not a new list item: YAML keeps it as a line of the block, so the
shell runs a command named ``-`` and the job stops::

    /busybox/sh: eval: line 136: -: not found

Fix: outdent the line to the list's level (``- echo ...`` under ``before_script:``), or drop the
leading ``- `` if it belongs to the block.

Docs: https://docs.gitlab.com/ci/yaml/script/#split-long-commands
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor.base import Category, Context, Issue, Severity, finding
from buildrig.gitlab.model import Job

ID = "BR008"
TITLE = "input: a script list item indented into the block scalar before it"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.gitlab.com/ci/yaml/script/#split-long-commands"

_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
_ITEM = re.compile(r"^\s*- \S")


def _quote_state(text: str, quote: str | None) -> str | None:
    """The quote still open after ``text`` (shell rules: no escapes inside single quotes)."""
    escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote is None and ch in "'\"":
            quote = ch
        elif ch == quote:
            quote = None
    return quote


def _stray_item(entry: str) -> str | None:
    """The first line of a multi-line entry that reads as a list item to the shell."""
    lines = entry.splitlines()
    quote: str | None = None
    heredoc: str | None = None
    for i, text in enumerate(lines):
        if heredoc is not None:
            if text.strip() == heredoc:
                heredoc = None
            continue
        if i and quote is None and _ITEM.match(text):
            return text.strip()
        quote = _quote_state(text, quote)
        found = _HEREDOC.search(text) if quote is None else None
        if found is not None:
            heredoc = found.group(2)
    return None


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        job: Job = jv.job
        for key, entries in (
            ("before_script", job.before_script),
            ("script", job.script),
            ("after_script", job.after_script),
        ):
            for entry in entries:
                if "\n" not in entry:
                    continue
                stray = _stray_item(entry)
                if stray is None:
                    continue
                loc = job.key_locs.get(key, job.loc)
                yield finding(
                    f"job '{job.name}': in {key} ({loc}) the line `{stray[:60]}` is indented into the "
                    "block scalar before it, so YAML keeps it as a line of that block and the shell "
                    'runs a command named "-": the job stops with "-: not found".',
                    f"Outdent it to the level of the other {key} items, or drop its leading '- '.",
                    loc=loc,
                    job=job.name,
                )
                break
