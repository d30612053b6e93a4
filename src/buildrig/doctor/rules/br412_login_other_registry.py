"""BR412 — docker/buildah: the job logs in to one registry and pushes to another.

What it checks: a job that runs ``docker login`` (or ``buildah``/``podman login``) and pushes
(``docker push``, ``docker buildx build --push -t``, ``buildah push``, ``podman push``) to a registry
none of its logins names: ``docker login $CI_REGISTRY`` then ``docker push acme/app`` (Docker Hub),
or a login to ``registry.example.com`` and a push to ``registry.example.com:5050``. A login without
a server is Docker Hub. Variables the files define are expanded; ``$CI_REGISTRY`` (GitLab's own
registry, never Docker Hub) covers ``$CI_REGISTRY_IMAGE`` unless the files redefine either. Other
variables leave the host unknown, and the job is not flagged.

Why it fails: the client looks credentials up by the registry host of the reference it pushes, finds
none and pushes anonymously::

    denied: requested access to the resource is denied
    unauthorized: authentication required

Not flagged when the job brings credentials another way (writes a ``config.json``, sets
``DOCKER_CONFIG``/``DOCKER_AUTH_CONFIG``/``REGISTRY_AUTH_FILE``, uses a credential helper).

Fix: log in to the registry you push to (``docker login -u ... --password-stdin <host>``), one login
per registry; for Docker Hub, ``docker login`` without a server.

Docs: https://docs.docker.com/reference/cli/docker/login/
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildrig.doctor import kit as u
from buildrig.doctor.base import Category, Context, Issue, JobView, Severity, finding

ID = "BR412"
TITLE = "docker/buildah: login to one registry, push to another"
SEVERITY = Severity.ERROR
CATEGORY = Category.FAILURE
DOCS = "https://docs.docker.com/reference/cli/docker/login/"

_TOOL = re.compile(r"(?<![\w./$-])(?:sudo\s+)?(docker|buildah|podman)\s+(login|push|buildx\s+build)\b")
# options of `login` that take a value (the server is the first other word)
_LOGIN_VALUED = {"-u", "--username", "-p", "--password", "--authfile", "--cert-dir", "--tls-verify"}
# options of `push` that take a value (buildah/podman: IMAGE [DESTINATION] are the positionals)
_PUSH_VALUED = {
    "--digestfile", "--authfile", "--format", "-f", "--cert-dir", "--sign-by", "--compression-format",
    "--compression-level", "--retry", "--retry-delay", "--encryption-key", "--signature-policy",
}
_OTHER_AUTH = re.compile(
    r"config\.json|DOCKER_CONFIG|DOCKER_AUTH_CONFIG|REGISTRY_AUTH_FILE|credHelpers|credsStore|--authfile"
    r"|docker-credential-"
)
_HUB = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


def _host(server: str) -> str:
    h = re.sub(r"^https?://", "", server.strip()).split("/", 1)[0]
    h = re.sub(r"\$\{(\w+)\}", r"$\1", h)
    return "docker.io" if h in _HUB else h


def _push_host(ref: str) -> str:
    r = re.sub(r"\$\{(\w+)\}", r"$\1", ref.strip())
    if r.startswith("$CI_REGISTRY_IMAGE"):
        return "$CI_REGISTRY"
    if r.startswith("$"):
        return r.split("/", 1)[0].split(":", 1)[0]  # a variable host: unknown below
    return u.parse_image(r).registry or "docker.io"


def _covered(push: str, logins: set[str]) -> bool | None:
    """True/False when the logins do/don't name the push's registry; None when it cannot be told."""
    if push in logins:
        return True
    if push.startswith("$"):
        return None
    if any(h.startswith("$") and not (h == "$CI_REGISTRY" and push == "docker.io") for h in logins):
        return None  # a variable login may be this host (only GitLab's registry is never Docker Hub)
    return False


def _one_command(words: list[str]) -> list[str]:
    """The words up to the end of the command (``;``, ``&&``, ``||``, ``|``, ``&``, ``; fi``)."""
    out: list[str] = []
    for w in words:
        if w in ("|", "&&", ";", "||", "&"):
            break
        if w.endswith(";"):
            out.append(w[:-1])
            break
        out.append(w)
    return out


def _positional(args: list[str], valued: set[str]) -> list[str]:
    """The arguments that are not options nor option values."""
    out: list[str] = []
    skip = False
    for w in args:
        if skip:
            skip = False
        elif w in valued:
            skip = True
        elif not w.startswith("-"):
            out.append(w)
    return out


def _commands(jv: JobView) -> tuple[set[str], list[tuple[str, str, u.Line]]]:
    logins: set[str] = set()
    pushes: list[tuple[str, str, u.Line]] = []
    for sl in u.script_lines(jv.job):
        m = _TOOL.search(sl.text)
        if m is None:
            continue
        words = _one_command(u.split_words(u.expand(jv, sl.text[m.start() :])))
        words = words[1:] if words and words[0] == "sudo" else words
        verb = m.group(2).split()[0]
        args = words[2:] if verb != "buildx" else words[3:]
        if verb == "login":
            rest = _positional(args, _LOGIN_VALUED)
            logins.add(_host(rest[0]) if rest else "docker.io")
        elif verb == "push":
            if any(w == "--creds" or w.startswith("--creds=") for w in args):
                continue  # credentials on the command line
            positional = _positional(args, _PUSH_VALUED)[:2]
            ref = positional[-1] if positional else None
            if ref is not None and ref.startswith("docker://"):
                ref = ref[len("docker://") :]
            if ref is not None and not re.match(r"^[a-z-]+:(?!\d)", ref):  # oci:, dir:, ...: no registry
                pushes.append((ref, _push_host(ref), sl))
        elif "--push" in args or any(w.startswith("--output=type=registry") for w in args):
            pushes += [(ref, _push_host(ref), sl) for ref in u.option_values(args, "-t", "--tag")]
    return logins, pushes


def check(ctx: Context) -> Iterator[Issue]:
    for jv in ctx.jobs:
        lines = u.script_lines(jv.job)
        if not any(_TOOL.search(sl.text) for sl in lines):
            continue
        if any(_OTHER_AUTH.search(sl.text) for sl in lines) or any(
            n in jv.env for n in ("DOCKER_CONFIG", "DOCKER_AUTH_CONFIG", "REGISTRY_AUTH_FILE")
        ):
            continue
        logins, pushes = _commands(jv)
        if not logins:
            continue  # no login at all: anonymous pushes may be what the registry allows
        if any(u.explicit_env(jv, n) is not None for n in ("CI_REGISTRY", "CI_REGISTRY_IMAGE")):
            continue  # GitLab's names redefined: the symbolic comparison no longer holds
        for ref, host, sl in pushes:
            if _covered(host, logins) is not False:
                continue
            yield finding(
                f"{u.jname(jv.job)} pushes '{ref}' (registry {host}) at {sl.loc} but logs in only to "
                f"{', '.join(sorted(logins))}: the client finds no credentials for {host} and the push "
                'is refused ("denied: requested access to the resource is denied" / "unauthorized: '
                'authentication required").',
                f"Log in to {host} before pushing"
                + (" (docker login without a server is Docker Hub)." if host == "docker.io" else "."),
                loc=sl.loc,
                job=jv.job.name,
            )
            break
