"""What a build keeps for the app's next build: buildpacks' CACHE_DIR per stack, and the image
store of Dockerfile builds. A purge moves the app to a new generation; the old one is dropped."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from paas.builder.job import Job
from paas.builder.locks import file_lock, private_directory
from paas.lines import Emit
from paas.settings import Settings


@contextmanager
def app_cache(settings: Settings, job: Job, kind: str, emit: Emit) -> Iterator[Path]:
    """The app's `kind` cache, held for this build alone: two builds of one app (a push and a
    POST /builds) would otherwise share it at once, or one would drop it under the other."""
    waiting = lambda: emit("-----> Waiting for another build of this app (they share the build cache)")  # noqa: E731
    with file_lock(settings.build_cache_root / "apps" / f"{job.app_id}.lock", waiting):
        yield app_cache_dir(settings, job, kind)


def app_cache_dir(settings: Settings, job: Job, kind: str) -> Path:
    """The app's `kind` cache (a stack's name, or "dockerfile") of its current generation."""
    root = settings.build_cache_root / "apps" / job.app_id
    current = root / f"{kind}-{job.cache_generation}"
    if root.exists():
        for old in root.iterdir():
            if old.name.rsplit("-", 1)[-1] != str(job.cache_generation):
                shutil.rmtree(old, ignore_errors=True)
    private_directory(current)
    return current
