"""The docker executor's images: the stand-in map first, then the pull policies in order, as
GitLab Runner tries them (``never``, ``if-not-present``, ``always``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from buildrig.gitlab.imageref import pull_args
from buildrig.run.executor import JobError
from buildrig.run.log import JobLog

if TYPE_CHECKING:
    from docker import APIClient


class ImageResolver:
    """Resolves each image name once per run (the answer is kept for later jobs)."""

    def __init__(
        self,
        api: APIClient,
        overrides: Mapping[str, str],
        section_policy: tuple[str, ...],
        default_policy: tuple[str, ...],
    ) -> None:
        self.api = api
        self.overrides = overrides
        self.section_policy = section_policy  # [runners.docker] pull_policy
        self.default_pull_policy = default_policy
        self._images: dict[str, str] = {}

    def _inspect(self, name: str) -> dict[str, Any] | None:
        from docker.errors import ImageNotFound, NotFound

        try:
            # types-docker leaves inspect_image untyped.
            data: dict[str, Any] = self.api.inspect_image(name)  # type: ignore[no-untyped-call]
        except (ImageNotFound, NotFound):
            return None
        return data

    def resolve(self, name: str, policies: tuple[str, ...] | None, log: JobLog) -> str:
        """The local image to run for ``name``, honouring the pull policy, or :class:`JobError`."""
        from docker.errors import APIError

        if name in self._images:
            return self._images[name]
        pols = tuple(policies or self.section_policy or self.default_pull_policy)
        shown = ", ".join(pols)
        local = self.overrides.get(name)
        if local is not None:
            # A stand-in from the image map is local by definition: pulling it would only fail.
            if self._inspect(local) is None:
                raise JobError(
                    f'failed to pull image "{name}" with specified policies [{shown}]: '
                    f"the image map names {local}, which is not in the engine "
                    f"(run `buildrig images prepare --offline`)"
                )
            log.sys(f"Using local stand-in {local} for {name} (image map; pull skipped)")
            self._images[name] = local
            return local
        error = ""
        for pol in pols:
            if pol in ("never", "if-not-present"):
                data = self._inspect(name)
                if data is not None:
                    log.sys(f'Using locally found image version due to "{pol}" pull policy')
                    log.sys(f"Using docker image {data['Id'][:19]} for {name} ...")
                    self._images[name] = name
                    return name
                error = f"Error response from daemon: No such image: {name}"
                if pol == "never":
                    continue
            log.sys(f"Pulling docker image {name} ...")
            repo, tag = pull_args(name)
            try:
                self.api.pull(repo, tag=tag)
            except APIError as exc:
                error = str(exc.explanation or exc).strip().splitlines()[0]
                log.warn(f'WARNING: Failed to pull image with policy "{pol}": {error}')
                continue
            self._images[name] = name
            return name
        raise JobError(f'failed to pull image "{name}" with specified policies [{shown}]: {error}')
