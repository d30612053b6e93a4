"""Image references as Docker and GitLab Runner read them: registry, path, tag, digest.

Two readings exist and both are needed:

- :func:`parse_image` is the *normalised* one (Docker Hub is the default registry, its
  ``library/`` prefix dropped, ``docker.io`` and its aliases folded away): it answers "which
  image is this", whichever spelling a job used. Reading names that are not expanded yet (doctor
  sees ``$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX/docker:29``), a first component that starts with
  ``$`` counts as a registry.
- :func:`match_reference` is the strict grammar of ``github.com/docker/distribution/reference``
  that GitLab Runner matches service names against before it derives their host names
  (helpers/container/services/services.go:29 at v17.9.3): a name that does not match (upper
  case in the path, a variable left unexpanded) gets no derived names at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

DOCKER_HUB_NAMES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)


@dataclass(frozen=True)
class ImageRef:
    registry: str | None  # None: Docker Hub
    path: str  # without registry, lower-cased; Docker Hub's "library/" removed
    tag: str | None
    digest: str | None

    @property
    def last(self) -> str:
        """The last path component: ``docker`` for ``mirror.example.com/library/docker:29``."""
        return self.path.rsplit("/", 1)[-1]


def _is_domain(first: str) -> bool:
    # Docker's normalisation (distribution/reference normalize.go, splitDockerDomain): a first
    # component is a registry when it has a dot or a port, is "localhost", or has upper case.
    return "." in first or ":" in first or first == "localhost" or first.lower() != first


@lru_cache(maxsize=8192)
def parse_image(name: str) -> ImageRef:
    ref = name.strip()
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = None
    slash, colon = ref.rfind("/"), ref.rfind(":")
    if colon > slash:
        ref, tag = ref[:colon], ref[colon + 1 :]
    registry = None
    first, _, rest = ref.partition("/")
    if rest and (_is_domain(first) or first.startswith("$")):
        registry, ref = first, rest
    if registry is not None and registry.lower() in DOCKER_HUB_NAMES:
        registry = None
    if registry is None and ref.startswith("library/"):
        ref = ref[len("library/") :]
    return ImageRef(registry=registry, path=ref.lower(), tag=tag, digest=digest)


def pull_args(name: str) -> tuple[str, str | None]:
    """(repository, tag) for the engine's pull API: a digest reference is pulled whole (tag None),
    a name without tag pulls ``latest`` as ``docker pull`` does."""
    if "@" in name:
        return name, None
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, "latest"


# The reference grammar of github.com/docker/distribution/reference (regexp.go), which GitLab
# Runner vendors: a domain (with an optional port) only before a '/', lower-case path components
# joined by '.', '_', '__' or dashes, a tag of word characters, a digest of 32+ hex digits.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?")


@dataclass(frozen=True)
class Reference:
    """A name that matches the reference grammar, split as the runner splits it."""

    name: str  # with its registry and port: "registry.example.com:5000/group/svc"
    tag: str | None
    digest: str | None


@lru_cache(maxsize=4096)
def match_reference(text: str) -> Reference | None:
    m = _REFERENCE.fullmatch(text)
    if m is None:
        return None
    return Reference(m.group(1), m.group(2), m.group(3))


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str] | None:
    """doublestar's pattern as a regular expression; None for a pattern it refuses."""
    out: list[str] = []
    i, n = 0, len(pattern)
    depth = 0  # inside {a,b}
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if pattern.startswith("**", i):
            # "/**/" also matches a single "/": zero directories
            if out and out[-1] == "/" and pattern.startswith("**/", i):
                out[-1] = "(?:/|/.*/)"
                i += 3
                continue
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                return None
            body = pattern[i + 1 : end]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
            continue
        elif c == "{":
            depth += 1
            out.append("(?:")
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
        elif c == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    if depth:
        return None
    try:
        return re.compile("".join(out))
    except re.error:
        return None


def glob_match(pattern: str, name: str) -> bool:
    """``allowed_privileged_services`` and its kin: GitLab Runner matches each pattern with
    doublestar against the name as the job wrote it (executors/docker/docker.go:271-282 at v17.9.3):
    ``*`` stays inside one path component, ``**`` crosses them, ``{a,b}`` picks; no normalisation,
    so ``docker:*-dind`` does not allow ``docker.io/library/docker:29-dind``."""
    rx = _glob(pattern)
    return rx is not None and rx.fullmatch(name) is not None
