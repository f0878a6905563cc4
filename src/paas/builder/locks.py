"""One holder at a time across the build workers of this host (and `make up`): a lock file."""

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path, waiting: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Hold an exclusive lock on `path`; `waiting` is called once if somebody else holds it.
    The kernel releases it when the file closes, even if the process dies."""
    private_directory(path.parent)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting()
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def private_directory(path: Path) -> Path:
    """`path`, and whatever of its parents is missing, made 0700 whatever the process's umask: the
    platform's home is private (scripts/platform.sh runs with umask 077; `make up` and tests do not)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        directory.chmod(0o700)
    return path
