"""What a job's build output says about caching: steps taken from a layer cache, and the time the
build command spent on the cache (metadata, cached layers pulled) and on pushing layers.

Every builder reports a cached step in its own words:

- Docker's classic builder: ``Step 4/10 : COPY ...`` then `` ---> Using cache``;
- BuildKit (``docker build`` with buildx, ``buildctl``), plain progress: ``#7 [3/6] COPY ...``
  then ``#7 CACHED`` (or ``=> CACHED [3/6] COPY ...`` when it draws the tty progress);
- buildah ``--layers``: ``STEP 4/10: COPY ...`` then ``--> Using cache <id>``;
- kaniko: ``Using caching version of cmd: RUN ...`` when it plans the stage, then
  ``Found cached layer, extracting to filesystem`` when it runs that step.

A ``FROM`` that BuildKit reports as ``CACHED`` is the base image being present, not a build step
taken from a cache, so it does not count (the classic builder and buildah never say it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from buildrig.bench.phases import LogLine, strip_ansi

_CLASSIC_OR_BUILDAH = re.compile(r"^\s*-{2,3}> Using cache\b")
_BK_NAME = re.compile(r"^#(?P<id>\d+) (?P<name>\S.*)$")
_BK_CACHED = re.compile(r"^#(?P<id>\d+) CACHED\s*$")
_BK_TTY_CACHED = re.compile(r"^\s*=> CACHED (?P<name>\[.*)$")
#: ``[1/6] FROM ...`` or ``[stage-1 2/4] FROM ...``: the base image, not a cached step.
_BK_FROM = re.compile(r"^\[[^\]]*\d+/\d+\]\s+FROM\s", re.IGNORECASE)
_KANIKO_PLAN = re.compile(r"\bUsing caching version of cmd: ")
_KANIKO_EXTRACT = re.compile(r"\bFound cached layer, extracting to filesystem\b")


def cached_steps(lines: Sequence[LogLine]) -> int:
    """Build steps the job's builder took from a layer cache, as its output reports them.

    kaniko names each cached step twice (planned, then extracted); the larger of the two counts
    is the number of steps, so a step is never counted twice and a log cut short still counts.
    """
    texts = [strip_ansi(line.text).rstrip("\r") for line in lines]
    names: dict[str, str] = {}
    hits = plan = extract = 0
    for text in texts:
        if _CLASSIC_OR_BUILDAH.match(text):
            hits += 1
            continue
        cached = _BK_CACHED.match(text)
        if cached:
            if not _BK_FROM.match(names.get(cached.group("id"), "")):
                hits += 1
            continue
        tty = _BK_TTY_CACHED.match(text)
        if tty:
            if not _BK_FROM.match(tty.group("name")):
                hits += 1
            continue
        named = _BK_NAME.match(text)
        if named:
            names.setdefault(named.group("id"), named.group("name"))
        if _KANIKO_PLAN.search(text):
            plan += 1
        elif _KANIKO_EXTRACT.search(text):
            extract += 1
    return hits + max(plan, extract)


#: ``Step 4/10 : COPY ...``: Docker's classic (legacy) builder.
_CLASSIC_STEP = re.compile(r"^Step \d+/\d+ : ")
#: ``#0 building with "default" instance`` or ``#7 [3/6] COPY ...``: BuildKit's plain progress.
_BK_STEP = re.compile(r"^#\d+ (?:building with |\[)")


def docker_builder(lines: Sequence[LogLine]) -> str | None:
    """Which builder a ``docker build`` in the job used, from its output: ``"legacy"`` (the
    classic builder, what the docker CLI falls back to without the buildx plugin), ``"BuildKit"``
    or ``None`` when the output shows neither."""
    for line in lines:
        text = strip_ansi(line.text).rstrip("\r")
        if _CLASSIC_STEP.match(text):
            return "legacy"
        if _BK_STEP.match(text):
            return "BuildKit"
    return None


# --- where the build command's time goes ------------------------------------------------------------

#: BuildKit vertices that only move the cache (import the cache manifest, export the cache).
_BK_CACHE_VERTEX = re.compile(r"^(?:importing cache manifest|exporting cache|preparing build cache)", re.I)
#: ``#12 pulling sha256:...``: BuildKit fetching a cached layer (registry or inline cache).
_BK_PULL = re.compile(r"^#(?P<id>\d+) pulling sha256:")
#: ``#13 pushing layers``: BuildKit's push inside ``exporting to image`` (``push=true``).
_BK_PUSH = re.compile(r"^#(?P<id>\d+) pushing (?:layers|manifest)\b")
_BK_DONE = re.compile(r"^#(?P<id>\d+) (?:DONE|ERROR|CANCELED)\b")
#: Lines after which kaniko and buildah spend their time on cache metadata or the cache repository.
_CACHE_LINE = re.compile(
    r"\bChecking for cached layer\b|\bPushing layer \S+ to cache\b|\bPushing image to \S*cache[:@]"
    r"|\bPushed \S*cache@sha256:|--> Pushing cache\b"
    r"|\bFound cached layer, extracting to filesystem\b",
    re.IGNORECASE,
)
#: Lines printed once the work is done: the time since the line before is the cache's (buildah
#: pulls a cached layer before it says so).
_CACHE_DONE_LINE = re.compile(r"--> Cache pulled from remote\b")
#: kaniko unpacking the base image's whole filesystem into its own root because a step it has to
#: run needs it (a COPY always does, a RUN not taken from the cache), until the next line (at
#: the default verbosity kaniko prints nothing while it unpacks; with --verbosity=debug it does,
#: and the span would shrink to the first of those lines).
_UNPACK_LINE = re.compile(r"\bUnpacking rootfs as cmd .+ requires it\b")
#: kaniko's push of the image itself (``--destination``), until the next line.
_PUSH_LINE = re.compile(r"\bPushing image to\b|\bPushed \S+@sha256:", re.IGNORECASE)


@dataclass(frozen=True)
class BuildTimes:
    """Seconds of the build command spent on the cache — its metadata (cache manifests imported
    and exported, kaniko's look-ups) and the cached layers it pulled — and on pushing layers
    (builders that push from inside the build command: kaniko, ``buildctl ... push=true``), and
    on unpacking the base image (kaniko)."""

    cache_meta: float = 0.0
    push: float = 0.0
    #: Seconds kaniko spent unpacking the base image's filesystem before running a step.
    unpack: float = 0.0


def build_times(lines: Sequence[LogLine]) -> BuildTimes:
    """Cache and push seconds inside the build output, as wall time (``run`` stamps every line
    when it reads it), so that they stack with the build steps into the build command's time.

    BuildKit: a cache vertex (importing the cache manifest, exporting the cache) from its first
    line to its ``DONE``; a push from the vertex's first ``pushing`` line to its ``DONE``; cached
    layers from a vertex's first ``pulling`` to its ``CACHED``. The vertices' own durations
    (``#14 DONE 2.8s``) are not used: BuildKit runs the cache export beside the image push and
    both would count the same seconds. kaniko and buildah: a line that starts cache or push work
    lasts until the next line; buildah's ``Cache pulled from remote`` (printed when the pull is
    over) since the line before.
    """
    first: dict[str, float] = {}  # vertex → its first line
    cache_vertex: set[str] = set()
    pulling: dict[str, float] = {}  # vertex → its first pull of a cached layer
    pushing: dict[str, float] = {}  # vertex → its first push line
    meta = push = unpack = 0.0
    texts = [strip_ansi(line.text).rstrip("\r") for line in lines]
    for i, text in enumerate(texts):
        t = lines[i].t
        if text.startswith("#"):
            for pattern, started in ((_BK_PULL, pulling), (_BK_PUSH, pushing)):
                m = pattern.match(text)
                if m:
                    started.setdefault(m.group("id"), t)
            cached = _BK_CACHED.match(text)
            if cached:
                # From the first cached layer pulled to CACHED: fetching and unpacking them.
                since = pulling.pop(cached.group("id"), None)
                meta += 0.0 if since is None else max(0.0, t - since)
                continue
            done = _BK_DONE.match(text)
            if done:
                vid = done.group("id")
                if vid in cache_vertex:
                    meta += max(0.0, t - first.get(vid, t))
                since = pushing.pop(vid, None)
                push += 0.0 if since is None else max(0.0, t - since)
                continue
            named = _BK_NAME.match(text)
            if named:
                vid = named.group("id")
                first.setdefault(vid, t)
                if _BK_CACHE_VERTEX.match(named.group("name")):
                    cache_vertex.add(vid)
                continue
        span = max(0.0, lines[i + 1].t - lines[i].t) if i + 1 < len(lines) else 0.0
        if _CACHE_DONE_LINE.search(text):
            meta += max(0.0, lines[i].t - lines[i - 1].t) if i else 0.0
        elif _CACHE_LINE.search(text):
            meta += span
        elif _PUSH_LINE.search(text):
            push += span
        elif _UNPACK_LINE.search(text):
            unpack += span
    return BuildTimes(cache_meta=meta, push=push, unpack=unpack)
