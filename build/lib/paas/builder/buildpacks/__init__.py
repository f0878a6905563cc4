"""Buildpack builds, Heroku's buildpack API: bin/detect, bin/compile and bin/release run in a
container of the stack's build image, over the source, and what they leave in it is the slug."""

from dataclasses import dataclass
from pathlib import Path

from paas.builder.errors import BuildFailed

BUILTIN_DIR = Path(__file__).parent / "builtin"
BUILTIN = ("python", "nodejs", "static", "procfile")  # detection order: the first that matches builds


class BuildError(BuildFailed):
    """A buildpack build failed for a reason the pusher can act on: the message is for them."""


@dataclass(frozen=True)
class Buildpack:
    name: str  # a built-in's short name, or the URL it was fetched from
    path: Path  # a directory with bin/detect and bin/compile (bin/release optional)

    @property
    def builtin(self) -> bool:
        return self.name in BUILTIN and self.path.parent == BUILTIN_DIR


def builtin(name: str) -> Buildpack:
    return Buildpack(name, BUILTIN_DIR / name)
