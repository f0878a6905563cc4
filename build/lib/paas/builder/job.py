"""What a build is given and what it produces, whichever way it builds."""

import uuid
from dataclasses import dataclass, field


@dataclass
class Job:
    build_id: uuid.UUID
    app: str
    version: str  # the commit, or a source tarball's version
    source_url: str | None
    env: dict[str, str]  # the app's config vars: ENV_DIR of buildpack builds
    stack: str | None  # the stack the app's owner chose, if any
    buildpacks: list[str]  # the buildpacks to run (names or URLs), in order; empty = detect
    app_id: str = ""
    cache_generation: int = 1  # bumped when the app's build cache is purged
    tree: str | None = None  # the git tree built (None: a source tarball), once unpacked


@dataclass
class BuildResult:
    image: str  # registry reference by digest
    process_types: dict[str, str]
    stack: str | None = None
    buildpacks: list[str] = field(default_factory=list)
    slug_key: str | None = None
    slug_size: int | None = None
